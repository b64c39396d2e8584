package dev.saeforge.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a run reads, as each of its checkpoints records it ({@value #FILE_NAME}), so that a resumed
 * attempt reads exactly that and not whatever its locations hold by then: the revision the model
 * location resolved to (a hub commit; null for locations without revisions), the dataset's
 * likewise, the hub dataset's config and split (null for other locations), the dataset's files
 * in reading order with each one's size and version (an S3 ETag; hub files are fixed by the commit,
 * local files have none); and likewise the separate evaluation dataset's ({@code eval}, under
 * "eval"; its model fields null), null when evaluation holds out training text.
 */
public record InputFiles(String model, String modelRevision, String dataset, String datasetRevision, String datasetConfig,
                         String datasetSplit, List<File> files, InputFiles eval) {
    public static final String FILE_NAME = "inputs.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One dataset file: its name (a path, or an s3:// or hf:// address), size in bytes (-1 if unknown) and version (null if none). */
    public record File(String name, long bytes, String version) {
        /** Whether {@code now}, the same file listed again, still has this size and version. */
        boolean unchangedIn(File now) {
            return now.bytes == bytes && Objects.equals(now.version, version);
        }

        String describe() {
            return (bytes < 0 ? "size unknown" : bytes + " bytes") + (version == null ? "" : ", version " + version);
        }
    }

    public InputFiles {
        files = List.copyOf(files);
    }

    /** A dataset without config and split (any but a hub dataset's config), and no separate evaluation dataset. */
    public InputFiles(String model, String modelRevision, String dataset, String datasetRevision, List<File> files) {
        this(model, modelRevision, dataset, datasetRevision, null, null, files, null);
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(toTree());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree failed to serialise", e);
        }
    }

    private ObjectNode toTree() {
        ObjectNode root = JSON.createObjectNode();
        root.put("model", model);
        root.put("model_revision", modelRevision);
        root.put("dataset", dataset);
        root.put("dataset_revision", datasetRevision);
        root.put("dataset_config", datasetConfig);
        root.put("dataset_split", datasetSplit);
        ArrayNode list = root.putArray("files");
        for (File file : files) {
            list.addObject().put("name", file.name()).put("bytes", file.bytes()).put("version", file.version());
        }
        if (eval != null) {
            root.set("eval", eval.toTree());
        }
        return root;
    }

    /** Reads what {@link #toJson()} wrote; {@code source} names it in errors. */
    public static InputFiles parse(byte[] json, String source) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IOException(source + " is not JSON (" + e.getOriginalMessage() + ")");
        }
        return parse(root, source);
    }

    private static InputFiles parse(JsonNode root, String source) throws IOException {
        if (root == null || !root.path("dataset").isTextual() || !root.path("files").isArray()) {
            throw new IOException(source + " lacks \"dataset\" or \"files\"");
        }
        List<File> files = new ArrayList<>();
        for (JsonNode file : root.path("files")) {
            if (!file.path("name").isTextual() || !file.path("bytes").canConvertToLong()) {
                throw new IOException(source + ": file entry " + file + " needs a name and bytes");
            }
            files.add(new File(file.path("name").asText(), file.path("bytes").asLong(), text(file.path("version"))));
        }
        return new InputFiles(text(root.path("model")), text(root.path("model_revision")), root.path("dataset").asText(),
                text(root.path("dataset_revision")), text(root.path("dataset_config")), text(root.path("dataset_split")), files,
                root.has("eval") ? parse(root.path("eval"), source + " (eval)") : null);
    }

    private static String text(JsonNode node) {
        return node.isTextual() ? node.asText() : null;
    }
}
