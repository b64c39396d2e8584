package dev.saeforge.lm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model's shape as far as it is known before anything is downloaded: the config.json of a
 * checkpoint on this machine, tiny://qwen3's, or that of one of Qwen's published dense Qwen3
 * models. validate and submit check a run against it; a run of any other model is checked
 * against its config.json only when it starts.
 */
public final class ModelShapes {
    private static final Pattern HF = Pattern.compile("hf://([A-Za-z0-9][\\w.-]*/[\\w.-]+)(?:@[\\w./-]+)?");

    /**
     * Qwen's published dense Qwen3 models by hub id (reference/saelens-qwen3.md §6.2; 14B and 32B
     * from their config.json as published).
     */
    static final Map<String, Qwen3Config> PUBLISHED = published();

    /** A model location's config, or null with what keeps it unknown. */
    public record Shape(Qwen3Config config, String source) {
        public boolean known() {
            return config != null;
        }
    }

    private ModelShapes() {
    }

    /** The shape of the model at {@code location} (as spec.model.uri writes it), without downloading anything. */
    public static Shape of(String location) {
        if (location.startsWith("hf://")) {
            Matcher m = HF.matcher(location);
            Qwen3Config config = m.matches() ? PUBLISHED.get(m.group(1)) : null;
            return config != null
                    ? new Shape(config, m.group(1) + " as published")
                    : new Shape(null, location + " is not a model whose shape is known here; its config.json is read when the run starts");
        }
        if (location.startsWith("s3://")) {
            return new Shape(null, location + " is not read before the run; its config.json is read when the run starts");
        }
        if (location.startsWith(ModelSources.TINY)) {
            return new Shape(TinyQwen3.Options.defaults().config(), location);
        }
        Path dir = Path.of(location.startsWith("file://") ? location.substring("file://".length()) : location);
        if (!Files.isRegularFile(dir.resolve(Qwen3Config.FILE))) {
            return new Shape(null, dir + " has no " + Qwen3Config.FILE + " on this machine; it is read when the run starts");
        }
        try {
            return new Shape(Qwen3Config.read(dir), dir.resolve(Qwen3Config.FILE).toString());
        } catch (IOException | InvalidModelException e) {
            return new Shape(null, e.getMessage());
        }
    }

    private static Map<String, Qwen3Config> published() {
        Map<String, Qwen3Config> out = new LinkedHashMap<>();
        // name, hidden, intermediate, layers, query heads, tied embeddings; all have 8 key/value heads of 128.
        Object[][] models = {
                {"Qwen3-0.6B", 1024, 3072, 28, 16, true},
                {"Qwen3-1.7B", 2048, 6144, 28, 16, true},
                {"Qwen3-4B", 2560, 9728, 36, 32, true},
                {"Qwen3-8B", 4096, 12288, 36, 32, false},
                {"Qwen3-14B", 5120, 17408, 40, 40, false},
                {"Qwen3-32B", 5120, 25600, 64, 64, false}};
        for (Object[] m : models) {
            out.put("Qwen/" + m[0], new Qwen3Config(151936, (int) m[1], (int) m[2], (int) m[3], (int) m[4], 8, 128,
                    1_000_000, 1e-6, (boolean) m[5], 40960, "bfloat16"));
        }
        return Map.copyOf(out);
    }
}
