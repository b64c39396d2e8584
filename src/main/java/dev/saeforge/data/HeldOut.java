package dev.saeforge.data;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The documents held out for evaluation: the first documents of the data, in the first pass's
 * file order, packed into windows exactly as training packs its own, until they fill the
 * evaluation's windows. Training skips them on every pass, so evaluation always measures text the
 * SAE never trained on; finding them reads only the start of the first file.
 */
final class HeldOut implements TextStream.RowFilter {
    private final List<long[]> windows;
    /** File name to the number of its first rows held out. */
    private final Map<String, Long> rows;

    private HeldOut(List<long[]> windows, Map<String, Long> rows) {
        this.windows = windows;
        this.rows = rows;
    }

    /** Packs {@code count} windows from the start of {@code text} (a stream of all the data, no filter). */
    static HeldOut take(TextStream text, TokenDocuments tokens, Packer.Rules rules, int count) {
        text.seek(TextPosition.START);
        Packer packer = new Packer(rules, tokens);
        List<long[]> windows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            windows.add(packer.next());
        }
        Packer.State end = packer.state();
        TextPosition boundary = end.document();
        if (end.offset() > 0) {
            // The evaluation used part of this document: hold all of it out.
            text.seek(boundary);
            text.next();
            boundary = text.position();
        }
        if (boundary.epoch() > 0) {
            throw new IllegalArgumentException("the dataset is too small: the " + count + " windows held out for evaluation "
                    + "(spec.training.evalBatches * spec.dataset.storeBatchSizePrompts) take all of its text, leaving none to train on");
        }
        List<String> order = text.order(0);
        Map<String, Long> rows = new HashMap<>();
        for (int i = 0; i < boundary.shard(); i++) {
            rows.put(order.get(i), Long.MAX_VALUE);
        }
        if (boundary.row() > 0) {
            rows.put(order.get(boundary.shard()), boundary.row());
        }
        return new HeldOut(List.copyOf(windows), Map.copyOf(rows));
    }

    /** The evaluation windows, in order. */
    List<long[]> windows() {
        return windows;
    }

    /** How many rows of the data are held out, for messages. */
    String describe() {
        return windows.size() + " windows from the first " + rows.values().stream().mapToLong(r -> r).filter(r -> r != Long.MAX_VALUE).sum()
                + " rows" + (rows.containsValue(Long.MAX_VALUE) ? " and " + rows.values().stream().filter(r -> r == Long.MAX_VALUE).count()
                + " whole files" : "");
    }

    @Override
    public boolean accepts(String shard, long row) {
        Long held = rows.get(shard);
        return held == null || row >= held;
    }
}
