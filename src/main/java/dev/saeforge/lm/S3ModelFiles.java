package dev.saeforge.lm;

import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.Result;
import io.minio.errors.ErrorResponseException;
import io.minio.errors.MinioException;
import io.minio.messages.Item;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A model directory under an S3 prefix, read with the MinIO SDK. A local copy is current when its
 * recorded ETag (in NAME.etag beside it) matches the object's.
 */
final class S3ModelFiles implements RemoteFiles {
    /** Where the S3 API is and who calls it, by the S3 ecosystem's environment variables. */
    record Connection(String endpoint, String accessKey, String secretKey, String region) {
        /** AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (default AWS), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION. */
        static Connection fromEnvironment() {
            Map<String, String> env = System.getenv();
            String endpoint = env.getOrDefault("AWS_ENDPOINT_URL_S3", env.getOrDefault("AWS_ENDPOINT_URL", "https://s3.amazonaws.com"));
            return new Connection(endpoint, env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY"),
                    env.getOrDefault("AWS_REGION", env.getOrDefault("AWS_DEFAULT_REGION", "us-east-1")));
        }

        MinioClient client() {
            MinioClient.Builder builder = MinioClient.builder().endpoint(endpoint).region(region);
            if (accessKey != null && secretKey != null) {
                builder.credentials(accessKey, secretKey);
            }
            return builder.build();
        }
    }

    private final MinioClient client;
    private final String bucket;
    private final String prefix;
    private Map<String, String> etags;

    /** {@code prefix} is the model's "directory" in the bucket, without a trailing slash (may be empty). */
    S3ModelFiles(MinioClient client, String bucket, String prefix) {
        this.client = client;
        this.bucket = bucket;
        this.prefix = prefix.isEmpty() ? "" : prefix + "/";
    }

    @Override
    public String location() {
        return "s3://" + bucket + "/" + prefix;
    }

    @Override
    public Set<String> names() throws IOException {
        if (etags == null) {
            Map<String, String> found = new TreeMap<>();
            try {
                for (Result<Item> result : client.listObjects(ListObjectsArgs.builder().bucket(bucket).prefix(prefix).recursive(true).build())) {
                    Item item = result.get();
                    if (!item.isDir()) {
                        found.put(item.objectName().substring(prefix.length()), item.etag());
                    }
                }
            } catch (MinioException | GeneralSecurityException e) {
                throw new IOException(location() + ": listing failed: " + describe(e), e);
            }
            etags = found;
        }
        return etags.keySet();
    }

    @Override
    public void fetch(String name, Path target) throws IOException {
        String etag = etags.get(name);
        Path etagFile = target.resolveSibling(target.getFileName() + ".etag");
        if (Files.isRegularFile(target) && Files.isRegularFile(etagFile) && Files.readString(etagFile).equals(etag)) {
            return;
        }
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        try (InputStream in = client.getObject(GetObjectArgs.builder().bucket(bucket).object(prefix + name).build())) {
            Files.copy(in, part, StandardCopyOption.REPLACE_EXISTING);
        } catch (MinioException | GeneralSecurityException e) {
            throw new IOException(location() + name + ": download failed: " + describe(e), e);
        }
        Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.writeString(etagFile, etag);
    }

    private static String describe(Exception e) {
        return e instanceof ErrorResponseException error ? error.errorResponse().code() + " " + error.errorResponse().message() : e.toString();
    }
}
