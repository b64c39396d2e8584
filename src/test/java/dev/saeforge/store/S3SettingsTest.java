package dev.saeforge.store;

import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Endpoint, credentials and tuning come from the environment by the S3 ecosystem's conventions. */
class S3SettingsTest {
    static final Map<String, String> KEYS = Map.of("AWS_ACCESS_KEY_ID", "id", "AWS_SECRET_ACCESS_KEY", "secret");

    static Map<String, String> env(String... pairs) {
        Map<String, String> env = new HashMap<>(KEYS);
        for (int i = 0; i < pairs.length; i += 2) {
            env.put(pairs[i], pairs[i + 1]);
        }
        return env;
    }

    @Test
    void theLocationGivesBucketAndPrefix() {
        assertThat(S3Settings.from("s3://saeforge/runs/team-a/", env())).satisfies(s -> {
            assertThat(s.bucket()).isEqualTo("saeforge");
            assertThat(s.prefix()).isEqualTo("runs/team-a/");
            assertThat(s.location()).isEqualTo("s3://saeforge/runs/team-a");
        });
        assertThat(S3Settings.from("s3://saeforge", env()).prefix()).isEmpty();
        assertThat(S3Settings.from("s3://saeforge", env()).location()).isEqualTo("s3://saeforge");
    }

    @Test
    void withoutAnEndpointItIsAwsInTheRegion() {
        S3Settings aws = S3Settings.from("s3://ckpt/x", env("AWS_REGION", "eu-west-1"));

        assertThat(aws.endpoint()).isEqualTo("https://s3.eu-west-1.amazonaws.com");
        assertThat(aws.customEndpoint()).isFalse();
        assertThat(S3Settings.from("s3://ckpt/x", env()).region()).isEqualTo("us-east-1");
        assertThat(S3Settings.from("s3://ckpt/x", env("AWS_DEFAULT_REGION", "ap-south-1")).region()).isEqualTo("ap-south-1");
    }

    @Test
    void theS3SpecificEndpointWinsOverTheGeneralOne() {
        S3Settings settings = S3Settings.from("s3://ckpt/x", env("AWS_ENDPOINT_URL", "http://general:9000",
                "AWS_ENDPOINT_URL_S3", "http://minio.minio:9000"));

        assertThat(settings.endpoint()).isEqualTo("http://minio.minio:9000");
        assertThat(settings.customEndpoint()).isTrue();
        assertThat(S3Settings.from("s3://ckpt/x", env("AWS_ENDPOINT_URL", "http://general:9000")).endpoint()).isEqualTo("http://general:9000");
    }

    @Test
    void tuningHasDefaultsAndTakesSizesWithUnits() {
        S3Settings defaults = S3Settings.from("s3://ckpt", env());
        assertThat(defaults.maxAttempts()).as("no limit but time").isEqualTo(Integer.MAX_VALUE);
        assertThat(defaults.retryFor()).isEqualTo(Duration.ofSeconds(15));
        assertThat(defaults.partSize()).isEqualTo(16L << 20);
        assertThat(defaults.parallelParts()).isEqualTo(4);

        S3Settings tuned = S3Settings.from("s3://ckpt", env("AWS_MAX_ATTEMPTS", "3", "SAEFORGE_S3_PART_SIZE", "64Mi",
                "SAEFORGE_S3_PARALLEL_PARTS", "8", "SAEFORGE_S3_RETRY_FOR", "1h30m"));
        assertThat(tuned.maxAttempts()).isEqualTo(3);
        assertThat(tuned.retryFor()).isEqualTo(Duration.ofMinutes(90));
        assertThat(tuned.partSize()).isEqualTo(64L << 20);
        assertThat(tuned.parallelParts()).isEqualTo(8);
        assertThat(S3Settings.from("s3://ckpt", env("SAEFORGE_S3_PART_SIZE", "8388608")).partSize()).isEqualTo(8L << 20);
    }

    @Test
    void badValuesNameTheVariableAndWhatWasExpected() {
        assertThatThrownBy(() -> S3Settings.from("s3://ckpt", Map.of()))
                .hasMessage("s3://ckpt needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (in a cluster, from the Secret the chart references)");
        assertThatThrownBy(() -> S3Settings.from("s3://ckpt", Map.of("AWS_ACCESS_KEY_ID", "id")))
                .hasMessageEndingWith("; AWS_SECRET_ACCESS_KEY is missing");
        assertThatThrownBy(() -> S3Settings.from("s3://ckpt", env("AWS_ENDPOINT_URL", "minio:9000")))
                .hasMessage("AWS_ENDPOINT_URL is \"minio:9000\"; expected an http:// or https:// URL such as http://minio.minio:9000");
        assertThatThrownBy(() -> S3Settings.from("s3://ckpt", env("SAEFORGE_S3_PART_SIZE", "1Mi")))
                .hasMessageStartingWith("SAEFORGE_S3_PART_SIZE is \"1Mi\"; expected a whole number from 5242880 to");
        assertThatThrownBy(() -> S3Settings.from("s3://ckpt", env("AWS_MAX_ATTEMPTS", "many")))
                .hasMessage("AWS_MAX_ATTEMPTS is \"many\"; expected a whole number from 1 to 100");
        assertThatThrownBy(() -> S3Settings.from("s3://Bad_Bucket/runs", env()))
                .hasMessageContaining("names bucket \"Bad_Bucket\"; expected 3 to 63 lowercase letters");
        assertThatThrownBy(() -> S3Settings.from("s3://ckpt", env("SAEFORGE_S3_RETRY_FOR", "ten minutes")))
                .hasMessage("SAEFORGE_S3_RETRY_FOR is \"ten minutes\"; expected a duration: a number with h, m, s or ms, e.g. 90s, 10m or 1h30m");
    }

    @Test
    void bucketsAndKeysS3WouldRefuseAreRefusedBeforeAnyRequestNamingTheValue() {
        Map<String, String> bad = Map.of(
                "s3://my..bucket/runs", "names bucket \"my..bucket\", which has two periods in a row",
                "s3://my-.bucket/runs", "names bucket \"my-.bucket\", which has a period next to a hyphen",
                "s3://192.168.10.4/runs", "names bucket \"192.168.10.4\", which is an IP address",
                "s3://xn--bucket/runs", "names bucket \"xn--bucket\", which starts with xn--",
                "s3://ckpt/team//runs", "has key \"team//runs\", which has an empty part (//)",
                "s3://ckpt/team/../other", "has key \"team/../other\", which has a \".\" or \"..\" part",
                "s3://ckpt/./runs", "has key \"./runs\", which has a \".\" or \"..\" part",
                "s3://ckpt/runs\nx", "has key \"runs?x\", which holds a control character",
                "s3://ckpt/" + "k".repeat(1025), "which is longer than the 1024 bytes S3 allows");
        bad.forEach((uri, message) -> assertThatThrownBy(() -> S3Settings.from(uri, env()))
                .as(uri).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message));
        assertThat(S3Settings.from("s3://ckpt.eu-1/team-a/runs_2/", env()).prefix()).isEqualTo("team-a/runs_2/");
    }

    @Test
    void aOneShotCommandGivesUpOnAnUnreachableEndpointWithinSecondsNamingIt() {
        RetryTest.FakeClock clock = new RetryTest.FakeClock();

        assertThat(unreachable(env("AWS_ENDPOINT_URL", "http://minio.minio:9000"), clock))
                .hasMessageStartingWith("list s3://ckpt/runs/r failed ")
                .hasMessageContaining(" at http://minio.minio:9000, giving up (retry budget SAEFORGE_S3_RETRY_FOR=15s)");
        assertThat(clock.elapsed()).isLessThanOrEqualTo(S3Settings.DEFAULT_RETRY_FOR);
    }

    @Test
    void aTrainingRunsCheckpointsWaitOutMinutesOfOutage() {
        RetryTest.FakeClock clock = new RetryTest.FakeClock();

        assertThat(unreachable(env("SAEFORGE_S3_RETRY_FOR", "10m"), clock))
                .hasMessageContaining("giving up (retry budget SAEFORGE_S3_RETRY_FOR=10m)");
        assertThat(clock.elapsed()).isGreaterThan(Duration.ofMinutes(9));
    }

    /** How listing fails, on {@code clock}, when every request is refused. */
    private static TransientIOException unreachable(Map<String, String> env, RetryTest.FakeClock clock) {
        Retry retry = S3Settings.from("s3://ckpt/runs", env).retry().withClock(clock);
        return catchThrowableOfType(TransientIOException.class, () -> retry.run("list s3://ckpt/runs/r", () -> {
            throw new ConnectException("Connection refused");
        }));
    }

    @Test
    void theSecretNeverAppearsInItsDescription() {
        assertThat(S3Settings.from("s3://ckpt", env()).toString()).contains("access key id").doesNotContain("secret");
    }
}
