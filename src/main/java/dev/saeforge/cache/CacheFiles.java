package dev.saeforge.cache;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.saeforge.api.Mappers;
import dev.saeforge.store.Directories;
import dev.saeforge.store.S3Objects;
import dev.saeforge.store.S3Settings;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The files of a cache location (spec.activations.cache.uri): a local directory, or s3://BUCKET/PREFIX
 * (retried on transient faults as the checkpoint store retries them). Paths are relative to the
 * location, '/'-separated ({@code index-00000-of-00004/shard-000000.json}). Every put is atomic: a
 * reader sees the whole file or none (a local file is written beside its name, then moved; an S3
 * PUT is atomic), so concurrent writers of the same bytes are harmless.
 */
public abstract sealed class CacheFiles {
    /** The files that belong to a cache: what {@link #deleteCache} deletes and nothing else. */
    private static final Pattern CACHE_FILE = Pattern.compile(Pattern.quote(CacheLayout.INFO) + "|" + Pattern.quote(CacheLayout.MANIFEST)
            + "|(index-\\d{5,}-of-\\d{5,}|" + CacheLayout.HELD_OUT + ")/(shard-\\d{6,}\\.(safetensors|json)|" + Pattern.quote(CacheLayout.MANIFEST) + ")");
    private static final String TEMPORARY = ".part-";

    /** Opens {@code location}: s3://BUCKET/PREFIX (S3 settings from {@code env}), file://PATH or a local path. */
    public static CacheFiles open(String location, Map<String, String> env) {
        if (location == null || location.isBlank()) {
            throw new IllegalArgumentException("spec.activations.cache.uri is empty; expected s3://BUCKET/PREFIX, file://PATH or a local path");
        }
        if (location.startsWith("s3://")) {
            return new S3(location, new S3Objects(S3Settings.from(location, env)));
        }
        String path = location.startsWith("file://") ? location.substring("file://".length()) : location;
        if (path.isEmpty() || path.contains("://")) {
            throw new IllegalArgumentException("cache location \"" + location + "\" is not supported; expected s3://BUCKET/PREFIX,"
                    + " file://PATH or a local path");
        }
        return new Local(Path.of(path));
    }

    /** The location as given (for messages). */
    public abstract String uri();

    /** The file's bytes, if it exists. */
    public abstract Optional<byte[]> get(String path) throws IOException;

    /** The file's content as a stream (the caller closes it), if it exists. */
    public abstract Optional<InputStream> open(String path) throws IOException;

    /**
     * The file {@code path} as a local file a reader can open: a local cache's own file, or an
     * object downloaded to the same relative path under {@code scratch}; empty when it does not exist.
     */
    public abstract Optional<Path> fetch(String path, Path scratch) throws IOException;

    /** Writes {@code bytes} as {@code path}, atomically. */
    public abstract void put(String path, byte[] bytes) throws IOException;

    /** Copies the local {@code file} to {@code path}, atomically. */
    public abstract void putFile(String path, Path file) throws IOException;

    /** Every file under {@code directory} ("" for all), recursively, relative path to size in bytes, in path order. */
    public abstract Map<String, Long> list(String directory) throws IOException;

    /** Deletes {@code path}; nothing when it does not exist. */
    public abstract void delete(String path) throws IOException;

    public boolean exists(String path) throws IOException {
        try (InputStream in = open(path).orElse(null)) {
            return in != null;
        }
    }

    /** Whether {@code path} is one of the files a cache's layout names. */
    public static boolean isCacheFile(String path) {
        return CACHE_FILE.matcher(path).matches();
    }

    /**
     * Deletes the cache's files (those its layout names; nothing else at the location), the top
     * manifest first and cache.json last, so that an interrupted delete never leaves a cache that
     * looks complete. Returns how many files were deleted.
     */
    public int deleteCache() throws IOException {
        List<String> files = new ArrayList<>(list("").keySet().stream().filter(CacheFiles::isCacheFile).toList());
        files.sort(Comparator.comparing((String f) -> !f.equals(CacheLayout.MANIFEST)).thenComparing(f -> f.equals(CacheLayout.INFO)));
        for (String file : files) {
            delete(file);
        }
        pruneEmptyDirectories();
        return files.size();
    }

    void pruneEmptyDirectories() throws IOException {
    }

    /** The JSON record at {@code path} as {@code type}, if the file exists; a malformed one names the file. */
    public <T> Optional<T> readJson(String path, Class<T> type) throws IOException {
        Optional<byte[]> bytes = get(path);
        if (bytes.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Mappers.json().readValue(bytes.get(), type));
        } catch (IOException e) {
            throw new IOException(uri() + "/" + path + " is not a valid " + type.getSimpleName() + " record: " + e.getMessage(), e);
        }
    }

    /** Writes {@code value} as JSON at {@code path}, atomically. */
    public void writeJson(String path, Object value) throws IOException {
        put(path, json(value));
    }

    /** The JSON bytes of a layout record: the same bytes for equal records. */
    public static byte[] json(Object value) {
        try {
            return Mappers.json().writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a cache record failed to serialise", e);
        }
    }

    /** A local directory. */
    static final class Local extends CacheFiles {
        private final Path root;

        Local(Path root) {
            this.root = root;
        }

        @Override
        public String uri() {
            return root.toString();
        }

        private Path resolve(String path) {
            return path.isEmpty() ? root : root.resolve(path);
        }

        @Override
        public Optional<byte[]> get(String path) throws IOException {
            try {
                return Optional.of(Files.readAllBytes(resolve(path)));
            } catch (NoSuchFileException e) {
                return Optional.empty();
            }
        }

        @Override
        public Optional<InputStream> open(String path) throws IOException {
            try {
                return Optional.of(Files.newInputStream(resolve(path)));
            } catch (NoSuchFileException e) {
                return Optional.empty();
            }
        }

        @Override
        public Optional<Path> fetch(String path, Path scratch) {
            Path file = resolve(path);
            return Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
        }

        @Override
        public void put(String path, byte[] bytes) throws IOException {
            Path target = resolve(path);
            Path part = temporary(target);
            Files.write(part, bytes);
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }

        @Override
        public void putFile(String path, Path file) throws IOException {
            Path target = resolve(path);
            Path part = temporary(target);
            Files.copy(file, part, StandardCopyOption.REPLACE_EXISTING);
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }

        /** A name beside {@code target} no other writer uses, in a directory that exists. */
        private static Path temporary(Path target) throws IOException {
            Files.createDirectories(target.getParent());
            return target.resolveSibling(target.getFileName() + TEMPORARY + UUID.randomUUID());
        }

        @Override
        public Map<String, Long> list(String directory) throws IOException {
            Path dir = resolve(directory);
            Map<String, Long> out = new TreeMap<>();
            if (!Files.isDirectory(dir)) {
                return out;
            }
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path file : paths.filter(Files::isRegularFile).toList()) {
                    String relative = root.relativize(file).toString().replace(java.io.File.separatorChar, '/');
                    if (!file.getFileName().toString().contains(TEMPORARY)) {
                        out.put(relative, Files.size(file));
                    }
                }
            }
            return out;
        }

        @Override
        public void delete(String path) throws IOException {
            Files.deleteIfExists(resolve(path));
        }

        @Override
        void pruneEmptyDirectories() throws IOException {
            if (!Files.isDirectory(root)) {
                return;
            }
            try (Stream<Path> dirs = Files.list(root)) {
                for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                    String name = dir.getFileName().toString();
                    boolean cacheDirectory = name.equals(CacheLayout.HELD_OUT) || name.matches("index-\\d{5,}-of-\\d{5,}");
                    if (cacheDirectory && onlyTemporaries(dir)) {
                        Directories.deleteTree(dir);
                    }
                }
            }
        }

        /** Whether {@code dir} holds nothing but what interrupted writes left (temporary files). */
        private static boolean onlyTemporaries(Path dir) throws IOException {
            try (Stream<Path> files = Files.walk(dir)) {
                return files.filter(f -> !f.equals(dir)).allMatch(f -> Files.isRegularFile(f) && f.getFileName().toString().contains(TEMPORARY));
            }
        }
    }

    /** s3://BUCKET/PREFIX. */
    static final class S3 extends CacheFiles {
        private final String location;
        private final S3Objects objects;

        S3(String location, S3Objects objects) {
            this.location = location.replaceAll("/+$", "");
            this.objects = objects;
        }

        @Override
        public String uri() {
            return location;
        }

        private String key(String path) {
            return objects.prefix() + path;
        }

        @Override
        public Optional<byte[]> get(String path) throws IOException {
            return Optional.ofNullable(objects.get(key(path)));
        }

        @Override
        public Optional<InputStream> open(String path) throws IOException {
            return Optional.ofNullable(objects.open(key(path)));
        }

        @Override
        public Optional<Path> fetch(String path, Path scratch) throws IOException {
            Optional<InputStream> in = open(path);
            if (in.isEmpty()) {
                return Optional.empty();
            }
            Path target = scratch.resolve(path);
            Files.createDirectories(target.getParent());
            Path part = target.resolveSibling(target.getFileName() + TEMPORARY + UUID.randomUUID());
            try (InputStream stream = in.get()) {
                Files.copy(stream, part, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return Optional.of(target);
        }

        @Override
        public void put(String path, byte[] bytes) throws IOException {
            objects.put(key(path), bytes);
        }

        @Override
        public void putFile(String path, Path file) throws IOException {
            objects.upload(key(path), file);
        }

        @Override
        public Map<String, Long> list(String directory) throws IOException {
            String prefix = objects.prefix() + (directory.isEmpty() || directory.endsWith("/") ? directory : directory + "/");
            Map<String, Long> out = new TreeMap<>();
            objects.list(prefix).forEach((key, listed) -> out.put(key.substring(objects.prefix().length()), listed.bytes()));
            return out;
        }

        @Override
        public void delete(String path) throws IOException {
            objects.delete(key(path));
        }
    }
}
