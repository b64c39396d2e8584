package dev.saeforge.data;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a language model's activation stream is, as a checkpoint records it: the refill the
 * trainer is in ({@code refill}, -1 before the first), how many of its {@code batches} it took
 * ({@code served}), and where the text stood once that refill was complete ({@code text} and
 * {@code offset}, a {@link Packer.State}; {@code windows} read by then). With the refill's rows
 * not yet served, saved beside it, that is enough to serve the same batches again.
 */
record StreamPosition(Packer.State text, long refill, int served, int batches, long windows) {
    static final StreamPosition START = new StreamPosition(new Packer.State(TextPosition.START, 0), -1, 0, 0, 0);

    boolean insideRefill() {
        return refill >= 0;
    }

    Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("text", text.document().toJson());
        out.put("offset", text.offset());
        out.put("refill", refill);
        out.put("served", served);
        out.put("batches", batches);
        out.put("windows", windows);
        return out;
    }

    static StreamPosition fromJson(Map<String, Object> json) {
        TextPosition document = TextPosition.fromJson(json.get("text"), "the activation stream's position");
        return new StreamPosition(new Packer.State(document, integer(json, "offset")), integer(json, "refill"),
                integer(json, "served"), integer(json, "batches"), json.get("windows") instanceof Number n ? n.longValue() : 0);
    }

    private static int integer(Map<String, Object> json, String key) {
        if (json.get(key) instanceof Number n) {
            return n.intValue();
        }
        throw new IllegalArgumentException("the activation stream's position lacks \"" + key + "\": " + json);
    }
}
