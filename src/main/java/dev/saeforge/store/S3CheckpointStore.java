package dev.saeforge.store;

import dev.saeforge.api.RunIdentity;
import dev.saeforge.store.CheckpointFiles.Digest;
import dev.saeforge.store.CheckpointManifest.FileEntry;
import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.MinioAsyncClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.StatObjectArgs;
import io.minio.errors.ErrorResponseException;
import io.minio.errors.ServerException;
import io.minio.http.HttpUtils;
import io.minio.messages.Item;
import io.minio.messages.Part;
import io.minio.messages.Upload;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import org.jboss.logging.Logger;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Checkpoints in an S3 bucket (MinIO, AWS, any S3-compatible server), {@code <prefix><run>/<name>/<file>}.
 * Files above the part size go up as multipart uploads with parts in parallel; every request is
 * retried on transient failures ({@link Retry}); the manifest goes up last, so an upload cut short
 * anywhere leaves a checkpoint without a manifest: incomplete, skipped by {@link #latest}.
 */
final class S3CheckpointStore implements CheckpointStore {
    private static final Logger LOG = Logger.getLogger(S3CheckpointStore.class);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration TRANSFER_TIMEOUT = Duration.ofMinutes(2);
    private static final int MAX_PARTS = 10_000;
    /** Content types by file extension, so that a browser shows a report (and JSON) read through an S3 endpoint; others are the SDK's default. */
    private static final Map<String, String> WEB_TYPES = Map.of("html", "text/html; charset=utf-8", "json", "application/json",
            "svg", "image/svg+xml", "png", "image/png", "css", "text/css", "js", "text/javascript");

    private final S3Settings settings;
    private final MinioAsyncClient client;
    private final ExecutorService partUploads;
    private final Retry retry;

    S3CheckpointStore(S3Settings settings) {
        this.settings = settings;
        // OkHttp allows 5 requests per host by default; parallel parts need that many plus one spare.
        Dispatcher dispatcher = new Dispatcher();
        dispatcher.setMaxRequestsPerHost(Math.max(5, settings.parallelParts() + 1));
        OkHttpClient http = HttpUtils.newDefaultHttpClient(CONNECT_TIMEOUT.toMillis(), TRANSFER_TIMEOUT.toMillis(), TRANSFER_TIMEOUT.toMillis())
                .newBuilder().dispatcher(dispatcher).build();
        this.client = settings.asyncClient(http);
        AtomicInteger threads = new AtomicInteger();
        this.partUploads = Executors.newFixedThreadPool(settings.parallelParts(), task -> {
            Thread thread = new Thread(task, "s3-part-upload-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        this.retry = settings.retry();
    }

    @Override
    public String uri() {
        return settings.location();
    }

    private String runPrefix(String run) {
        CheckpointFiles.requireName("run", run);
        return settings.prefix() + run + "/";
    }

    private String checkpointPrefix(String run, String name) {
        CheckpointFiles.requireName("checkpoint", name);
        return runPrefix(run) + name + "/";
    }

    private String uri(String key) {
        return ("s3://" + settings.bucket() + "/" + key).replaceAll("/$", "");
    }

    // ---- publish ----

    @Override
    public CheckpointRef publish(RunIdentity writer, String name, Path localDir, Map<String, Object> info) throws IOException {
        String run = writer.name();
        String prefix = checkpointPrefix(run, name);
        List<String> files = CheckpointFiles.listLocal(localDir);
        List<FileEntry> entries = new ArrayList<>();
        for (String file : files) {
            Digest digest = CheckpointFiles.sha256(localDir.resolve(file));
            entries.add(new FileEntry(file, digest.bytes(), digest.sha256()));
        }
        CheckpointManifest manifest = new CheckpointManifest(writer, name, Instant.now(), entries, info);
        byte[] manifestJson = manifest.toJson();

        Map<String, Item> existing = listObjects(prefix);
        Optional<CheckpointManifest> published = existing.containsKey(prefix + CheckpointManifest.FILE_NAME)
                ? readManifest(prefix) : Optional.empty();
        if (published.isPresent() && isComplete(published.get(), prefix, existing)) {
            List<String> problems = CheckpointFiles.verify(published, files(prefix));
            if (problems.isEmpty() && published.get().files().equals(entries)) {
                return ref(run, name, prefix, published.get(), true);
            }
            if (problems.isEmpty()) {
                throw new IOException("checkpoint " + uri(prefix) + " is already published with different files;"
                        + " a checkpoint is never overwritten (delete it first)");
            }
            LOG.warnf("Replacing checkpoint %s, which fails verification (%s)", uri(prefix), String.join("; ", problems));
        }
        if (published.isPresent()) {
            deleteObject(prefix + CheckpointManifest.FILE_NAME); // an incomplete checkpoint must not look complete meanwhile
        }
        abortUploads(prefix);
        for (FileEntry entry : entries) {
            upload(localDir.resolve(entry.path()), prefix + entry.path(), entry.bytes());
        }
        for (String key : existing.keySet()) {
            String file = key.substring(prefix.length());
            if (!file.equals(CheckpointManifest.FILE_NAME) && entries.stream().noneMatch(e -> e.path().equals(file))) {
                deleteObject(key); // left by an earlier, different attempt
            }
        }
        checkClaim(writer, AttemptClaim::checkPublish);
        String manifestKey = prefix + CheckpointManifest.FILE_NAME;
        retry.run("PUT " + uri(manifestKey), () -> putSmall(manifestKey, manifestJson));
        return ref(run, name, prefix, manifest, true);
    }

    /** S3 has no staging copies: an interrupted publish leaves a checkpoint without a manifest, which retention removes. */
    @Override
    public void claim(RunIdentity writer) throws IOException {
        String runPrefix = runPrefix(writer.name());
        checkClaim(writer, AttemptClaim::checkStart); // before touching anything: a superseded writer leaves the run alone
        abortUploads(runPrefix);
        if (writer.attempt() == null) {
            return;
        }
        String key = runPrefix + AttemptClaim.FILE_NAME;
        byte[] json = AttemptClaim.toJson(writer);
        retry.run("PUT " + uri(key), () -> putSmall(key, json));
    }

    /** Applies {@code check} to the run's current claim, for a writer with an attempt. */
    private void checkClaim(RunIdentity writer, AttemptClaim.Check check) throws IOException {
        if (writer.attempt() == null) {
            return;
        }
        String runPrefix = runPrefix(writer.name());
        String key = runPrefix + AttemptClaim.FILE_NAME;
        byte[] json = getSmall(key);
        check.apply(json == null ? Optional.empty() : Optional.of(AttemptClaim.parse(json, uri(key))), writer, uri(runPrefix));
    }

    private void upload(Path file, String key, long size) throws IOException {
        if (size <= settings.partSize()) {
            byte[] data = Files.readAllBytes(file);
            retry.run("PUT " + uri(key), () -> putSmall(key, data));
        } else {
            uploadMultipart(file, key, size);
        }
    }

    private Object putSmall(String key, byte[] data) throws Exception {
        // A part size at least the object's size makes the SDK send one PUT.
        PutObjectArgs.Builder put = PutObjectArgs.builder().bucket(settings.bucket()).object(key)
                .stream(new ByteArrayInputStream(data), data.length, Math.max(data.length, S3Settings.MIN_PART_SIZE));
        String type = WEB_TYPES.get(key.substring(key.lastIndexOf('.') + 1));
        return client.putObject((type == null ? put : put.contentType(type)).build()).get();
    }

    private void uploadMultipart(Path file, String key, long size) throws IOException {
        long partSize = settings.partSize();
        long partCount = (size + partSize - 1) / partSize;
        if (partCount > MAX_PARTS) {
            throw new IOException(file + " is " + size + " bytes: over the " + MAX_PARTS + " parts S3 allows at SAEFORGE_S3_PART_SIZE="
                    + partSize + "; raise it to at least " + (size + MAX_PARTS - 1) / MAX_PARTS);
        }
        String uploadId = retry.run("start multipart upload of " + uri(key), () -> client.createMultipartUploadAsync(
                settings.bucket(), settings.region(), key, null, null).get().result().uploadId());
        List<Future<Part>> futures = new ArrayList<>();
        int count = (int) partCount;
        Part[] parts = new Part[count];
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            for (int number = 1; number <= count; number++) {
                long offset = (number - 1) * partSize;
                int length = (int) Math.min(partSize, size - offset);
                int partNumber = number;
                futures.add(partUploads.submit(() -> uploadPart(channel, key, uploadId, partNumber, count, offset, length)));
            }
            for (int i = 0; i < count; i++) {
                parts[i] = futures.get(i).get();
            }
        } catch (ExecutionException | InterruptedException | IOException | RuntimeException e) {
            futures.forEach(f -> f.cancel(true));
            abortUpload(key, uploadId);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            throw cause instanceof IOException io ? io : new IOException("multipart upload of " + uri(key) + " failed: " + describe(cause), cause);
        }
        String expectedEtag = multipartEtag(parts);
        boolean[] sent = {false};
        retry.run("complete multipart upload of " + uri(key), () -> {
            boolean resent = sent[0];
            sent[0] = true;
            if (resent && expectedEtag.equals(etag(key))) {
                return null; // the previous attempt completed; only its answer was lost
            }
            return client.completeMultipartUploadAsync(settings.bucket(), settings.region(), key, uploadId, parts, null, null).get();
        });
    }

    private Part uploadPart(FileChannel channel, String key, String uploadId, int number, int count, long offset, int length) throws IOException {
        byte[] data = new byte[length];
        ByteBuffer buffer = ByteBuffer.wrap(data);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, offset + buffer.position()) < 0) {
                throw new IOException("file shrank while uploading " + uri(key));
            }
        }
        String etag = retry.run("upload part " + number + " of " + count + " of " + uri(key), () -> client.uploadPartAsync(
                settings.bucket(), settings.region(), key, data, length, uploadId, number, null, null).get().etag());
        return new Part(number, etag);
    }

    /** S3's ETag of a completed multipart upload: md5 of the parts' md5s, then "-" and the part count. */
    private static String multipartEtag(Part[] parts) {
        MessageDigest md5;
        try {
            md5 = MessageDigest.getInstance("MD5");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks MD5", e);
        }
        for (Part part : parts) {
            md5.update(HexFormat.of().parseHex(part.etag().replace("\"", "")));
        }
        return HexFormat.of().formatHex(md5.digest()) + "-" + parts.length;
    }

    /** The object's ETag without quotes, or "" when there is no such object. */
    private String etag(String key) throws Exception {
        try {
            return client.statObject(StatObjectArgs.builder().bucket(settings.bucket()).object(key).build()).get().etag().replace("\"", "");
        } catch (ExecutionException e) {
            if (S3Objects.isMissing(e.getCause())) {
                return "";
            }
            throw e;
        }
    }

    private void abortUpload(String key, String uploadId) {
        try {
            client.abortMultipartUploadAsync(settings.bucket(), settings.region(), key, uploadId, null, null).get();
        } catch (Exception e) {
            LOG.debugf("Could not abort the multipart upload of %s (%s); the server drops it with its lifecycle rules", uri(key), e);
        }
    }

    /** Aborts multipart uploads under {@code prefix} that an interrupted publish left behind. */
    private void abortUploads(String prefix) throws IOException {
        List<Upload> uploads;
        try {
            uploads = retry.run("list multipart uploads under " + uri(prefix), () -> client.listMultipartUploadsAsync(
                    settings.bucket(), settings.region(), null, null, null, null, prefix, null, null, null).get().result().uploads());
        } catch (IOException e) {
            if (e.getCause() instanceof ErrorResponseException) {
                LOG.debugf("Not cleaning up multipart uploads under %s: %s", uri(prefix), e.getMessage());
                return; // the server does not support listing them; they cost space, not correctness
            }
            throw e;
        }
        for (Upload upload : uploads) {
            LOG.infof("Aborting multipart upload %s of %s, left by an interrupted publish", upload.uploadId(), uri(upload.objectName()));
            abortUpload(upload.objectName(), upload.uploadId());
        }
    }

    // ---- reading ----

    /** Every object under {@code prefix} by key. */
    private Map<String, Item> listObjects(String prefix) throws IOException {
        return retry.run("list " + uri(prefix), () -> {
            Map<String, Item> items = new TreeMap<>();
            for (Result<Item> result : client.listObjects(ListObjectsArgs.builder().bucket(settings.bucket()).prefix(prefix).recursive(true).build())) {
                Item item = result.get();
                items.put(item.objectName(), item);
            }
            return items;
        });
    }

    @Override
    public List<CheckpointRef> list(String run) throws IOException {
        String runPrefix = runPrefix(run);
        Map<String, Map<String, Item>> byName = new LinkedHashMap<>();
        for (Map.Entry<String, Item> entry : listObjects(runPrefix).entrySet()) {
            String rest = entry.getKey().substring(runPrefix.length());
            int slash = rest.indexOf('/');
            if (slash > 0 && CheckpointFiles.isName(rest.substring(0, slash))) { // other objects are not checkpoints
                byName.computeIfAbsent(rest.substring(0, slash), n -> new TreeMap<>()).put(entry.getKey(), entry.getValue());
            }
        }
        List<CheckpointRef> refs = new ArrayList<>();
        for (Map.Entry<String, Map<String, Item>> checkpoint : byName.entrySet()) {
            String name = checkpoint.getKey();
            String prefix = runPrefix + name + "/";
            Map<String, Item> objects = checkpoint.getValue();
            Optional<CheckpointManifest> manifest = objects.containsKey(prefix + CheckpointManifest.FILE_NAME)
                    ? readManifest(prefix) : Optional.empty();
            if (manifest.isPresent()) {
                refs.add(ref(run, name, prefix, manifest.get(), isComplete(manifest.get(), prefix, objects)));
            } else {
                Instant created = objects.values().stream().map(i -> i.lastModified().toInstant()).max(Instant::compareTo).orElse(Instant.EPOCH);
                long bytes = objects.values().stream().mapToLong(Item::size).sum();
                refs.add(new CheckpointRef(run, name, uri(prefix), false, created, bytes, Map.of()));
            }
        }
        refs.sort(CheckpointRef.OLDEST_FIRST);
        return refs;
    }

    private static boolean isComplete(CheckpointManifest manifest, String prefix, Map<String, Item> objects) {
        return manifest.files().stream().allMatch(f -> {
            Item item = objects.get(prefix + f.path());
            return item != null && item.size() == f.bytes();
        });
    }

    private CheckpointRef ref(String run, String name, String prefix, CheckpointManifest manifest, boolean complete) {
        return new CheckpointRef(run, name, uri(prefix), complete, manifest.created(), manifest.bytes(), manifest.info());
    }

    @Override
    public Optional<CheckpointManifest> manifest(String run, String name) throws IOException {
        return readManifest(checkpointPrefix(run, name));
    }

    private Optional<CheckpointManifest> readManifest(String prefix) throws IOException {
        String key = prefix + CheckpointManifest.FILE_NAME;
        byte[] json = getSmall(key);
        if (json == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(CheckpointManifest.parse(json, uri(key)));
        } catch (IOException e) {
            LOG.warnf("Treating %s as incomplete: %s", uri(prefix), e.getMessage());
            return Optional.empty();
        }
    }

    /** A small object's bytes, or null when it does not exist. */
    private byte[] getSmall(String key) throws IOException {
        return retry.run("GET " + uri(key), () -> {
            try (InputStream in = get(key)) {
                return in == null ? null : in.readAllBytes();
            }
        });
    }

    /** The object's content, or null when it does not exist. */
    private InputStream get(String key) throws Exception {
        try {
            return client.getObject(GetObjectArgs.builder().bucket(settings.bucket()).object(key).build()).get();
        } catch (ExecutionException e) {
            if (S3Objects.isMissing(e.getCause())) {
                return null;
            }
            throw e;
        }
    }

    @Override
    public List<String> verify(String run, String name) throws IOException {
        String prefix = checkpointPrefix(run, name);
        return CheckpointFiles.verify(readManifest(prefix), files(prefix));
    }

    @Override
    public Path pull(String run, String name, String directory, Path into) throws IOException {
        String prefix = checkpointPrefix(run, name);
        return CheckpointFiles.pull(readManifest(prefix), uri(prefix), files(prefix), directory, into);
    }

    /** Each file is fetched and used within one retried call, so a download cut off midway starts over. */
    private CheckpointFiles.CheckpointReader files(String prefix) {
        return new CheckpointFiles.CheckpointReader() {
            @Override
            public <T> Optional<T> withFile(String path, CheckpointFiles.StreamUse<T> use) throws IOException {
                String key = prefix + path;
                return retry.run("GET " + uri(key), () -> {
                    try (InputStream in = get(key)) {
                        return in == null ? Optional.<T>empty() : Optional.of(use.apply(in));
                    }
                });
            }
        };
    }

    @Override
    public InputStream read(String run, String name, String file) throws IOException {
        if (!CheckpointManifest.isFilePath(file)) {
            throw new IllegalArgumentException("\"" + file + "\" is not a file path inside a checkpoint");
        }
        String key = checkpointPrefix(run, name) + file;
        InputStream in = retry.run("GET " + uri(key), () -> get(key));
        if (in == null) {
            throw new NoSuchFileException(uri(key));
        }
        return in;
    }

    // ---- reports ----

    /**
     * The page goes first out of view and last into it; the other files are replaced in between and
     * those of the old report that the new one lacks are deleted.
     */
    @Override
    public String putReport(String run, String name, Path reportDir) throws IOException {
        String prefix = checkpointPrefix(run, name);
        Map<String, Item> objects = listObjects(prefix);
        Optional<CheckpointManifest> manifest = objects.containsKey(prefix + CheckpointManifest.FILE_NAME)
                ? readManifest(prefix) : Optional.empty();
        boolean complete = manifest.isPresent() && isComplete(manifest.get(), prefix, objects);
        List<String> files = CheckpointFiles.reportFiles(manifest, complete, uri(prefix), reportDir);
        String reportPrefix = prefix + CheckpointStore.REPORT_DIRECTORY + "/";
        String page = reportPrefix + CheckpointStore.REPORT_PAGE;
        if (objects.containsKey(page)) {
            deleteObject(page);
        }
        for (String key : objects.keySet()) {
            if (key.startsWith(reportPrefix) && !files.contains(key.substring(reportPrefix.length()))) {
                deleteObject(key);   // a file of the report this one replaces
            }
        }
        for (String file : files) {
            Path local = reportDir.resolve(file);
            upload(local, reportPrefix + file, Files.size(local));
        }
        return uri(page);
    }

    // ---- deleting ----

    @Override
    public void delete(String run, String name) throws IOException {
        String prefix = checkpointPrefix(run, name);
        String manifestKey = prefix + CheckpointManifest.FILE_NAME;
        deleteObject(manifestKey);
        for (String key : listObjects(prefix).keySet()) {
            deleteObject(key);
        }
        abortUploads(prefix);
    }

    private void deleteObject(String key) throws IOException {
        retry.run("DELETE " + uri(key), () -> client.removeObject(RemoveObjectArgs.builder().bucket(settings.bucket()).object(key).build()).get());
    }

    // ---- failures ----

    static String describe(Throwable e) {
        if (e instanceof ErrorResponseException error && error.errorResponse() != null) {
            return error.errorResponse().code() + ": " + error.errorResponse().message()
                    + (error.response() != null ? " (HTTP " + error.response().code() + ")" : "");
        }
        if (e instanceof ServerException server) {
            return "HTTP " + server.statusCode() + ": " + server.getMessage();
        }
        // Said in words, not as a Java class name: the JDK's own messages ("Connection refused") mostly are.
        String message = e.getMessage() == null ? "" : e.getMessage();
        if (e instanceof java.net.UnknownHostException) {
            return "unknown host " + message;
        }
        if (e instanceof java.io.InterruptedIOException) {
            return "timed out" + (message.isBlank() ? "" : " (" + message + ")");
        }
        return message.isBlank() ? "no answer" : message;
    }

    @Override
    public void close() throws IOException {
        partUploads.shutdownNow();
        try {
            client.close();
        } catch (Exception e) {
            throw new IOException("closing the S3 client for " + uri() + " failed: " + e.getMessage(), e);
        }
    }
}
