package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.lm.ModelShapes;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.groups.Tuple.tuple;

/** The GPU memory a run is estimated to need, part by part. */
class MemoryEstimateTest {
    static final double GIB = 1L << 30;

    static String seedExample() throws IOException {
        return Files.readString(Path.of("examples/qwen3-8b-layer28.yaml"));
    }

    static MemoryEstimate estimate(String yaml) throws InvalidSpecException {
        TrainingRun run = TrainingRuns.parse(yaml, "run.yaml").get(0);
        return MemoryEstimate.of(run.getSpec(), SaeDefinition.all(run), ModelShapes.of(run.getSpec().model.uri));
    }

    static <T extends MemoryEstimate.Part> List<T> parts(MemoryEstimate estimate, Class<T> type) {
        return estimate.parts().stream().filter(type::isInstance).map(type::cast).toList();
    }

    static double gib(long bytes) {
        return bytes / GIB;
    }

    @Test
    void theSeedStreamWithA64kSaeHasTheFiguresTheClassCommentGives() throws Exception {
        MemoryEstimate estimate = estimate(seedExample().replace("dSae: 16384", "dSae: 65536"));

        assertThat(estimate.parts()).extracting(part -> part.getClass().getSimpleName()).containsExactly(
                "ModelWeights", "ForwardPass", "MixingBuffer", "SaeState", "SaeStep", "SaeEvaluation", "CudaRuntime");
        assertThat(estimate.parts()).extracting(part -> Math.round(gib(part.training()) * 10) / 10.0)
                .containsExactly(11.6, 0.5, 5.0, 6.0, 6.3, 0.0, 1.5);
        assertThat(estimate.parts()).extracting(part -> Math.round(gib(part.evaluation()) * 10) / 10.0)
                .containsExactly(15.3, 1.0, 5.0, 6.0, 0.0, 3.4, 1.5);
        assertThat(gib(estimate.training())).isCloseTo(30.8, within(0.05));
        assertThat(gib(estimate.evaluation())).isCloseTo(32.2, within(0.05));
        assertThat(estimate.peak()).as("evaluating, now that Adam's fused update needs no scratch").isEqualTo(estimate.evaluation());
        assertThat(estimate.leftOut()).isEmpty();
    }

    @Test
    void theModelCountsTheLayersToTheDeepestHookInItsDtypeAndAllOfItWhileEvaluating() throws Exception {
        MemoryEstimate bf16 = estimate(seedExample());
        MemoryEstimate f32 = estimate(seedExample().replace("dtype: bfloat16", "dtype: float32"));
        MemoryEstimate checkpointDtype = estimate(seedExample().replace("    dtype: bfloat16", ""));

        MemoryEstimate.ModelWeights model = parts(bf16, MemoryEstimate.ModelWeights.class).get(0);
        assertThat(model.training()).as("6.2B parameters to blocks.28").isEqualTo(2 * 6_217_776_384L);
        assertThat(model.evaluation()).as("all 8.2B").isEqualTo(2 * 8_190_735_360L);
        assertThat(parts(f32, MemoryEstimate.ModelWeights.class).get(0).training()).isEqualTo(2 * model.training());
        assertThat(parts(checkpointDtype, MemoryEstimate.ModelWeights.class).get(0).training()).as("Qwen3's torch_dtype")
                .isEqualTo(model.training());
    }

    @Test
    void saesShareTheModelAndAHooksBufferAndStepOneAtATime() throws Exception {
        String three = seedExample().replace("""
                  hook: blocks.28.hook_mlp_out
                """, "").replace("""
                  sae:
                    architecture: jumprelu
                    dIn: 4096
                    dSae: 16384               # SAELens v5 default expansion_factor 4 x d_in 4096
                """, """
                  saes:
                    - {name: small, hook: blocks.28.hook_mlp_out, sae: {dSae: 16384}}
                    - {name: wide, hook: blocks.28.hook_mlp_out, sae: {dSae: 65536}}
                    - {name: post, hook: blocks.20.mlp.hook_post, sae: {expansionFactor: 4}}
                """);

        MemoryEstimate estimate = estimate(three);

        assertThat(parts(estimate, MemoryEstimate.ModelWeights.class)).singleElement()
                .extracting(MemoryEstimate.ModelWeights::deepestLayer).isEqualTo(28);
        assertThat(parts(estimate, MemoryEstimate.MixingBuffer.class)).extracting(MemoryEstimate.MixingBuffer::hook, MemoryEstimate.MixingBuffer::width)
                .as("one per hook, as wide as the hook").containsExactly(
                        tuple("blocks.28.hook_mlp_out", 4096),
                        tuple("blocks.20.mlp.hook_post", 12288));
        assertThat(parts(estimate, MemoryEstimate.SaeState.class)).extracting(MemoryEstimate.SaeState::name, MemoryEstimate.SaeState::dSae)
                .containsExactly(tuple("small", 16384), tuple("wide", 65536),
                        tuple("post", 49152));
        assertThat(parts(estimate, MemoryEstimate.SaeStep.class)).as("the largest step").singleElement()
                .extracting(MemoryEstimate.SaeStep::name).isEqualTo("post");
        assertThat(parts(estimate, MemoryEstimate.SaeEvaluation.class)).as("the largest evaluation").singleElement()
                .extracting(MemoryEstimate.SaeEvaluation::name).isEqualTo("post");
    }

    @Test
    void aSweepAddsAnSaeStatePerPointAndNoMoreModelOrBuffers() throws Exception {
        MemoryEstimate seed = estimate(seedExample());
        MemoryEstimate sweep = estimate(Files.readString(Path.of("examples/qwen3-8b-layer28-sweep.yaml")));

        long state = parts(seed, MemoryEstimate.SaeState.class).get(0).training();
        assertThat(parts(sweep, MemoryEstimate.SaeState.class)).hasSize(4);
        assertThat(sweep.training() - seed.training()).isEqualTo(3 * state);
        assertThat(gib(state)).as("weights and Adam of a 16k SAE").isCloseTo(1.5, within(0.01));
    }

    @Test
    void withoutTheModelsShapeTheModelIsLeftOutAndSaesUseTheirDIn() throws Exception {
        String elsewhere = seedExample().replace("uri: hf://Qwen/Qwen3-8B", "uri: s3://models/qwen3-8b");
        String noWidth = elsewhere.replace("    dIn: 4096\n", "").replace("dSae: 16384", "expansionFactor: 4");

        MemoryEstimate estimate = estimate(elsewhere);
        MemoryEstimate blind = estimate(noWidth);

        assertThat(estimate.parts()).extracting(part -> part.getClass().getSimpleName())
                .containsExactly("MixingBuffer", "SaeState", "SaeStep", "CudaRuntime");
        assertThat(estimate.leftOut()).containsExactly("the language model: s3://models/qwen3-8b is not read before the run; "
                + "its config.json is read when the run starts");
        assertThat(blind.parts()).extracting(part -> part.getClass().getSimpleName()).containsExactly("CudaRuntime");
        assertThat(blind.leftOut()).contains("SAE qwen3-8b-layer28-mlp: the width of blocks.28.hook_mlp_out (the model's shape "
                + "is unknown and spec.sae.dIn is not set)");
    }

    @Test
    void adamsFusedUpdateLeavesNoArrayBehindAsTheStepCounts() {
        try (NDManager manager = Torch.engine().newBaseManager()) {
            Map<String, NDArray> parameters = Map.of("W", manager.ones(new Shape(5, 3)), "b", manager.ones(new Shape(3)));
            Adam adam = new Adam(parameters, 0.9, 0.999, 1e-8, manager);
            Map<String, NDArray> gradients = Map.of("W", manager.ones(new Shape(5, 3)), "b", manager.ones(new Shape(3)));
            Set<NDArray> before = Collections.newSetFromMap(new IdentityHashMap<>());
            before.addAll(manager.getManagedArrays());

            adam.step(parameters, gradients, 1e-3);

            assertThat(manager.getManagedArrays()).filteredOn(a -> !before.contains(a)).isEmpty();
        }
    }

    @Test
    void normalisedActivationsCostTheStepAScaledCopyOfTheBatch() throws Exception {
        MemoryEstimate plain = estimate(seedExample());
        MemoryEstimate normalised = estimate(seedExample().replace("    dSae: 16384", "    dSae: 16384\n    normalizeActivations: expected_average_only_in"));

        assertThat(parts(normalised, MemoryEstimate.SaeStep.class).get(0).training() - parts(plain, MemoryEstimate.SaeStep.class).get(0).training())
                .isEqualTo(4096L * 4096 * Float.BYTES);
    }
}
