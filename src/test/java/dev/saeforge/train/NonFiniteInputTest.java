package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.data.DatasetFixtures;
import dev.saeforge.data.SyntheticSuperposition;
import dev.saeforge.lm.Qwen3Weights;
import dev.saeforge.lm.TinyCheckpoints;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.store.Safetensors;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Non-finite activations stop training, name where they came from (the step and the source, or
 * the layer, hook and precision of the language model's forward) and keep the last good state.
 */
class NonFiniteInputTest {
    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: poisoned}
            spec:
              synthetic: {features: 16, dIn: 8}
              sae: {dSae: 24}
              training: {tokens: 25600, batchSizeTokens: 256}
              checkpoints: {count: 0}
            """;

    @TempDir
    Path root;

    @Test
    void aNanInTheSixthBatchStopsAtStepFiveWithTheLastGoodStateCheckpointed() throws Exception {
        TrainingRun run = TrainingRuns.parse(RUN, "poisoned").get(0);
        try (CheckpointStore store = CheckpointStore.open(root.toString());
             ActivationSource source = new Poisoned(new SyntheticSuperposition(run.getSpec().synthetic, 42), 5)) {

            Training.NonFiniteError e = catchThrowableOfType(Training.NonFiniteError.class,
                    () -> Training.run(RunIdentity.of(run), run.getSpec(), source, store, Training.Options.defaults(),
                            new TrainingListener() {
                            }));

            assertThat(e.getMessage()).startsWith("step 5: the activations hold 1 NaN and 0 infinite values from poisoned test source");
            assertThat(e.getMessage()).contains("the last good state is checkpoint " + root.toUri().toString().replaceAll("/$", "") + "/poisoned/1280");
            CheckpointRef kept = store.latest("poisoned").orElseThrow();
            assertThat(kept.name()).isEqualTo("1280");
            assertThat(kept.step()).hasValue(5);
            assertThat(store.verify("poisoned", "1280")).isEmpty();
            try (Stream<Path> entries = Files.list(root.resolve("poisoned"))) {
                assertThat(entries.map(p -> p.getFileName().toString())).as("nothing half-written beside it").containsExactly("1280");
            }
        }
    }

    @Test
    void aFloat16OverflowInTheLanguageModelStopsTheRunNamingTheLayerTheHookAndThePrecision() throws Exception {
        Path model = root.resolve("model");
        TinyQwen3.write(model, TinyQwen3.Options.defaults().withDtype(Safetensors.Dtype.F32));
        // Layer 0's MLP output reaches ~1e6, beyond float16's largest finite value (65504).
        TinyCheckpoints.scaleTensor(model.resolve("model.safetensors"), Qwen3Weights.layerKey(0, "mlp.down_proj"), 1e5f);
        Path corpus = DatasetFixtures.jsonl(root.resolve("corpus.jsonl"), DatasetFixtures.documents("Sparse autoencoders", 40));
        TrainingRun run = TrainingRuns.parse("""
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: overflow}
                spec:
                  model: {name: tiny, uri: MODEL, dtype: float16}
                  hook: blocks.1.hook_resid_post
                  dataset: {uri: CORPUS, contextSize: 12, storeBatchSizePrompts: 3, nBatchesInBuffer: 4}
                  sae: {dSae: 128}
                  training: {tokens: 2400, batchSizeTokens: 12, evalBatches: 1}
                  checkpoints: {count: 0, uri: STORE}
                """.replace("MODEL", model.toString()).replace("CORPUS", corpus.toString())
                .replace("STORE", root.resolve("runs").toString()), "overflow").get(0);
        try (CheckpointStore store = CheckpointStore.open(root.resolve("runs").toString())) {
            Training.NonFiniteError e = catchThrowableOfType(Training.NonFiniteError.class,
                    () -> Training.run(RunIdentity.of(run), run.getSpec(), store, Training.Options.defaults(), new TrainingListener() {
                    }));

            assertThat(e.getMessage()).isEqualTo("the float16 forward pass produced non-finite values (inf or NaN) in layer 0 (blocks.0) "
                    + "on its way to blocks.1.hook_resid_post; float16 overflows on Qwen3's large activations: compute in bfloat16 or "
                    + "float32 instead (spec.model.dtype, or --dtype); no step had completed, so no checkpoint was written");
            assertThat(store.latest("overflow")).isEmpty();
        }
    }

    /** A source whose batch {@code bad} holds one NaN. */
    record Poisoned(SyntheticSuperposition inner, long bad) implements ActivationSource {
        @Override
        public List<String> hooks() {
            return inner.hooks();
        }

        @Override
        public int dIn(String hook) {
            return inner.dIn(hook);
        }

        @Override
        public NDList next(NDManager manager, int rows) {
            long batch = ((Number) inner.position().get("batches")).longValue();
            NDList x = inner.next(manager, rows);
            if (batch == bad) {
                x.get(0).set(new ai.djl.ndarray.index.NDIndex("3, 2"), Float.NaN);
            }
            return x;
        }

        @Override
        public Map<String, Object> position() {
            return inner.position();
        }

        @Override
        public void seek(Map<String, Object> position) {
            inner.seek(position);
        }

        @Override
        public ActivationSource heldOut() {
            return inner.heldOut();
        }

        @Override
        public String describe() {
            return "poisoned test source";
        }
    }
}
