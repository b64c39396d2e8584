package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.cache.CacheWriterTest;
import dev.saeforge.data.DatasetFixtures;
import dev.saeforge.lm.TinyQwen3;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * saeforge train with spec.activations.cache: a run trained from a cache says which evaluation it
 * skipped; a run whose key differs from the cache's is refused (exit 2) naming the fields, before
 * anything is trained.
 */
@QuarkusMainTest
class TrainFromCacheCommandTest {
    @TempDir
    Path root;

    /** The tiny cached run of the cache tests ({@link CacheWriterTest#specYaml}) named {@code name}, its cache's fields {@code cache}. */
    Path spec(String name, String cache) throws IOException {
        Path model = root.resolve("model");
        Path corpus = root.resolve("corpus.jsonl");
        if (!Files.exists(model)) {
            TinyQwen3.write(model, TinyQwen3.Options.defaults());
            DatasetFixtures.jsonl(corpus, DatasetFixtures.documents("the cache holds", 120));
        }
        return Files.writeString(root.resolve(name + ".yaml"), CacheWriterTest.specYaml(name, model, corpus, cache)
                + "  checkpoints: {uri: " + root.resolve("runs") + "}\n");
    }

    @Test
    void aRunBuildsItsCacheShowingProgressThenSaysItSkippedCeAndKlAndAnotherRunsCacheIsRefused(QuarkusMainLauncher launcher) throws IOException {
        String cache = root.resolve("cache").toString();
        Path file = spec("cached", "uri: " + cache + ", mode: auto, rowsPerShard: 100");
        Path summary = root.resolve("summary.json");

        LaunchResult trained = launcher.launch("train", file.toString(), "--summary", summary.toString());
        assertThat(trained.exitCode()).as(trained.getErrorOutput()).isZero();
        assertThat(trained.getErrorOutput()).as("the cache build's progress").contains("saeforge: writing index 0 of 1:")
                .contains("saeforge: index 0 of 1 complete:");
        assertThat(trained.getOutput()).contains("CE and KL need the language model");
        JsonNode json = new ObjectMapper().readTree(summary.toFile());
        assertThat(json.path("evaluation_note").asText()).contains("skipped");
        assertThat(json.has("explained_variance")).isTrue();

        Path other = Files.writeString(root.resolve("other.yaml"), Files.readString(spec("other", "uri: " + cache
                + ", mode: read, rowsPerShard: 100")).replace("seed: 5", "seed: 6"));
        LaunchResult refused = launcher.launch("train", other.toString());
        assertThat(refused.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(refused.getErrorOutput()).contains("packing.seed: cache has 5, the spec has 6");
        assertThat(root.resolve("runs/other")).doesNotExist();
    }
}
