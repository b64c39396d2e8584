package dev.saeforge.store;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
        assertThat(defaults.maxAttempts()).isEqualTo(8);
        assertThat(defaults.partSize()).isEqualTo(16L << 20);
        assertThat(defaults.parallelParts()).isEqualTo(4);

        S3Settings tuned = S3Settings.from("s3://ckpt", env("AWS_MAX_ATTEMPTS", "3", "SAEFORGE_S3_PART_SIZE", "64Mi",
                "SAEFORGE_S3_PARALLEL_PARTS", "8"));
        assertThat(tuned.maxAttempts()).isEqualTo(3);
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
    }

    @Test
    void theSecretNeverAppearsInItsDescription() {
        assertThat(S3Settings.from("s3://ckpt", env()).toString()).contains("access key id").doesNotContain("secret");
    }
}
