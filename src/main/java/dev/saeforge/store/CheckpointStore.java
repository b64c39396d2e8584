package dev.saeforge.store;

import dev.saeforge.api.RunIdentity;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Where a run's checkpoints live: {@code <location>/<run>/<name>/}, each a SAELens checkpoint
 * directory plus the {@link CheckpointManifest} written last. Two backends: a local (or mounted)
 * directory and an S3 bucket. Names are SAELens': the tokens trained ({@code 409600}) and
 * {@code final_<tokens>}.
 */
public interface CheckpointStore extends AutoCloseable {
    /** The directory inside a checkpoint that holds its feature report ({@link #putReport}). */
    String REPORT_DIRECTORY = "report";
    /** The report's page, which a reader opens and which goes up last. */
    String REPORT_PAGE = "index.html";

    /**
     * Opens the store for a location from TrainingRun spec.checkpoints.uri: a plain path,
     * file://PATH, or s3://BUCKET/PREFIX, with S3 endpoint and credentials from the process
     * environment (see {@link S3Settings}).
     */
    static CheckpointStore open(String uri) throws IOException {
        return open(uri, System.getenv());
    }

    /** As {@link #open(String)}, with the environment given (tests, or a caller that filters it). */
    static CheckpointStore open(String uri, Map<String, String> env) throws IOException {
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException("checkpoint location is empty; expected " + S3Settings.LOCATION_FORMS);
        }
        if (uri.startsWith("s3://")) {
            return new S3CheckpointStore(S3Settings.from(uri, env));
        }
        String path = uri.startsWith("file://") ? uri.substring("file://".length()) : uri;
        if (path.isEmpty() || path.contains("://")) {
            throw new IllegalArgumentException("checkpoint location \"" + uri + "\" is not supported; expected " + S3Settings.LOCATION_FORMS);
        }
        return new FileCheckpointStore(Path.of(path));
    }

    /** Whether {@code value} can name a run or a checkpoint: one plain path segment. */
    static boolean isName(String value) {
        return CheckpointFiles.isName(value);
    }

    /** The store's location as a URI: file:///ABSOLUTE/PATH or s3://BUCKET/PREFIX. */
    String uri();

    /**
     * Publishes a complete local checkpoint directory as {@code <run>/<name>/}: every file first,
     * then the manifest (sizes, sha256 and {@code info}: step, tokens, metrics...), so the
     * checkpoint is complete exactly when its manifest exists and every file matches it. A file
     * store moves {@code localDir} when it is on the same file system (the caller gives it up);
     * otherwise the directory is left as it was. A {@code manifest.json} in {@code localDir} is
     * replaced. Publishing a name that is already complete with identical files returns it;
     * with different files it is refused. The manifest records {@code writer}; a writer with an
     * attempt is refused ({@link SupersededWriterException}) when its attempt no longer holds the
     * run's claim ({@link #claim}), and its checkpoint is not published.
     */
    CheckpointRef publish(RunIdentity writer, String name, Path localDir, Map<String, Object> info) throws IOException;

    /** As {@link #publish(RunIdentity, String, Path, Map)} by a writer known only by its run's name. */
    default CheckpointRef publish(String run, String name, Path localDir, Map<String, Object> info) throws IOException {
        return publish(new RunIdentity(null, run, null, null), name, localDir, info);
    }

    /**
     * A trainer starts writing run {@code writer.name()}: removes what interrupted publishes and
     * deletes left there (staging copies, multipart uploads), and, for a writer with an attempt,
     * records that attempt as the one that writes the run from now on. Refuses
     * ({@link SupersededWriterException}) a writer whose run has a later attempt already.
     */
    void claim(RunIdentity writer) throws IOException;

    /** Every checkpoint of a run, oldest first ({@link CheckpointRef#OLDEST_FIRST}), complete or not. */
    List<CheckpointRef> list(String run) throws IOException;

    /** The checkpoint's manifest, or empty when it has none (not published, or still uploading). */
    Optional<CheckpointManifest> manifest(String run, String name) throws IOException;

    /**
     * What is wrong with a checkpoint, reading every file and comparing size and sha256 with its
     * manifest; empty when it is complete and intact. Failing to reach the store is an
     * IOException, not a problem of the checkpoint.
     */
    List<String> verify(String run, String name) throws IOException;

    /** Downloads (or copies, for file stores) a complete checkpoint into {@code into}, verifying sha256; returns {@code into}. */
    default Path pull(String run, String name, Path into) throws IOException {
        return pull(run, name, "", into);
    }

    /**
     * Downloads the files under {@code directory} of a complete checkpoint (one SAE of a multi-SAE
     * checkpoint, {@link CheckpointSae#directory}) into {@code into}, verifying each against the
     * checkpoint's manifest; returns {@code into}. The manifest, which names the checkpoint's paths,
     * comes only with the whole checkpoint ({@code directory} empty). A directory that holds no file
     * is an IllegalArgumentException.
     */
    Path pull(String run, String name, String directory, Path into) throws IOException;

    /**
     * Downloads the files of a complete checkpoint whose paths {@code wanted} accepts into
     * {@code into}, each verified against the manifest (a reader that needs the weights but not
     * the optimiser state or the stream's buffers); returns {@code into}.
     */
    default Path pullFiles(String run, String name, Predicate<String> wanted, Path into) throws IOException {
        CheckpointManifest manifest = manifest(run, name).orElseThrow(() -> new IllegalArgumentException("checkpoint " + uri() + "/"
                + run + "/" + name + " is not complete: it has no " + CheckpointManifest.FILE_NAME));
        for (CheckpointManifest.FileEntry entry : manifest.files()) {
            if (wanted.test(entry.path())) {
                try (InputStream in = read(run, name, entry.path())) {
                    CheckpointFiles.copyVerified(in, entry, into.resolve(entry.path()), uri() + "/" + run + "/" + name + "/" + entry.path());
                }
            }
        }
        return into;
    }

    /** One file of a checkpoint, unverified (e.g. cfg.json or a safetensors header for inspection). */
    InputStream read(String run, String name, String file) throws IOException;

    /**
     * Puts the files of the local directory {@code reportDir} (a feature report: {@value #REPORT_PAGE},
     * report.json, ...) under {@code <run>/<name>/}{@value #REPORT_DIRECTORY}{@code /} of the complete
     * checkpoint {@code name}, replacing the report there; {@value #REPORT_PAGE} appears last, so a
     * reader who finds it finds the whole report. Returns the page's URI. The report is an annex, not
     * part of the checkpoint: the manifest does not list it, so verify, latest, resume and pull pass
     * it by; delete (and so retention) removes it with its checkpoint.
     */
    String putReport(String run, String name, Path reportDir) throws IOException;

    /** Removes a checkpoint; its manifest goes first, so it is never seen complete but partial. */
    void delete(String run, String name) throws IOException;

    /**
     * The newest checkpoint whose manifest exists and whose files all match it (sha256 verified).
     * A newer one that is incomplete or fails verification is skipped with a warning naming it.
     */
    default Optional<CheckpointRef> latest(String run) throws IOException {
        return latest(run, writer -> true);
    }

    /**
     * As {@link #latest(String)}, among the checkpoints whose manifest names a writer that
     * {@code writtenBy} accepts (e.g. the run's own uid); others are passed over without a warning.
     */
    default Optional<CheckpointRef> latest(String run, Predicate<RunIdentity> writtenBy) throws IOException {
        List<CheckpointRef> all = list(run);
        for (int i = all.size() - 1; i >= 0; i--) {
            CheckpointRef ref = all.get(i);
            if (!ref.complete()) {
                Logger.getLogger(CheckpointStore.class).warnf("Skipping checkpoint %s: it is incomplete (no manifest, or files missing)", ref.uri());
                continue;
            }
            if (!manifest(run, ref.name()).map(CheckpointManifest::writer).filter(writtenBy).isPresent()) {
                continue;
            }
            List<String> problems = verify(run, ref.name());
            if (problems.isEmpty()) {
                return Optional.of(ref);
            }
            Logger.getLogger(CheckpointStore.class).warnf("Skipping checkpoint %s: it fails verification (%s); trying the previous one",
                    ref.uri(), String.join("; ", problems));
        }
        return Optional.empty();
    }

    /**
     * Deletes all but the newest {@code keepLast} complete checkpoints besides the final_* ones, which are all kept, and
     * incomplete leftovers older than the newest complete checkpoint (newer ones may still be
     * uploading). Never deletes {@link #latest}, even when newer checkpoints fail verification.
     */
    default void retain(String run, int keepLast) throws IOException {
        List<CheckpointRef> all = list(run);
        if (Retention.toDelete(all, keepLast, Optional.empty()).isEmpty()) {
            return; // nothing to delete: spare the verification read
        }
        retain(run, keepLast, all, latest(run).map(CheckpointRef::name));
    }

    /**
     * As {@link #retain(String, int)}, with the latest checkpoint known to be complete and intact
     * (the one just published) rather than found by reading the newest ones back.
     */
    default void retain(String run, int keepLast, String latest) throws IOException {
        retain(run, keepLast, list(run), Optional.of(latest));
    }

    private void retain(String run, int keepLast, List<CheckpointRef> all, Optional<String> latest) throws IOException {
        for (CheckpointRef doomed : Retention.toDelete(all, keepLast, latest)) {
            Logger.getLogger(CheckpointStore.class).infof("Deleting checkpoint %s (keeping the last %d)", doomed.uri(), keepLast);
            delete(run, doomed.name());
        }
    }

    @Override
    void close() throws IOException;
}
