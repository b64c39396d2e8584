package dev.saeforge.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
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
 * <p>
 * The trainer appends to the history as it logs ({@link Recorder}) and copies the whole file into
 * every checkpoint. The file grows with the run, the trainer's memory does not: a run of 1.2B
 * tokens in batches of 4096 logged every 10 steps writes about 29,000 training lines per SAE,
 * about 9 MB.
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

    /** {@code entry} as one line of {@value #FILE}, without the line break. */
    public static String line(Entry entry) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("sae", entry.sae());
        json.put("kind", entry.kind());
        json.put("step", entry.step());
        json.put("tokens", entry.tokens());
        json.put("metrics", entry.metrics());
        try {
            return JSON.writeValueAsString(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a metrics entry failed to serialise", e);
        }
    }

    /**
     * A run's history as it is logged, kept in a local file (not in memory) from which each
     * checkpoint takes a copy; closing deletes the file.
     */
    public static final class Recorder implements AutoCloseable {
        private final Path file;
        private BufferedWriter out;

        /** An empty history in a new file under the system's temporary directory, named after run {@code run}. */
        public Recorder(String run) throws IOException {
            this.file = Files.createTempFile("saeforge-" + run + "-metrics-", ".jsonl");
            this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        }

        /**
         * Continues the history that {@code resumed} (a resumed checkpoint's {@value #FILE}) holds,
         * dropping what was recorded here; a checkpoint without one (written before checkpoints kept
         * it) starts an empty history.
         */
        public void continueFrom(Path resumed) throws IOException {
            out.close();
            if (Files.exists(resumed)) {
                Files.copy(resumed, file, StandardCopyOption.REPLACE_EXISTING);
            } else {
                Files.write(file, new byte[0]);
            }
            out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        }

        public void append(Entry entry) throws IOException {
            out.write(line(entry));
            out.write('\n');
        }

        /** Writes the history so far as {@code dir}/{@value #FILE}. */
        public void copyInto(Path dir) throws IOException {
            out.flush();
            Files.copy(file, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING);
        }

        @Override
        public void close() throws IOException {
            try {
                out.close();
            } finally {
                Files.deleteIfExists(file);
            }
        }
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
