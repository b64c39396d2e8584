package dev.saeforge.cli;

import dev.saeforge.api.Problem;
import dev.saeforge.api.TrainingRuns;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** validate sizes every checkpoint tensor before a run starts, and refuses one no file can hold. */
class CheckpointSizesTest {
    private static CheckpointSizes sizes(String yaml) throws Exception {
        return CheckpointSizes.of(TrainingRuns.parse(yaml, "run.yaml").get(0));
    }

    @Test
    void aQwen3EightBSaeOf131072LatentsHasAW_encOfTwoGibibytesAndIsAccepted() throws Exception {
        String run = MemoryCheckTest.example("qwen3-8b-layer28.yaml").replace("dSae: 16384", "dSae: 131072");

        CheckpointSizes sizes = sizes(run);

        assertThat(sizes.problems()).isEmpty();
        assertThat(sizes.lines()).containsExactly("checkpoint of SAE qwen3-8b-layer28-mlp: 16 tensors, the largest W_enc [4096, 131072] float32, 2.0GiB");
    }

    @Test
    void aTensorNoFileCanHoldIsRefusedNamingTheField() throws Exception {
        // 2^31 - 1 squared values of 4 bytes each are more than 2^63 bytes.
        String run = MemoryCheckTest.example("toy-superposition.yaml")
                .replace("dIn: 32", "dIn: 2147483647").replace("dSae: 128", "dSae: 2147483647");

        CheckpointSizes sizes = sizes(run);

        assertThat(sizes.problems()).extracting(Problem::path).containsOnly("spec.sae.dSae");
        assertThat(sizes.problems().get(0).message()).isEqualTo("the checkpoint tensor W_enc [2147483647, 2147483647] of float32 would take"
                + " more than 9223372036854775807 bytes, more than a safetensors file can hold; train a narrower SAE");
        assertThat(sizes.lines()).singleElement().asString().endsWith("the largest W_enc [2147483647, 2147483647] float32, too large for any file");
    }
}
