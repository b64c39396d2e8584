package dev.saeforge.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.cache.CacheFiles;
import dev.saeforge.cache.CacheLayout;
import dev.saeforge.cache.CacheManifests;
import dev.saeforge.cache.CachePlan;
import dev.saeforge.cache.CacheMismatchException;
import dev.saeforge.cache.CacheWriter;
import dev.saeforge.data.CachedActivations;
import dev.saeforge.data.LanguageModelData;
import dev.saeforge.data.TinyCorpus;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.S3MockServer;
import dev.saeforge.store.Safetensors;
import dev.saeforge.store.SaeLensCheckpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Training from an activation cache on a tiny Qwen3: a float32 cache holds the stream's rows in
 * the stream's order, so training from it gives the weights of training from the stream; a run
 * stopped and resumed on the cache ends where an uninterrupted one does; a cache built in two
 * indexes trains a good SAE; a cache of another run is refused before anything trains; the
 * evaluation comes from the cache's held-out rows and says what it left out.
 */
class CachedTrainingTest {
    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: NAME}
            spec:
              model: {name: saeforge/tiny-qwen3, uri: MODEL, dtype: float32}
              hook: blocks.1.hook_mlp_out
              dataset: {uri: CORPUS, contextSize: 16, storeBatchSizePrompts: 4, nBatchesInBuffer: 4}
              sae: {expansionFactor: 2, normalizeActivations: expected_average_only_in, nBatchesForNormEstimate: 3}
              training: {tokens: 2560, batchSizeTokens: 64, lr: 3.0e-3, seed: 9, evalBatches: 2, logEverySteps: 5}
              checkpoints: {count: 1}
            """;
    static final String FINAL = "final_2560";

    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("caches");

    @TempDir
    static Path dir;
    static Summary live;
    static Summary cached;

    @BeforeAll
    static void trainFromTheStreamAndFromItsCache() throws Exception {
        TinyQwen3.write(dir.resolve("model"), TinyQwen3.Options.defaults());
        Files.copy(TinyCorpus.materialize(dir.resolve("corpus-cache")), dir.resolve("corpus.jsonl"));
        live = train(run("run", RUN), dir.resolve("live"), null);
        cached = train(run("run", withCache(RUN, dir.resolve("cache").toString(), "auto")), dir.resolve("cached"), null);
    }

    static String withCache(String yaml, String uri, String mode) {
        return yaml.replace("  checkpoints:", "  activations: {cache: {uri: " + uri + ", mode: " + mode + ", dtype: float32, rowsPerShard: 100}}\n"
                + "  checkpoints:");
    }

    static TrainingRun run(String name, String yaml) throws Exception {
        return TrainingRuns.parse(yaml.replace("NAME", name).replace("MODEL", dir.resolve("model").toString())
                .replace("CORPUS", dir.resolve("corpus.jsonl").toString()), name).get(0);
    }

    static Summary train(TrainingRun run, Path store, Long stopAfter) throws IOException {
        try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
            return Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, new Training.Options(stopAfter, new StopRequest()),
                    new TrainingListener() {
                    });
        }
    }

    /** The largest |a - b| over every tensor of two checkpoints' SAE weights (which must have the same tensors). */
    static double maxDifference(Path a, Path b) throws IOException {
        try (Safetensors.Reader x = Safetensors.read(a.resolve(SaeLensCheckpoint.WEIGHTS));
             Safetensors.Reader y = Safetensors.read(b.resolve(SaeLensCheckpoint.WEIGHTS))) {
            assertThat(y.tensors().keySet()).isEqualTo(x.tensors().keySet());
            double max = 0;
            for (String name : x.tensors().keySet()) {
                float[] u = x.floats(name);
                float[] v = y.floats(name);
                for (int i = 0; i < u.length; i++) {
                    max = Math.max(max, Math.abs(u[i] - v[i]));
                }
            }
            return max;
        }
    }

    @Test
    void aFloat32CacheOfTheStreamsRowsTrainsTheStreamsWeights() throws IOException {
        assertThat(cached.outcome()).isEqualTo(Summary.Outcome.COMPLETED);
        assertThat(maxDifference(dir.resolve("live/run/" + FINAL), dir.resolve("cached/run/" + FINAL)))
                .as("max |live - cached| over every tensor of the SAE").isLessThanOrEqualTo(1e-6);
        assertThat(cached.explainedVariance()).isEqualTo(live.explainedVariance(), org.assertj.core.data.Offset.offset(0.05));
    }

    @Test
    void aRunStoppedAndResumedOnTheCacheEndsWithTheWeightsOfTheUninterruptedOne() throws Exception {
        TrainingRun run = run("run", withCache(RUN, dir.resolve("cache").toString(), "read"));
        Summary first = train(run, dir.resolve("interrupted"), 17L);
        assertThat(first.outcome()).isEqualTo(Summary.Outcome.STOPPED);
        assertThat(first.steps()).isEqualTo(17);
        Summary second = train(run, dir.resolve("interrupted"), null);
        assertThat(second.outcome()).isEqualTo(Summary.Outcome.COMPLETED);
        assertThat(maxDifference(dir.resolve("cached/run/" + FINAL), dir.resolve("interrupted/run/" + FINAL)))
                .as("max |uninterrupted - resumed|").isLessThanOrEqualTo(1e-6);
        assertThat(second.explainedVariance()).isEqualTo(cached.explainedVariance());
    }

    /**
     * With special tokens excluded (every window's BOS row is dropped) passes hold fewer rows than
     * the most, so a resume finds its pass from the rows' stored windows rather than from counts:
     * still the stream's weights, stopped and resumed or not. The writer counts the passes from the
     * tokens, so the cache still holds every row the stream reads.
     */
    @Test
    void withRowsDroppedAResumedRunFromTheCacheStillEndsWithTheStreamsWeights() throws Exception {
        String excluding = RUN.replace("nBatchesInBuffer: 4}", "nBatchesInBuffer: 4, excludeSpecialTokens: true}");
        train(run("run", excluding), dir.resolve("excluding-live"), null);
        CacheFiles files = CacheFiles.open(dir.resolve("excluding-cache").toString(), Map.of());
        TrainingRun writing = run("run", withCache(excluding, files.uri(), "write"));
        try (LanguageModelData data = LanguageModelData.open(writing.getSpec(), List.of(HookPoint.parse("blocks.1.hook_mlp_out")),
                Device.cpu(), ModelSources.fromEnvironment())) {
            new CacheWriter(writing.getSpec(), data, List.of(HookPoint.parse("blocks.1.hook_mlp_out")), files, CacheWriter.Listener.NONE)
                    .buildAll(1);
        }
        CacheLayout.Manifest manifest = CacheManifests.complete(files).manifest().orElseThrow();
        assertThat(manifest.trainingRows()).as("rows dropped").isLessThan(manifest.info().passes() * manifest.info().rowsPerPass());
        assertThat(manifest.trainingRows()).as("rows the stream reads").isGreaterThanOrEqualTo(CachePlan.of(writing.getSpec()).neededRows());
        TrainingRun fromCache = run("run", withCache(excluding, files.uri(), "read"));
        assertThat(train(fromCache, dir.resolve("excluding-cached"), 23L).outcome()).isEqualTo(Summary.Outcome.STOPPED);
        assertThat(train(fromCache, dir.resolve("excluding-cached"), null).outcome()).isEqualTo(Summary.Outcome.COMPLETED);
        assertThat(maxDifference(dir.resolve("excluding-live/run/" + FINAL), dir.resolve("excluding-cached/run/" + FINAL)))
                .isLessThanOrEqualTo(1e-6);
    }

    @Test
    void theSummaryAndCheckpointSayTheEvaluationCameFromTheCache() throws IOException {
        assertThat(cached.evaluationNote()).contains("CE and KL").contains("skipped");
        assertThat(cached.toJson()).containsKeys("explained_variance", "l0", "mse", "dead_features", "evaluation_note")
                .doesNotContainKeys("ce_loss_score", "kl_div_score");
        assertThat(live.toJson()).doesNotContainKey("evaluation_note");
        JsonNode metadata = new ObjectMapper().readTree(dir.resolve("cached/run/" + FINAL).resolve(SaeLensCheckpoint.CONFIG).toFile())
                .path("metadata");
        assertThat(metadata.path("use_cached_activations").asBoolean()).isTrue();
        assertThat(metadata.path("cached_activations_path").asText()).isEqualTo(dir.resolve("cache").toString());
    }

    @Test
    void aCacheWhoseKeyDiffersIsRefusedNamingTheFieldsBeforeAnythingTrains() throws Exception {
        String other = RUN.replace("contextSize: 16", "contextSize: 8").replace("seed: 9", "seed: 10");
        TrainingRun run = run("other", withCache(other, dir.resolve("cache").toString(), "read"));
        assertThatThrownBy(() -> train(run, dir.resolve("refused"), null))
                .isInstanceOf(CacheMismatchException.class)
                .hasMessageContaining("packing.contextSize: cache has 16, the spec has 8")
                .hasMessageContaining("packing.seed: cache has 9, the spec has 10")
                .hasMessageNotContaining("packing.storeBatchSizePrompts");
        assertThat(dir.resolve("refused")).satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyDirectory());
        TrainingRun auto = run("other", withCache(other, dir.resolve("cache").toString(), "auto"));
        assertThatThrownBy(() -> train(auto, dir.resolve("refused"), null)).isInstanceOf(CacheMismatchException.class)
                .hasMessageContaining("packing.contextSize");
    }

    @Test
    void readModeRefusesAnIncompleteCache() throws Exception {
        TrainingRun run = run("run", withCache(RUN, dir.resolve("no-cache").toString(), "read"));
        assertThatThrownBy(() -> train(run, dir.resolve("refused-incomplete"), null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mode is read").hasMessageContaining("not complete");
    }

    /**
     * A TopK SAE with k = 24 of 128 latents on the 64-wide hook, trained on 300 batches, reconstructs
     * the tiny model's MLP output well (EV 0.875 here; k = 16 stays at 0.84), from a cache whose two
     * indexes were built by separate writers, index 1 first (as two pods would, in any order).
     */
    @Test
    void aCacheBuiltInTwoIndexesTrainsAGoodSae() throws Exception {
        String yaml = RUN.replace("sae: {expansionFactor: 2, normalizeActivations: expected_average_only_in, nBatchesForNormEstimate: 3}",
                        "sae: {architecture: topk, k: 24, expansionFactor: 2}")
                .replace("tokens: 2560", "tokens: 19200");
        TrainingRun run = run("halves", withCache(yaml, dir.resolve("halves-cache").toString(), "read"));
        CacheFiles files = CacheFiles.open(dir.resolve("halves-cache").toString(), Map.of());
        for (int index : new int[]{1, 0}) {
            try (LanguageModelData data = LanguageModelData.open(run.getSpec(), List.of(HookPoint.parse("blocks.1.hook_mlp_out")),
                    Device.cpu(), ModelSources.fromEnvironment())) {
                new CacheWriter(run.getSpec(), data, List.of(HookPoint.parse("blocks.1.hook_mlp_out")), files, CacheWriter.Listener.NONE)
                        .build(index, 2);
            }
        }
        assertThat(CacheManifests.complete(files).manifest().orElseThrow().indexes()).hasSize(2);
        Summary summary = train(run, dir.resolve("halves"), null);
        assertThat(summary.outcome()).isEqualTo(Summary.Outcome.COMPLETED);
        assertThat(summary.explainedVariance()).isGreaterThanOrEqualTo(0.85);
    }

    /** One shard holds the whole cache here: it stays loaded from the first batch drawn (inside the trainer's scope) to the last. */
    @Test
    void aRunOfSeveralSaesReadsOneCacheForAllTheirHooks() throws Exception {
        String yaml = withCache(RUN.replace("""
                  hook: blocks.1.hook_mlp_out
                """, "").replace("  sae: {expansionFactor: 2, normalizeActivations: expected_average_only_in, nBatchesForNormEstimate: 3}\n", """
                  saes:
                    - {name: mlp, hook: blocks.1.hook_mlp_out, sae: {expansionFactor: 2}}
                    - {name: resid, hook: blocks.0.hook_resid_post, sae: {expansionFactor: 2}}
                """), dir.resolve("sweep-cache").toString(), "auto").replace("rowsPerShard: 100", "rowsPerShard: 65536");
        TrainingRun run = run("sweep", yaml);
        Summary summary = train(run, dir.resolve("sweep"), null);
        assertThat(summary.saes()).extracting(Summary.SaeSummary::hook).containsExactly("blocks.1.hook_mlp_out", "blocks.0.hook_resid_post");
        assertThat(summary.saes()).allSatisfy(sae -> assertThat(sae.evaluation().explainedVariance()).isNotNull());
        CacheLayout.Info info = CacheManifests.info(CacheFiles.open(dir.resolve("sweep-cache").toString(), Map.of())).orElseThrow();
        assertThat(info.hooks()).extracting(CacheLayout.HookWidth::hook)
                .containsExactlyInAnyOrder("blocks.1.hook_mlp_out", "blocks.0.hook_resid_post");
    }

    /** A run that needs more rows than the cache holds (5,120 of its 3,072) reads it again from the start, and says so. */
    @Test
    void aCacheReadPastItsEndStartsOverAndSaysSo() throws Exception {
        TrainingRun longer = run("run", withCache(RUN.replace("tokens: 2560", "tokens: 5120"), dir.resolve("cache").toString(), "read"));
        CacheFiles files = CacheFiles.open(dir.resolve("cache").toString(), Map.of());
        try (CachedActivations source = CachedActivations.open(files, longer.getSpec(), List.of("blocks.1.hook_mlp_out"), Device.cpu());
             ai.djl.ndarray.NDManager manager = ai.djl.ndarray.NDManager.newBaseManager(Device.cpu())) {
            assertThat(source.describe()).doesNotContain("read through");
            for (int step = 0; step < 5120 / 64; step++) {
                try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
                    source.next(manager, 64);
                }
            }
            assertThat(source.describe()).contains("read through 2 times: the run needs more rows than it holds");
            assertThat(source.position()).containsEntry("cache_wraps", 1L).containsKeys("cache_pass", "cache_shard", "cache_row");
        }
    }

    /** The same cache in the in-test S3 server: read from there, it trains the same weights as read from the directory. */
    @Test
    void aCacheInS3TrainsTheSameWeights() throws Exception {
        TrainingRun run = run("run", withCache(RUN, "s3://caches/tiny", "read"));
        CacheFiles local = CacheFiles.open(dir.resolve("cache").toString(), Map.of());
        CacheFiles remote = CacheFiles.open("s3://caches/tiny", S3.env());
        for (String path : local.list("").keySet()) {
            remote.put(path, local.get(path).orElseThrow());
        }
        try (CheckpointStore checkpoints = CheckpointStore.open(dir.resolve("from-s3").toString());
             CachedActivations source = CachedActivations.open(remote, run.getSpec(), List.of("blocks.1.hook_mlp_out"), Device.cpu())) {
            assertThat(source.describe()).startsWith("activation cache s3://caches/tiny (");
            Summary summary = Training.run(RunIdentity.of(run), run.getSpec(), source, checkpoints, Training.Options.defaults(),
                    new TrainingListener() {
                    });
            assertThat(summary.outcome()).isEqualTo(Summary.Outcome.COMPLETED);
        }
        assertThat(maxDifference(dir.resolve("cached/run/" + FINAL), dir.resolve("from-s3/run/" + FINAL))).isZero();
    }
}
