package dev.saeforge.store;

import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.UploadObjectArgs;
import io.minio.errors.ErrorResponseException;
import io.minio.messages.Item;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * Objects of one bucket: list a prefix, get, put (an S3 PUT is atomic: readers see the whole
 * object or none) and delete them, and download an object into a local cache unless the
 * local copy is current. A copy is current when the ETag recorded beside it (NAME.etag) matches
 * the object's; a download goes to NAME.part first, so an interrupted one never looks complete.
 * Transient failures are retried as the checkpoint store retries them (SAEFORGE_S3_RETRY_FOR).
 */
public final class S3Objects {
    private final S3Settings settings;
    private final MinioClient client;
    private final Retry retry;

    public S3Objects(S3Settings settings) {
        this.settings = settings;
        this.client = settings.client();
        this.retry = settings.retry();
    }

    /** What a listing says of one object: its ETag and size. */
    public record Listed(String etag, long bytes) {
    }

    public String bucket() {
        return settings.bucket();
    }

    /** Every object under {@code prefix} (recursively), by key, in key order. */
    public Map<String, Listed> list(String prefix) throws IOException {
        return retry.run("listing s3://" + settings.bucket() + "/" + prefix, () -> {
            Map<String, Listed> found = new TreeMap<>();
            for (Result<Item> result : client.listObjects(ListObjectsArgs.builder().bucket(settings.bucket()).prefix(prefix)
                    .recursive(true).build())) {
                Item item = result.get();
                if (!item.isDir()) {
                    found.put(item.objectName(), new Listed(item.etag(), item.size()));
                }
            }
            return found;
        });
    }

    /** Puts object {@code key} (whose ETag is {@code etag}) at {@code target}, unless the copy there is current. */
    public void download(String key, String etag, Path target) throws IOException {
        Path etagFile = target.resolveSibling(target.getFileName() + ".etag");
        if (Files.isRegularFile(target) && Files.isRegularFile(etagFile) && Files.readString(etagFile).equals(etag)) {
            return;
        }
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        retry.run("downloading s3://" + settings.bucket() + "/" + key, () -> {
            try (InputStream in = client.getObject(GetObjectArgs.builder().bucket(settings.bucket()).object(key).build())) {
                Files.copy(in, part, StandardCopyOption.REPLACE_EXISTING);
            }
            return null;
        });
        Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.writeString(etagFile, etag);
    }

    /** The S3 settings' key prefix (s3://BUCKET/PREFIX's "PREFIX/", or ""). */
    public String prefix() {
        return settings.prefix();
    }

    /** Object {@code key}'s bytes, or null when it does not exist. */
    public byte[] get(String key) throws IOException {
        // Read inside the retry: a connection that drops mid-body is retried as a failed request is.
        return retry.run("GET s3://" + settings.bucket() + "/" + key, () -> {
            try (InputStream in = getObject(key)) {
                return in == null ? null : in.readAllBytes();
            }
        });
    }

    /** Object {@code key} as a stream (the caller closes it), or null when it does not exist. */
    public InputStream open(String key) throws IOException {
        return retry.run("GET s3://" + settings.bucket() + "/" + key, () -> getObject(key));
    }

    /** One GET of object {@code key}: its body, or null when it does not exist. */
    private InputStream getObject(String key) throws Exception {
        try {
            return client.getObject(GetObjectArgs.builder().bucket(settings.bucket()).object(key).build());
        } catch (ErrorResponseException e) {
            if (isMissing(e)) {
                return null;
            }
            throw e;
        }
    }

    /** Puts {@code bytes} as object {@code key}. */
    public void put(String key, byte[] bytes) throws IOException {
        retry.run("PUT s3://" + settings.bucket() + "/" + key, () -> client.putObject(PutObjectArgs.builder()
                .bucket(settings.bucket()).object(key).stream(new ByteArrayInputStream(bytes), bytes.length, -1).build()));
    }

    /** Uploads {@code file} as object {@code key}, in parts of SAEFORGE_S3_PART_SIZE when it is larger. */
    public void upload(String key, Path file) throws IOException {
        retry.run("PUT s3://" + settings.bucket() + "/" + key, () -> client.uploadObject(UploadObjectArgs.builder()
                .bucket(settings.bucket()).object(key).filename(file.toString(), settings.partSize()).build()));
    }

    /** Deletes object {@code key} (nothing when it does not exist). */
    public void delete(String key) throws IOException {
        retry.run("DELETE s3://" + settings.bucket() + "/" + key, () -> {
            client.removeObject(RemoveObjectArgs.builder().bucket(settings.bucket()).object(key).build());
            return null;
        });
    }

    /** Whether {@code e} is S3's answer that there is no such object. */
    static boolean isMissing(Throwable e) {
        return e instanceof ErrorResponseException error && error.errorResponse() != null
                && java.util.Set.of("NoSuchKey", "NoSuchObject").contains(error.errorResponse().code());
    }
}
