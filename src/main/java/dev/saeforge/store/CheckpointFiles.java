package dev.saeforge.store;

import dev.saeforge.store.CheckpointManifest.FileEntry;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** What both stores do with checkpoint files: names, local listing, sha256 (which the activation cache uses too), verified copies. */
public final class CheckpointFiles {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");

    private CheckpointFiles() {
    }

    /** A file's size and sha256 as read. */
    public record Digest(long bytes, String sha256) {
    }

    /** Something done with the content of one file. */
    interface StreamUse<T> {
        T apply(InputStream in) throws IOException;
    }

    /** A store's files of one checkpoint: opens one and uses it, empty when it does not exist. */
    interface CheckpointReader {
        <T> Optional<T> withFile(String path, StreamUse<T> use) throws IOException;
    }

    /** What is wrong with a checkpoint, reading every file its manifest names (see {@link CheckpointStore#verify}). */
    static List<String> verify(Optional<CheckpointManifest> manifest, CheckpointReader files) throws IOException {
        if (manifest.isEmpty()) {
            return List.of("it has no readable " + CheckpointManifest.FILE_NAME);
        }
        List<String> problems = new ArrayList<>();
        for (FileEntry entry : manifest.get().files()) {
            Optional<Digest> digest = files.withFile(entry.path(), CheckpointFiles::sha256);
            String problem = digest.isEmpty() ? entry.path() + " is missing" : mismatch(entry, digest.get());
            if (problem != null) {
                problems.add(problem);
            }
        }
        return problems;
    }

    /**
     * Copies the files under {@code directory} of a complete checkpoint into {@code into}, each
     * verified, and with the whole checkpoint ({@code directory} empty) its manifest last (see
     * {@link CheckpointStore#pull(String, String, String, Path)}).
     */
    static Path pull(Optional<CheckpointManifest> manifest, String uri, CheckpointReader files, String directory, Path into)
            throws IOException {
        if (manifest.isEmpty()) {
            throw new IOException("checkpoint " + uri + " is not complete: it has no " + CheckpointManifest.FILE_NAME);
        }
        String prefix = directory.isEmpty() ? "" : directory + "/";
        List<FileEntry> wanted = manifest.get().files().stream().filter(entry -> entry.path().startsWith(prefix)).toList();
        if (wanted.isEmpty() && !directory.isEmpty()) {
            throw new IllegalArgumentException("checkpoint " + uri + " has no files under " + prefix);
        }
        for (FileEntry entry : wanted) {
            Optional<Boolean> copied = files.withFile(entry.path(), in -> {
                copyVerified(in, entry, into.resolve(entry.path().substring(prefix.length())), uri);
                return true;
            });
            if (copied.isEmpty()) {
                throw new CorruptCheckpointException(uri + ": " + entry.path() + " is missing");
            }
        }
        if (directory.isEmpty()) {
            Files.write(into.resolve(CheckpointManifest.FILE_NAME), manifest.get().toJson());
        }
        return into;
    }

    /**
     * The files of a report directory to put beside checkpoint {@code uri} ({@link CheckpointStore#putReport}),
     * its page last; refuses a checkpoint that is not complete or whose own files are under the report's
     * directory (an SAE named after it).
     */
    static List<String> reportFiles(Optional<CheckpointManifest> manifest, boolean complete, String uri, Path reportDir)
            throws IOException {
        if (manifest.isEmpty() || !complete) {
            throw new IOException("checkpoint " + uri + " is not complete (no " + CheckpointManifest.FILE_NAME
                    + ", or files missing); a report is put beside a complete checkpoint only");
        }
        String prefix = CheckpointStore.REPORT_DIRECTORY + "/";
        if (manifest.get().files().stream().anyMatch(file -> file.path().startsWith(prefix))) {
            throw new IllegalArgumentException("checkpoint " + uri + " holds files of its own under " + prefix
                    + " (an SAE named " + CheckpointStore.REPORT_DIRECTORY + "), where its report would go");
        }
        List<String> files = new ArrayList<>(listLocal(reportDir));
        if (!files.remove(CheckpointStore.REPORT_PAGE)) {
            throw new IOException(reportDir + " holds no " + CheckpointStore.REPORT_PAGE + "; expected a report directory");
        }
        files.add(CheckpointStore.REPORT_PAGE);
        return files;
    }

    /** Whether {@code value} can name a run or checkpoint: one plain path segment. */
    static boolean isName(String value) {
        return value != null && NAME.matcher(value).matches();
    }

    /** Refuses a run or checkpoint name that is not one plain path segment. */
    static void requireName(String what, String value) {
        if (!isName(value)) {
            throw new IllegalArgumentException(what + " \"" + value + "\" is not a valid name; expected letters, digits, '.', '_'"
                    + " or '-', starting with a letter or digit (e.g. 409600 or final_1228800000)");
        }
    }

    /** The regular files under {@code dir} as sorted relative '/' paths, leaving out a manifest. */
    static List<String> listLocal(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + " is not a directory; expected a checkpoint directory to publish");
        }
        List<String> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path path : (Iterable<Path>) walk.sorted()::iterator) {
                if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                String relative = dir.relativize(path).toString().replace('\\', '/');
                if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) || !CheckpointManifest.isFilePath(relative)) {
                    throw new IOException(path + " cannot be published: a checkpoint holds only regular files named with"
                            + " letters, digits, '.', '_' or '-'");
                }
                if (!relative.equals(CheckpointManifest.FILE_NAME)) {
                    files.add(relative);
                }
            }
        }
        if (files.isEmpty()) {
            throw new IOException(dir + " holds no files; expected a checkpoint (cfg.json, sae_weights.safetensors, ...)");
        }
        return files;
    }

    static Digest sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return sha256(in);
        }
    }

    /** The size and sha256 of what {@code in} holds, read to its end. */
    public static Digest sha256(InputStream in) throws IOException {
        return copy(in, OutputStream.nullOutputStream());
    }

    /** Null when {@code actual} matches the manifest's entry, else what differs. */
    static String mismatch(FileEntry entry, Digest actual) {
        if (actual.bytes() != entry.bytes()) {
            return entry.path() + " is " + actual.bytes() + " bytes; the manifest says " + entry.bytes();
        }
        if (!actual.sha256().equals(entry.sha256())) {
            return entry.path() + " has sha256 " + actual.sha256() + "; the manifest says " + entry.sha256();
        }
        return null;
    }

    /**
     * Copies {@code in} to {@code target}, hashing on the way; the target appears (atomically)
     * only when the bytes match {@code entry}, else a {@link CorruptCheckpointException}.
     */
    static void copyVerified(InputStream in, FileEntry entry, Path target, String source) throws IOException {
        Files.createDirectories(target.getParent());
        Path partial = target.resolveSibling(target.getFileName() + ".partial");
        Digest digest;
        try (OutputStream out = Files.newOutputStream(partial)) {
            digest = copy(in, out);
        } catch (IOException e) {
            Files.deleteIfExists(partial);
            throw e;
        }
        String problem = mismatch(entry, digest);
        if (problem != null) {
            Files.deleteIfExists(partial);
            throw new CorruptCheckpointException(source + ": " + problem);
        }
        Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static Digest copy(InputStream in, OutputStream out) throws IOException {
        MessageDigest sha256 = newSha256();
        byte[] buffer = new byte[1 << 20];
        long bytes = 0;
        for (int n; (n = in.read(buffer)) > 0; ) {
            sha256.update(buffer, 0, n);
            out.write(buffer, 0, n);
            bytes += n;
        }
        return new Digest(bytes, HexFormat.of().formatHex(sha256.digest()));
    }

    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}
