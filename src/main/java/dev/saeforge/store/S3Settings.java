package dev.saeforge.store;

import dev.saeforge.api.DurationText;
import io.minio.MinioAsyncClient;
import io.minio.MinioClient;
import io.minio.credentials.StaticProvider;
import okhttp3.OkHttpClient;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
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
 * <li>{@code AWS_MAX_ATTEMPTS}: when set, the most tries per request (1 to 100).</li>
 * </ul>
 * And three of SAE Forge's own: {@code SAEFORGE_S3_RETRY_FOR} (how long a failing request is
 * retried, with exponential backoff, before giving up: a duration, default 15s, so that one-shot
 * commands give up on an unreachable endpoint within seconds; {@code train} sets it from
 * spec.checkpoints.retryFor, minutes, for its checkpoints), {@code SAEFORGE_S3_PART_SIZE}
 * (multipart part size and the size above which files go multipart; bytes or Ki/Mi/Gi, default
 * 16Mi, at least 5Mi) and {@code SAEFORGE_S3_PARALLEL_PARTS} (parts in flight at once, default 4).
 * Bucket and key prefix are checked by S3's naming rules before any request.
 */
public record S3Settings(String bucket, String prefix, String endpoint, boolean customEndpoint, String region,
                         String accessKey, String secretKey, String sessionToken,
                         int maxAttempts, Duration retryFor, long partSize, int parallelParts) {
    static final String LOCATION_FORMS = "s3://BUCKET/PREFIX, file://PATH or a local path";
    public static final long MIN_PART_SIZE = 5L << 20;
    /** S3 allows 5 GiB parts; a part is held in one Java array, so 1 GiB. */
    public static final long MAX_PART_SIZE = 1L << 30;
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern IP_ADDRESS = Pattern.compile("\\d+\\.\\d+\\.\\d+\\.\\d+");
    /** The longest key S3 takes, in UTF-8 bytes. */
    private static final int MAX_KEY_BYTES = 1024;
    public static final String RETRY_FOR_VARIABLE = "SAEFORGE_S3_RETRY_FOR";
    /** What one-shot commands wait for an unreachable or failing server. */
    public static final Duration DEFAULT_RETRY_FOR = Duration.ofSeconds(15);
    private static final Pattern QUANTITY = Pattern.compile("(\\d{1,12})(Ki|Mi|Gi)?B?");

    /** Reads the settings for {@code uri} (s3://BUCKET/PREFIX) from {@code env}; bad values name the variable. */
    public static S3Settings from(String uri, Map<String, String> env) {
        if (!uri.startsWith("s3://")) {
            throw new IllegalArgumentException("\"" + uri + "\" is not an s3:// location; expected " + LOCATION_FORMS);
        }
        String path = uri.substring("s3://".length());
        int slash = path.indexOf('/');
        String bucket = slash < 0 ? path : path.substring(0, slash);
        checkBucket(uri, bucket);
        String prefix = slash < 0 ? "" : path.substring(slash + 1).replaceAll("^/+|/+$", "");
        checkKey(uri, prefix);
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
                (int) number(env, "AWS_MAX_ATTEMPTS", Integer.MAX_VALUE, 1, 100),
                first(env, RETRY_FOR_VARIABLE) == null ? DEFAULT_RETRY_FOR
                        : DurationText.parse(RETRY_FOR_VARIABLE, first(env, RETRY_FOR_VARIABLE)),
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
     * How every S3 call is retried: for up to SAEFORGE_S3_RETRY_FOR (and AWS_MAX_ATTEMPTS tries,
     * when set), exponential backoff with jitter from 200 ms to 20 s, on the failures
     * {@link Failures#isRetryable} calls retryable. Giving up names the endpoint.
     */
    Retry retry() {
        Retry.Budget budget = new Retry.Budget(maxAttempts, "AWS_MAX_ATTEMPTS", retryFor,
                RETRY_FOR_VARIABLE + "=" + DurationText.format(retryFor));
        return new Retry(budget, Duration.ofMillis(200), Duration.ofSeconds(20), endpoint, Failures::isRetryable,
                S3CheckpointStore::describe, RandomGenerator.getDefault(), Retry.Clock.SYSTEM);
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

    /** S3's bucket naming rules, so that a bad name is refused before any request. */
    private static void checkBucket(String uri, String bucket) {
        if (!BUCKET.matcher(bucket).matches()) {
            throw new IllegalArgumentException("\"" + uri + "\" names bucket \"" + bucket + "\"; expected 3 to 63 lowercase"
                    + " letters, digits, '.' or '-' (s3://BUCKET/PREFIX)");
        }
        String why = bucket.contains("..") ? "has two periods in a row"
                : bucket.contains(".-") || bucket.contains("-.") ? "has a period next to a hyphen"
                : IP_ADDRESS.matcher(bucket).matches() ? "is an IP address"
                : bucket.startsWith("xn--") ? "starts with xn--, which S3 reserves"
                : bucket.endsWith("-s3alias") || bucket.endsWith("--ol-s3") ? "ends with a suffix S3 reserves for access points" : null;
        if (why != null) {
            throw new IllegalArgumentException("\"" + uri + "\" names bucket \"" + bucket + "\", which " + why
                    + "; expected an S3 bucket name (s3://BUCKET/PREFIX)");
        }
    }

    /**
     * Refuses, before any request, a key or key prefix of {@code uri} (glob characters allowed)
     * that S3 would refuse or that does not name what it seems to: empty, "." or ".." parts.
     */
    public static void checkKey(String uri, String key) {
        if (key.isEmpty()) {
            return;
        }
        String why = key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES
                ? "is longer than the " + MAX_KEY_BYTES + " bytes S3 allows"
                : key.chars().anyMatch(Character::isISOControl) ? "holds a control character"
                : key.contains("//") ? "has an empty part (//)"
                : Arrays.stream(key.split("/")).anyMatch(p -> p.equals(".") || p.equals("..")) ? "has a \".\" or \"..\" part"
                : null;
        if (why != null) {
            throw new IllegalArgumentException("\"" + uri.replaceAll("\\p{Cntrl}", "?") + "\" has key \""
                    + key.replaceAll("\\p{Cntrl}", "?") + "\", which " + why + "; expected s3://BUCKET/KEY with KEY made of names separated by single slashes");
        }
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
                + ", retrying for " + DurationText.format(retryFor)
                + (maxAttempts == Integer.MAX_VALUE ? "" : " or " + maxAttempts + " attempts")
                + ", parts of " + partSize + " bytes, " + parallelParts + " in parallel]";
    }
}
