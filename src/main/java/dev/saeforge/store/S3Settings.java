package dev.saeforge.store;

import io.minio.MinioAsyncClient;
import io.minio.MinioClient;
import io.minio.credentials.StaticProvider;
import okhttp3.OkHttpClient;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.random.RandomGenerator;
import java.util.regex.Pattern;

/**
 * Where and how an s3:// store talks to its server. The location comes from the TrainingRun; the
 * endpoint and credentials only from the environment, by the conventions every S3 tool shares:
 * <ul>
 * <li>{@code AWS_ENDPOINT_URL_S3}, else {@code AWS_ENDPOINT_URL}: a custom server (MinIO, Ceph...),
 *     addressed path-style; without either, AWS S3 itself.</li>
 * <li>{@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY}, optionally {@code AWS_SESSION_TOKEN}.</li>
 * <li>{@code AWS_REGION}, else {@code AWS_DEFAULT_REGION}, else us-east-1.</li>
 * <li>{@code AWS_MAX_ATTEMPTS}: the retry budget per request (default 8, about 13 to 25 s of backoff).</li>
 * </ul>
 * And two of SAE Forge's own: {@code SAEFORGE_S3_PART_SIZE} (multipart part size and the size above
 * which files go multipart; bytes or Ki/Mi/Gi, default 16Mi, at least 5Mi) and
 * {@code SAEFORGE_S3_PARALLEL_PARTS} (parts in flight at once, default 4).
 */
public record S3Settings(String bucket, String prefix, String endpoint, boolean customEndpoint, String region,
                         String accessKey, String secretKey, String sessionToken,
                         int maxAttempts, long partSize, int parallelParts) {
    static final String LOCATION_FORMS = "s3://BUCKET/PREFIX, file://PATH or a local path";
    public static final long MIN_PART_SIZE = 5L << 20;
    /** S3 allows 5 GiB parts; a part is held in one Java array, so 1 GiB. */
    public static final long MAX_PART_SIZE = 1L << 30;
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern QUANTITY = Pattern.compile("(\\d{1,12})(Ki|Mi|Gi)?B?");

    /** Reads the settings for {@code uri} (s3://BUCKET/PREFIX) from {@code env}; bad values name the variable. */
    public static S3Settings from(String uri, Map<String, String> env) {
        if (!uri.startsWith("s3://")) {
            throw new IllegalArgumentException("\"" + uri + "\" is not an s3:// location; expected " + LOCATION_FORMS);
        }
        String path = uri.substring("s3://".length());
        int slash = path.indexOf('/');
        String bucket = slash < 0 ? path : path.substring(0, slash);
        if (!BUCKET.matcher(bucket).matches()) {
            throw new IllegalArgumentException("\"" + uri + "\" names bucket \"" + bucket + "\"; expected 3 to 63 lowercase"
                    + " letters, digits, '.' or '-' (s3://BUCKET/PREFIX)");
        }
        String prefix = slash < 0 ? "" : path.substring(slash + 1).replaceAll("^/+|/+$", "");
        prefix = prefix.isEmpty() ? "" : prefix + "/";

        String region = first(env, "AWS_REGION", "AWS_DEFAULT_REGION");
        region = region == null ? "us-east-1" : region;
        String endpointVariable = env.get("AWS_ENDPOINT_URL_S3") != null && !env.get("AWS_ENDPOINT_URL_S3").isBlank()
                ? "AWS_ENDPOINT_URL_S3" : "AWS_ENDPOINT_URL";
        String endpoint = first(env, endpointVariable);
        boolean custom = endpoint != null;
        if (custom) {
            checkEndpoint(endpointVariable, endpoint);
        } else {
            endpoint = "https://s3." + region + ".amazonaws.com";
        }
        String accessKey = first(env, "AWS_ACCESS_KEY_ID");
        String secretKey = first(env, "AWS_SECRET_ACCESS_KEY");
        if (accessKey == null || secretKey == null) {
            throw new IllegalArgumentException(uri + " needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                    + " (in a cluster, from the Secret the chart references)" + (accessKey == null ? "" : "; AWS_SECRET_ACCESS_KEY is missing"));
        }
        return new S3Settings(bucket, prefix, endpoint, custom, region, accessKey, secretKey, first(env, "AWS_SESSION_TOKEN"),
                (int) number(env, "AWS_MAX_ATTEMPTS", 8, 1, 100),
                number(env, "SAEFORGE_S3_PART_SIZE", 16L << 20, MIN_PART_SIZE, MAX_PART_SIZE),
                (int) number(env, "SAEFORGE_S3_PARALLEL_PARTS", 4, 1, 64));
    }

    /** A MinIO client for these settings: the endpoint (path-style when custom), region and credentials. */
    public MinioClient client() {
        MinioClient client = MinioClient.builder().endpoint(endpoint).region(region).credentialsProvider(credentials()).build();
        if (customEndpoint) {
            client.disableVirtualStyleEndpoint();
        }
        return client;
    }

    /** The same client, asynchronous, on {@code http} (the checkpoint store's, sized for its parallel parts). */
    MinioAsyncClient asyncClient(OkHttpClient http) {
        MinioAsyncClient client = MinioAsyncClient.builder().endpoint(endpoint).region(region).credentialsProvider(credentials())
                .httpClient(http, true).build();
        if (customEndpoint) {
            client.disableVirtualStyleEndpoint();
        }
        return client;
    }

    private StaticProvider credentials() {
        return new StaticProvider(accessKey, secretKey, sessionToken);
    }

    /**
     * How every S3 call is retried: up to AWS_MAX_ATTEMPTS tries, exponential backoff with jitter
     * from 200 ms to 20 s, on the failures {@link S3CheckpointStore#isTransient} calls transient.
     */
    public Retry retry() {
        return new Retry(maxAttempts, Duration.ofMillis(200), Duration.ofSeconds(20), "AWS_MAX_ATTEMPTS",
                S3CheckpointStore::isTransient, S3CheckpointStore::describe, RandomGenerator.getDefault());
    }

    /** The location this store serves, s3://BUCKET/PREFIX (no trailing slash). */
    public String location() {
        return ("s3://" + bucket + "/" + prefix).replaceAll("/$", "");
    }

    private static String first(Map<String, String> env, String... names) {
        for (String name : names) {
            String value = env.get(name);
            if (value != null && !value.isBlank()) {
                return value.trim();
            }
        }
        return null;
    }

    private static void checkEndpoint(String variable, String endpoint) {
        try {
            URI parsed = new URI(endpoint);
            if (("http".equals(parsed.getScheme()) || "https".equals(parsed.getScheme())) && parsed.getHost() != null) {
                return;
            }
        } catch (URISyntaxException e) {
            // reported below
        }
        throw new IllegalArgumentException(variable + " is \"" + endpoint + "\"; expected an http:// or https:// URL such as http://minio.minio:9000");
    }

    private static long number(Map<String, String> env, String variable, long fallback, long min, long max) {
        String value = first(env, variable);
        if (value == null) {
            return fallback;
        }
        Matcher m = QUANTITY.matcher(value);
        long parsed = -1;
        if (m.matches()) {
            int shift = m.group(2) == null ? 0 : switch (m.group(2)) {
                case "Ki" -> 10;
                case "Mi" -> 20;
                default -> 30;
            };
            parsed = Long.parseLong(m.group(1)) << shift;
        }
        if (parsed < min || parsed > max) {
            throw new IllegalArgumentException(variable + " is \"" + value + "\"; expected a whole number from " + min + " to " + max
                    + (max > 1 << 20 ? " (bytes, or with a Ki, Mi or Gi suffix)" : ""));
        }
        return parsed;
    }

    @Override
    public String toString() {
        return "S3Settings[" + location() + " at " + endpoint + ", region " + region + ", access key " + accessKey
                + ", " + maxAttempts + " attempts, parts of " + partSize + " bytes, " + parallelParts + " in parallel]";
    }
}
