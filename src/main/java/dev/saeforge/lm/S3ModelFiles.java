package dev.saeforge.lm;

import dev.saeforge.store.S3Objects;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A model directory under an S3 prefix, copied to the cache with {@link S3Objects}: a local copy
 * is current when its recorded ETag matches the object's.
 */
final class S3ModelFiles implements RemoteFiles {
    private final S3Objects objects;
    private final String prefix;
    private Map<String, String> etags;

    /** {@code prefix} is the model's "directory" in the bucket, without a trailing slash (may be empty). */
    S3ModelFiles(S3Objects objects, String prefix) {
        this.objects = objects;
        this.prefix = prefix.isEmpty() ? "" : prefix + "/";
    }

    @Override
    public String location() {
        return "s3://" + objects.bucket() + "/" + prefix;
    }

    @Override
    public Set<String> names() throws IOException {
        if (etags == null) {
            Map<String, String> found = new TreeMap<>();
            objects.list(prefix).forEach((key, listed) -> found.put(key.substring(prefix.length()), listed.etag()));
            etags = found;
        }
        return etags.keySet();
    }

    @Override
    public void fetch(String name, Path target) throws IOException {
        objects.download(prefix + name, names().contains(name) ? etags.get(name) : "", target);
    }
}
