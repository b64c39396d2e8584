package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Percentage.withPercentage;

/** bench train --from-cache on the tiny example: training from a cache against the stream in one run, and the cache's size. */
@QuarkusMainTest
class BenchTrainCommandTest {
    @Test
    void fromCacheReportsBothRatesTheirRatioAndTheCachesBytesPerToken(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult result = launcher.launch("bench", "train", "--from-cache", "--steps", "4", "--rounds", "1", "-o", "json");

        assertThat(result.exitCode()).as(result.getErrorOutput()).isZero();
        JsonNode json = new ObjectMapper().readTree(result.getOutput());
        assertThat(json.get("from_cache").asBoolean()).isTrue();
        assertThat(json.get("cache_tokens_per_second").asDouble()).isPositive();
        assertThat(json.get("stream_tokens_per_second").asDouble()).isPositive();
        assertThat(json.get("ratio").asDouble()).isCloseTo(json.get("cache_tokens_per_second").asDouble()
                / json.get("stream_tokens_per_second").asDouble(), withPercentage(1e-9));
        assertThat(json.get("cache_build_seconds").asDouble()).isPositive();
        assertThat(json.get("cache_build_tokens").asLong()).isPositive();
        // The tiny example's model is float32 and its hook 64 wide: 256 bytes per token, stored with a token id and a position (24 more).
        assertThat(json.get("cache_dtype").asText()).isEqualTo("float32");
        assertThat(json.get("bytes_per_token_by_hook").get("blocks.1.hook_mlp_out").asInt()).isEqualTo(256);
        assertThat(json.get("bytes_per_token").asInt()).isEqualTo(256);
        assertThat(json.get("stored_bytes_per_token").asDouble()).isGreaterThan(256 + 24);
    }
}
