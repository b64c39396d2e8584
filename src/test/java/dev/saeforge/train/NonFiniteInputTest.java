package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.data.SyntheticSuperposition;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Non-finite activations stop training, name the step and the source, and keep the last good state. */
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
                    () -> Training.run(run, source, store, Training.Options.defaults(), new Training.Listener() {
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

    /** A source whose batch {@code bad} holds one NaN. */
    record Poisoned(SyntheticSuperposition inner, long bad) implements ActivationSource {
        @Override
        public int dIn() {
            return inner.dIn();
        }

        @Override
        public NDArray next(NDManager manager, int rows) {
            long batch = ((Number) inner.position().get("batches")).longValue();
            NDArray x = inner.next(manager, rows);
            if (batch == bad) {
                x.set(new ai.djl.ndarray.index.NDIndex("3, 2"), Float.NaN);
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
