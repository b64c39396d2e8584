package dev.saeforge.store;

import dev.saeforge.api.RunIdentity;
import dev.saeforge.store.CheckpointFiles.Digest;
import dev.saeforge.store.CheckpointManifest.FileEntry;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Checkpoints in a local or mounted directory, {@code <root>/<run>/<name>/}. Publishing is atomic:
 * the files and then the manifest are written into a hidden staging directory next to the target,
 * fsynced, and renamed into place, so a checkpoint directory either does not exist or is complete.
 */
final class FileCheckpointStore implements CheckpointStore {
    private static final Logger LOG = Logger.getLogger(FileCheckpointStore.class);
    /** Hidden siblings of checkpoints: a publish in progress (or crashed) and a delete in progress. */
    private static final String STAGING = ".staging-";
    private static final String DELETING = ".deleting-";

    private final Path root;

    FileCheckpointStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    @Override
    public String uri() {
        return uri(root);
    }

    private Path dir(String run, String name) {
        CheckpointFiles.requireName("run", run);
        CheckpointFiles.requireName("checkpoint", name);
        return root.resolve(run).resolve(name);
    }

    private String uri(Path dir) {
        return dir.toUri().toString().replaceAll("/$", "");
    }

    @Override
    public CheckpointRef publish(RunIdentity writer, String name, Path localDir, Map<String, Object> info) throws IOException {
        String run = writer.name();
        Path target = dir(run, name);
        List<String> files = CheckpointFiles.listLocal(localDir);
        Path runDir = target.getParent();
        Files.createDirectories(runDir);
        if (Files.exists(target)) {
            Optional<CheckpointRef> same = sameAsPublished(run, name, localDir, files);
            if (same.isPresent()) {
                return same.get();
            }
        }
        removeLeftovers(runDir, STAGING + name + "-"); // a publish of this name cut short, e.g. by this process before a restart
        Path staging = runDir.resolve(STAGING + name + "-" + UUID.randomUUID());
        boolean moved = stage(localDir, files, staging);
        try {
            List<FileEntry> entries = new ArrayList<>();
            for (String file : files) {
                entries.add(hashAndSync(staging.resolve(file), file));
            }
            CheckpointManifest manifest = new CheckpointManifest(writer, name, Instant.now(), entries, info);
            Path manifestFile = staging.resolve(CheckpointManifest.FILE_NAME);
            Files.write(manifestFile, manifest.toJson());
            sync(manifestFile);
            syncTree(staging);
            checkClaim(runDir, writer, AttemptClaim::checkPublish);
            if (Files.exists(target)) {
                // Not complete (a directory some other tool wrote, e.g. SAELens itself): replace it.
                discard(target);
            }
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            sync(runDir);
            return ref(run, name, target, manifest);
        } catch (IOException | RuntimeException e) {
            if (moved) {
                Files.move(staging, localDir, StandardCopyOption.ATOMIC_MOVE); // give the caller its files back
            } else {
                Directories.deleteTree(staging);
            }
            throw e;
        }
    }

    @Override
    public void claim(RunIdentity writer) throws IOException {
        CheckpointFiles.requireName("run", writer.name());
        Path runDir = root.resolve(writer.name());
        Files.createDirectories(runDir);
        checkClaim(runDir, writer, AttemptClaim::checkStart); // before touching anything: a superseded writer leaves the run alone
        removeLeftovers(runDir, STAGING); // every name's: no other publish of this run is under way when its trainer starts
        if (writer.attempt() == null) {
            return;
        }
        Path claimed = runDir.resolve(AttemptClaim.FILE_NAME);
        Path next = runDir.resolve(STAGING + AttemptClaim.FILE_NAME + "-" + UUID.randomUUID());
        Files.write(next, AttemptClaim.toJson(writer));
        sync(next);
        Files.move(next, claimed, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        sync(runDir);
    }

    /** Applies {@code check} to the run's current claim, for a writer with an attempt. */
    private void checkClaim(Path runDir, RunIdentity writer, AttemptClaim.Check check) throws IOException {
        if (writer.attempt() == null) {
            return;
        }
        Path file = runDir.resolve(AttemptClaim.FILE_NAME);
        Optional<RunIdentity> current;
        try {
            current = Optional.of(AttemptClaim.parse(Files.readAllBytes(file), file.toString()));
        } catch (NoSuchFileException e) {
            current = Optional.empty();
        }
        check.apply(current, writer, uri(runDir));
    }

    /** The published checkpoint when it is complete with exactly these files; refuses different content. */
    private Optional<CheckpointRef> sameAsPublished(String run, String name, Path localDir, List<String> files) throws IOException {
        Optional<CheckpointManifest> published = manifest(run, name);
        if (published.isEmpty()) {
            return Optional.empty();
        }
        List<String> problems = verify(run, name);
        if (!problems.isEmpty()) {
            LOG.warnf("Replacing checkpoint %s, which fails verification (%s)", uri(dir(run, name)), String.join("; ", problems));
            return Optional.empty();
        }
        List<FileEntry> local = new ArrayList<>();
        for (String file : files) {
            Digest digest = CheckpointFiles.sha256(localDir.resolve(file));
            local.add(new FileEntry(file, digest.bytes(), digest.sha256()));
        }
        if (!local.equals(published.get().files())) {
            throw new IOException("checkpoint " + uri(dir(run, name)) + " is already published with different files;"
                    + " a checkpoint is never overwritten (delete it first)");
        }
        return Optional.of(ref(run, name, dir(run, name), published.get()));
    }

    /** Moves the whole directory when it is on this file system (true), else copies the files (false). */
    private static boolean stage(Path localDir, List<String> files, Path staging) throws IOException {
        try {
            Files.move(localDir, staging, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (AtomicMoveNotSupportedException e) {
            // Another file system: copy below.
        }
        try {
            Files.createDirectory(staging);
            for (String file : files) {
                Path to = staging.resolve(file);
                Files.createDirectories(to.getParent());
                Files.copy(localDir.resolve(file), to);
            }
            return false;
        } catch (IOException e) {
            Directories.deleteTree(staging);
            throw e;
        }
    }

    /** Reads the staged file once for its sha256 and forces it to disk before it can be renamed into view. */
    private static FileEntry hashAndSync(Path file, String relative) throws IOException {
        MessageDigest sha256 = CheckpointFiles.newSha256();
        long bytes = 0;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
            while (channel.read(buffer.clear()) > 0) {
                buffer.flip();
                bytes += buffer.remaining();
                sha256.update(buffer);
            }
            channel.force(true);
        }
        return new FileEntry(relative, bytes, HexFormat.of().formatHex(sha256.digest()));
    }

    private static void sync(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** fsyncs every directory of the staged tree, so the entries of the files are durable too. */
    private static void syncTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path path : (Iterable<Path>) walk.filter(Files::isDirectory)::iterator) {
                sync(path);
            }
        }
    }

    @Override
    public List<CheckpointRef> list(String run) throws IOException {
        CheckpointFiles.requireName("run", run);
        Path runDir = root.resolve(run);
        if (!Files.isDirectory(runDir)) {
            return List.of();
        }
        List<CheckpointRef> refs = new ArrayList<>();
        // Staging and deleting directories start with '.', which no checkpoint name does.
        try (DirectoryStream<Path> children = Files.newDirectoryStream(runDir,
                p -> Files.isDirectory(p) && CheckpointFiles.isName(p.getFileName().toString()))) {
            for (Path dir : children) {
                refs.add(describe(run, dir));
            }
        }
        refs.sort(CheckpointRef.OLDEST_FIRST);
        return refs;
    }

    private CheckpointRef describe(String run, Path dir) throws IOException {
        String name = dir.getFileName().toString();
        Optional<CheckpointManifest> manifest = readManifest(dir);
        if (manifest.isPresent()) {
            return ref(run, name, dir, manifest.get());
        }
        long bytes;
        try (Stream<Path> walk = Files.walk(dir)) {
            bytes = walk.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
        return new CheckpointRef(run, name, uri(dir), false, Files.getLastModifiedTime(dir).toInstant(), bytes, Map.of());
    }

    private CheckpointRef ref(String run, String name, Path dir, CheckpointManifest manifest) {
        boolean complete = manifest.files().stream().allMatch(f -> {
            Path file = dir.resolve(f.path());
            return Files.isRegularFile(file) && file.toFile().length() == f.bytes();
        });
        return new CheckpointRef(run, name, uri(dir), complete, manifest.created(), manifest.bytes(), manifest.info());
    }

    private static Optional<CheckpointManifest> readManifest(Path dir) throws IOException {
        Path file = dir.resolve(CheckpointManifest.FILE_NAME);
        byte[] json;
        try {
            json = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        try {
            return Optional.of(CheckpointManifest.parse(json, file.toString()));
        } catch (IOException e) {
            LOG.warnf("Treating %s as incomplete: %s", dir, e.getMessage());
            return Optional.empty();
        }
    }

    @Override
    public Optional<CheckpointManifest> manifest(String run, String name) throws IOException {
        return readManifest(dir(run, name));
    }

    @Override
    public List<String> verify(String run, String name) throws IOException {
        Path dir = dir(run, name);
        return CheckpointFiles.verify(readManifest(dir), files(dir));
    }

    @Override
    public Path pull(String run, String name, String directory, Path into) throws IOException {
        Path dir = dir(run, name);
        return CheckpointFiles.pull(readManifest(dir), uri(dir), files(dir), directory, into);
    }

    private static CheckpointFiles.CheckpointReader files(Path dir) {
        return new CheckpointFiles.CheckpointReader() {
            @Override
            public <T> Optional<T> withFile(String path, CheckpointFiles.StreamUse<T> use) throws IOException {
                try (InputStream in = Files.newInputStream(dir.resolve(path))) {
                    return Optional.of(use.apply(in));
                } catch (NoSuchFileException e) {
                    return Optional.empty();
                }
            }
        };
    }

    @Override
    public InputStream read(String run, String name, String file) throws IOException {
        if (!CheckpointManifest.isFilePath(file)) {
            throw new IllegalArgumentException("\"" + file + "\" is not a file path inside a checkpoint");
        }
        return Files.newInputStream(dir(run, name).resolve(file));
    }

    /**
     * The report is copied into a hidden staging directory inside the checkpoint and renamed into
     * place in one step, after the report it replaces is renamed out of view.
     */
    @Override
    public String putReport(String run, String name, Path reportDir) throws IOException {
        Path dir = dir(run, name);
        Optional<CheckpointManifest> manifest = readManifest(dir);
        boolean complete = manifest.isPresent() && ref(run, name, dir, manifest.get()).complete();
        List<String> files = CheckpointFiles.reportFiles(manifest, complete, uri(dir), reportDir);
        String staged = STAGING + CheckpointStore.REPORT_DIRECTORY + "-";
        removeLeftovers(dir, staged);
        Path staging = dir.resolve(staged + UUID.randomUUID());
        try {
            for (String file : files) {
                Path to = staging.resolve(file);
                Files.createDirectories(to.getParent());
                Files.copy(reportDir.resolve(file), to);
                sync(to);
            }
            syncTree(staging);
            Path target = dir.resolve(CheckpointStore.REPORT_DIRECTORY);
            if (Files.exists(target)) {
                discard(target);
            }
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            sync(dir);
            return uri(target.resolve(CheckpointStore.REPORT_PAGE));
        } catch (IOException | RuntimeException e) {
            Directories.deleteTree(staging);
            throw e;
        }
    }

    @Override
    public void delete(String run, String name) throws IOException {
        Path dir = dir(run, name);
        if (Files.exists(dir)) {
            discard(dir);
        }
    }

    /** Renames the directory out of view in one step, then removes it. */
    private static void discard(Path dir) throws IOException {
        Path doomed = dir.resolveSibling(DELETING + dir.getFileName() + "-" + UUID.randomUUID());
        Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
        Directories.deleteTree(doomed);
    }

    /** Staging and deleting directories that a crashed process left for this name. */
    private static void removeLeftovers(Path runDir, String stagingPrefix) throws IOException {
        try (DirectoryStream<Path> children = Files.newDirectoryStream(runDir,
                p -> p.getFileName().toString().startsWith(stagingPrefix) || p.getFileName().toString().startsWith(DELETING))) {
            for (Path leftover : children) {
                LOG.infof("Removing %s, left by an interrupted publish or delete", leftover);
                Directories.deleteTree(leftover);
            }
        }
    }

    @Override
    public void close() {
    }
}
