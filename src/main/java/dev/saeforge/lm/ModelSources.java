package dev.saeforge.lm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.store.CachePaths;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.S3Objects;
import dev.saeforge.store.S3Settings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a model location into a local checkpoint directory. A local path (or file://PATH) is used
 * as it is; hf://ORG/NAME[@REVISION] and s3://BUCKET/PREFIX are copied into the cache
 * (CACHE/models/hf/ORG/NAME/COMMIT, CACHE/models/s3/BUCKET/PREFIX), fetching only what a Qwen3
 * checkpoint needs: config.json, tokenizer.json, tokenizer_config.json, and model.safetensors or
 * the index and its shards. tiny://qwen3 is {@link TinyQwen3}'s small random model, written to
 * CACHE/models/tiny/qwen3 on first use: the same bytes every time, so examples need no download.
 */
public final class ModelSources {
    private static final Pattern HF = Pattern.compile("hf://([A-Za-z0-9][\\w.-]*/[\\w.-]+)(?:@([\\w./-]+))?");
    private static final Pattern S3 = Pattern.compile("s3://([a-z0-9][a-z0-9.-]+[a-z0-9])(?:/(.*?))?/*");
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String TINY = "tiny://";

    private final Path cacheDir;
    private final HfHub hub;
    private final Map<String, String> env;

    /** {@code env}: the environment S3 endpoint and credentials are read from ({@link S3Settings}). */
    public ModelSources(Path cacheDir, HfHub hub, Map<String, String> env) {
        this.cacheDir = cacheDir;
        this.hub = hub;
        this.env = env;
    }

    /** Settings from the environment: {@link #defaultCacheDir()}, HF_ENDPOINT/HF_TOKEN, AWS_* for S3. */
    public static ModelSources fromEnvironment() {
        return new ModelSources(defaultCacheDir(), HfHub.fromEnvironment(), System.getenv());
    }

    public Path cacheDir() {
        return cacheDir;
    }

    public HfHub hub() {
        return hub;
    }

    public Map<String, String> env() {
        return env;
    }

    /** SAEFORGE_CACHE, else $XDG_CACHE_HOME/saeforge, else ~/.cache/saeforge. */
    public static Path defaultCacheDir() {
        String explicit = System.getenv("SAEFORGE_CACHE");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("saeforge");
    }

    /** A model's local directory, and the revision its location resolved to (a hub commit; null for locations without revisions). */
    public record Resolved(Path dir, String revision) {
    }

    /** The local directory holding the checkpoint at {@code location}, downloading what is missing. */
    public Path resolve(String location) throws IOException {
        return resolve(location, null).dir();
    }

    /**
     * As {@link #resolve(String)}, at hub revision {@code revision} when not null (the commit a
     * checkpoint recorded) instead of the location's own, which may have moved since.
     */
    public Resolved resolve(String location, String revision) throws IOException {
        if (location.startsWith("hf://")) {
            Matcher m = HF.matcher(location);
            if (!m.matches()) {
                throw new IllegalArgumentException("model location \"" + location + "\" is not of the form hf://ORG/NAME[@REVISION]");
            }
            String wanted = revision != null ? revision : m.group(2) == null ? "main" : m.group(2);
            HfHub.Snapshot snapshot = hub.snapshot(HfHub.RepoType.MODEL, m.group(1), wanted);
            Path dir = CachePaths.inside(cacheDir.resolve("models/hf"), m.group(1) + "/" + snapshot.commit(),
                    "hub model repository and commit");
            return new Resolved(copy(new HubModelFiles(hub, snapshot), dir), snapshot.commit());
        }
        if (location.startsWith("s3://")) {
            Matcher m = S3.matcher(location);
            if (!m.matches()) {
                throw new IllegalArgumentException("model location \"" + location + "\" is not of the form s3://BUCKET/PREFIX");
            }
            String prefix = m.group(2) == null ? "" : m.group(2);
            Path bucket = cacheDir.resolve("models/s3").resolve(m.group(1));
            Path dir = prefix.isEmpty() ? bucket : CachePaths.inside(bucket, prefix, "model location " + location + ": prefix");
            return new Resolved(copy(new S3ModelFiles(new S3Objects(S3Settings.from(location, env)), prefix), dir), null);
        }
        if (location.startsWith(TINY)) {
            if (!location.equals(TINY + "qwen3")) {
                throw new IllegalArgumentException("model location \"" + location + "\" is not a tiny model; the one there is tiny://qwen3");
            }
            return new Resolved(tiny(cacheDir.resolve("models/tiny/qwen3")), null);
        }
        Path dir = Path.of(location.startsWith("file://") ? location.substring("file://".length()) : location);
        if (!Files.isDirectory(dir)) {
            throw new InvalidModelException("model directory " + dir + " does not exist; expected a Hugging Face checkpoint directory, "
                    + "hf://ORG/NAME[@REVISION] or s3://BUCKET/PREFIX");
        }
        return new Resolved(dir, null);
    }

    /** hf://ORG/NAME[@REVISION][/SUBFOLDER]: a directory inside a hub repository (the revision a branch, tag or commit without '/'). */
    private static final Pattern HF_FOLDER = Pattern.compile("hf://([A-Za-z0-9][\\w.-]*/[\\w.-]+)(?:@([\\w.-]+))?(?:/(.*?))?/*");

    /**
     * The local directory holding the files {@code names} of the directory at {@code location}: a
     * local path or file://PATH as it is; hf://ORG/NAME[@REVISION][/SUBFOLDER] (a model repository)
     * and s3://BUCKET/PREFIX copied into CACHE/{@code kind}/hf/ORG/NAME/COMMIT[/SUBFOLDER] and
     * CACHE/{@code kind}/s3/BUCKET/PREFIX. {@code what} names the directory in messages, e.g. "SAE checkpoint".
     */
    public Path resolveFiles(String location, String kind, String what, List<String> names) throws IOException {
        RemoteFiles remote;
        String folder = "";
        Path dir;
        if (location.startsWith("hf://")) {
            Matcher m = HF_FOLDER.matcher(location);
            if (!m.matches()) {
                throw new IllegalArgumentException(what + " location \"" + location + "\" is not of the form hf://ORG/NAME[@REVISION][/SUBFOLDER]");
            }
            HfHub.Snapshot snapshot = hub.snapshot(HfHub.RepoType.MODEL, m.group(1), m.group(2) == null ? "main" : m.group(2));
            folder = m.group(3) == null || m.group(3).isEmpty() ? "" : m.group(3) + "/";
            dir = CachePaths.inside(cacheDir.resolve(kind + "/hf"), m.group(1) + "/" + snapshot.commit()
                    + (folder.isEmpty() ? "" : "/" + m.group(3)), what + " location " + location);
            remote = new HubModelFiles(hub, snapshot);
        } else if (location.startsWith("s3://")) {
            Matcher m = S3.matcher(location);
            if (!m.matches()) {
                throw new IllegalArgumentException(what + " location \"" + location + "\" is not of the form s3://BUCKET/PREFIX");
            }
            String prefix = m.group(2) == null ? "" : m.group(2);
            Path bucket = cacheDir.resolve(kind + "/s3").resolve(m.group(1));
            dir = prefix.isEmpty() ? bucket : CachePaths.inside(bucket, prefix, what + " location " + location + ": prefix");
            remote = new S3ModelFiles(new S3Objects(S3Settings.from(location, env)), prefix);
        } else {
            Path local = Path.of(location.startsWith("file://") ? location.substring("file://".length()) : location);
            for (String name : names) {
                if (!Files.isRegularFile(local.resolve(name))) {
                    throw new InvalidModelException(what + " directory " + local + " has no " + name);
                }
            }
            return local;
        }
        Set<String> held = remote.names();
        for (String name : names) {
            if (!held.contains(folder + name)) {
                throw new InvalidModelException(location + " has no " + name);
            }
            remote.fetch(folder + name, dir.resolve(name));
        }
        return dir;
    }

    /**
     * The tiny random Qwen3 ({@link TinyQwen3.Options#defaults()}) in {@code dir}, written on first
     * use: into a fresh sibling directory, then renamed, so a half-written model is never used.
     */
    static Path tiny(Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve(Qwen3Weights.SINGLE_FILE))) {
            return dir;
        }
        Files.createDirectories(dir.getParent());
        Path staging = Files.createTempDirectory(dir.getParent(), dir.getFileName() + ".writing-");
        TinyQwen3.write(staging, TinyQwen3.Options.defaults());
        try {
            Files.move(staging, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
            // Another process wrote it first; the content is the same.
            try (var files = Files.list(staging)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(staging);
        }
        return dir;
    }

    /** Copies the files of a Qwen3 checkpoint from {@code remote} into {@code dir}. */
    static Path copy(RemoteFiles remote, Path dir) throws IOException {
        Set<String> names = remote.names();
        if (!names.contains(Qwen3Config.FILE)) {
            throw new InvalidModelException(remote.location() + " has no " + Qwen3Config.FILE + "; it holds " + new TreeSet<>(names));
        }
        remote.fetch(Qwen3Config.FILE, dir.resolve(Qwen3Config.FILE));
        for (String optional : new String[]{Tokenizer.FILE, SpecialTokens.TOKENIZER_CONFIG}) {
            if (names.contains(optional)) {
                remote.fetch(optional, dir.resolve(optional));
            }
        }
        if (names.contains(Qwen3Weights.INDEX_FILE)) {
            Path index = dir.resolve(Qwen3Weights.INDEX_FILE);
            remote.fetch(Qwen3Weights.INDEX_FILE, index);
            for (String shard : shardsOf(index)) {
                if (!names.contains(shard)) {
                    throw new InvalidModelException(remote.location() + ": " + Qwen3Weights.INDEX_FILE + " names shard " + shard
                            + ", which is missing there");
                }
                remote.fetch(shard, CachePaths.inside(dir, shard, remote.location() + ": " + Qwen3Weights.INDEX_FILE + " shard"));
            }
        } else if (names.contains(Qwen3Weights.SINGLE_FILE)) {
            remote.fetch(Qwen3Weights.SINGLE_FILE, dir.resolve(Qwen3Weights.SINGLE_FILE));
        } else {
            throw new InvalidModelException(remote.location() + " has neither " + Qwen3Weights.SINGLE_FILE + " nor "
                    + Qwen3Weights.INDEX_FILE + " (only safetensors checkpoints are read); it holds " + new TreeSet<>(names));
        }
        return dir;
    }

    private static Set<String> shardsOf(Path index) throws IOException {
        Set<String> shards = new TreeSet<>();
        try {
            JSON.readTree(Files.readString(index)).path("weight_map").forEach(file -> shards.add(file.asText()));
        } catch (JsonProcessingException e) {
            throw new InvalidModelException(index + " is not JSON: " + e.getOriginalMessage());
        }
        for (String shard : shards) {
            if (shard.contains("..") || shard.startsWith("/")) {
                throw new InvalidModelException(index + " names shard \"" + shard + "\" outside the model directory");
            }
        }
        return shards;
    }
}
