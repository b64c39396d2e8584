package dev.saeforge.store;

import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.Result;
import io.minio.messages.Item;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reading objects of one bucket into a local cache: list a prefix, download an object unless the
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
}
