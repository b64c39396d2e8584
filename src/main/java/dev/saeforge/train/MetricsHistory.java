package dev.saeforge.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every metric a run logged up to a checkpoint, kept in the checkpoint as {@value #FILE} (one JSON
 * object per line), so curves survive resumes and a report can draw them:
 * <pre>
 * {"sae": "mlp28", "kind": "train", "step": 10, "tokens": 40960, "metrics": {"overall_loss": 1.2, "l0": 41.0, ...}}
 * {"sae": "mlp28", "kind": "eval",  "step": 1000, "tokens": 4096000, "metrics": {"explained_variance": 0.8, "ce_loss_score": 0.93, ...}}
 * </pre>
 * Training metrics go by the names cfg.json's manifest records them by (the architecture's own
 * loss and coefficient names included); evaluation metrics by SAELens' eval names.
 */
public final class MetricsHistory {
    public static final String FILE = "metrics.jsonl";
    public static final String TRAIN = "train";
    public static final String EVAL = "eval";
    private static final ObjectMapper JSON = new ObjectMapper();

    private MetricsHistory() {
    }

    /** One logged line: SAE {@code sae}'s metrics of {@code kind} ({@link #TRAIN} or {@link #EVAL}) after {@code step} steps and {@code tokens} tokens. */
    public record Entry(String sae, String kind, long step, long tokens, Map<String, Double> metrics) {
    }

    /** The entries of a {@value #FILE} file, in the order they were logged. */
    public static List<Entry> read(Path file) throws IOException {
        List<Entry> entries = new ArrayList<>();
        try (BufferedReader lines = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = lines.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                entries.add(parse(line, file + " line " + number));
            }
        }
        return entries;
    }

    private static Entry parse(String line, String where) throws IOException {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IOException(where + " is not JSON: " + e.getOriginalMessage());
        }
        if (!node.path("sae").isTextual() || !node.path("kind").isTextual() || !node.path("tokens").canConvertToLong()
                || !node.path("metrics").isObject()) {
            throw new IOException(where + ": expected {\"sae\": NAME, \"kind\": \"train\"|\"eval\", \"step\": N, \"tokens\": N, \"metrics\": {...}}");
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        node.get("metrics").fields().forEachRemaining(field -> {
            if (field.getValue().isNumber()) {
                metrics.put(field.getKey(), field.getValue().doubleValue());
            }
        });
        return new Entry(node.get("sae").asText(), node.get("kind").asText(), node.path("step").asLong(), node.get("tokens").asLong(), metrics);
    }
}
