package dev.saeforge.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.api.RunIdentity;

import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The last file of a published checkpoint, {@code manifest.json} inside its directory: every other
 * file with its size and sha256, plus what the trainer recorded (step, tokens, metrics). A
 * checkpoint is complete exactly when this file exists and every file matches it. {@code writer} is
 * the run that wrote it: its name, and where known its namespace, uid and attempt, so that a run
 * resumes only from its own checkpoints and a superseded attempt is recognised.
 */
public record CheckpointManifest(RunIdentity writer, String name, Instant created, List<FileEntry> files, Map<String, Object> info) {
    public static final String FILE_NAME = "manifest.json";
    static final String FORMAT = "saeforge.dev/checkpoint-manifest/v1";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    /** One path segment of a file inside a checkpoint: no "..", no separators, nothing hidden. */
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*");

    /** One file of the checkpoint, {@code path} relative to its directory with '/' separators. */
    public record FileEntry(String path, long bytes, String sha256) {
    }

    /** {@code info} is kept as JSON gives it back (numbers as Integer, Long or Double), so a manifest equals its reading. */
    public CheckpointManifest {
        files = List.copyOf(files);
        info = Collections.unmodifiableMap(asJson(info));
    }

    private static LinkedHashMap<String, Object> asJson(Map<String, Object> info) {
        try {
            return JSON.readValue(JSON.writeValueAsBytes(info), new TypeReference<LinkedHashMap<String, Object>>() {
            });
        } catch (IOException e) {
            throw new IllegalArgumentException("checkpoint info cannot be written as JSON: " + e.getMessage(), e);
        }
    }

    /** The run's name, which the checkpoint is kept under. */
    public String run() {
        return writer.name();
    }

    public long bytes() {
        return files.stream().mapToLong(FileEntry::bytes).sum();
    }

    public byte[] toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        putWriter(root, writer);
        root.put("name", name);
        root.put("created", created.toString());
        ArrayNode list = root.putArray("files");
        for (FileEntry file : files) {
            list.addObject().put("path", file.path()).put("bytes", file.bytes()).put("sha256", file.sha256());
        }
        root.set("info", JSON.valueToTree(info));
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree failed to serialise", e);
        }
    }

    /** The run's name as "run", then its namespace, uid and attempt where known: what the manifest and a run's claim record. */
    static void putWriter(ObjectNode node, RunIdentity writer) {
        node.put("run", writer.name());
        if (writer.namespace() != null) {
            node.put("namespace", writer.namespace());
        }
        if (writer.uid() != null) {
            node.put("uid", writer.uid());
        }
        if (writer.attempt() != null) {
            node.put("attempt", writer.attempt());
        }
    }

    /** Reads what {@link #putWriter} wrote (manifests written before the fields existed have only "run"). */
    static RunIdentity writer(JsonNode node) {
        return new RunIdentity(text(node, "namespace"), node.path("run").asText(), text(node, "uid"),
                node.path("attempt").canConvertToInt() ? node.path("attempt").asInt() : null);
    }

    private static String text(JsonNode node, String field) {
        return node.path(field).isTextual() ? node.path(field).asText() : null;
    }

    /** Reads a manifest; {@code source} names it in errors. */
    public static CheckpointManifest parse(byte[] json, String source) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IOException(source + " is not a checkpoint manifest: not JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject()) {
            throw new IOException(source + " is not a checkpoint manifest: not a JSON object");
        }
        if (!FORMAT.equals(root.path("format").asText())) {
            throw new IOException(source + ": format is \"" + root.path("format").asText() + "\"; expected \"" + FORMAT + "\"");
        }
        Instant created;
        try {
            created = Instant.parse(root.path("created").asText());
        } catch (DateTimeParseException e) {
            throw new IOException(source + ": created is \"" + root.path("created").asText() + "\"; expected an ISO-8601 instant");
        }
        JsonNode fileNodes = root.path("files");
        if (!fileNodes.isArray()) {
            throw new IOException(source + ": files is missing or not a list");
        }
        List<FileEntry> files = new ArrayList<>();
        for (JsonNode node : fileNodes) {
            String path = node.path("path").asText();
            long bytes = node.path("bytes").asLong(-1);
            String sha256 = node.path("sha256").asText();
            if (!isFilePath(path) || path.equals(FILE_NAME) || bytes < 0 || !SHA256.matcher(sha256).matches()) {
                throw new IOException(source + ": file entry " + node + " needs a relative path, bytes >= 0 and a hex sha256");
            }
            files.add(new FileEntry(path, bytes, sha256));
        }
        Map<String, Object> info = root.path("info").isObject()
                ? JSON.convertValue(root.get("info"), new TypeReference<LinkedHashMap<String, Object>>() {
                })
                : Map.of();

        return new CheckpointManifest(writer(root), root.path("name").asText(), created, files, info);
    }

    /** Whether {@code path} is a safe relative file path inside a checkpoint. */
    static boolean isFilePath(String path) {
        for (String segment : path.split("/", -1)) {
            if (!SEGMENT.matcher(segment).matches()) {
                return false;
            }
        }
        return true;
    }
}
