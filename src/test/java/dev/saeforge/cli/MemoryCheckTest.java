package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.Problem;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** validate and submit check a run's SAEs against its model's shape and its estimated GPU memory against its GPU. */
class MemoryCheckTest {
    static String example(String file) throws IOException {
        return Files.readString(Path.of("examples", file));
    }

    static MemoryCheck check(String yaml) throws Exception {
        return MemoryCheck.of(TrainingRuns.parse(yaml, "run.yaml").get(0));
    }

    /** The seed run's stream training {@code count} SAEs of {@code latents} latents on its hook, on {@code gpu}. */
    static String saes(int count, int latents, String gpu) throws IOException {
        String entries = IntStream.range(0, count)
                .mapToObj(i -> "    - {name: sae-" + i + ", hook: blocks.28.hook_mlp_out, sae: {dSae: " + latents + "}}")
                .collect(Collectors.joining("\n", "  saes:\n", "\n"));
        return example("qwen3-8b-layer28.yaml").replace("  hook: blocks.28.hook_mlp_out\n", "")
                .replace("""
                          sae:
                            architecture: jumprelu
                            dIn: 4096
                            dSae: 16384               # SAELens v5 default expansion_factor 4 x d_in 4096
                        """, entries)
                .replace("gpuProduct: NVIDIA-A100-SXM4-80GB", "gpuProduct: " + gpu);
    }

    static String printed(MemoryCheck check) {
        StringWriter text = new StringWriter();
        try (PrintWriter out = new PrintWriter(text)) {
            check.print(out);
        }
        return text.toString();
    }

    @Test
    void theSeedExampleFitsAnA100With80GB() throws Exception {
        MemoryCheck check = check(example("qwen3-8b-layer28.yaml"));

        assertThat(check.problems()).isEmpty();
        assertThat(check.verdict()).isEqualTo(MemoryCheck.Verdict.fits);
        assertThat(check.gpu().bytes()).isEqualTo(81_920L << 20);
        assertThat(check.summary()).matches("\\d+\\.\\dGiB at peak \\(evaluating\\): fits an NVIDIA-A100-SXM4-80GB \\(80\\.0GiB\\)");
        assertThat(printed(check)).contains("GPU MEMORY (ESTIMATE)", "Qwen/Qwen3-8B in bfloat16, blocks 0-28", "mixing buffer of blocks.28.hook_mlp_out",
                "SAE qwen3-8b-layer28-mlp, 4096 x 16384", "total");
    }

    @Test
    void theSweepExampleFitsAnA100With80GB() throws Exception {
        MemoryCheck check = check(example("qwen3-8b-layer28-sweep.yaml"));

        assertThat(check.problems()).isEmpty();
        assertThat(check.estimate().parts()).filteredOn(part -> part instanceof dev.saeforge.train.MemoryEstimate.SaeState)
                .extracting(dev.saeforge.train.MemoryEstimate.Part::what).containsExactly(
                        "SAE mlp-out-l0coefficient-0.1, 4096 x 16384: weights and Adam moments",
                        "SAE mlp-out-l0coefficient-0.3, 4096 x 16384: weights and Adam moments",
                        "SAE mlp-out-l0coefficient-1, 4096 x 16384: weights and Adam moments",
                        "SAE mlp-out-l0coefficient-3, 4096 x 16384: weights and Adam moments");
    }

    @Test
    void eightWideSaesAreRefusedOnAnA100With40GBNamingTheFieldAndTheFigures() throws Exception {
        MemoryCheck check = check(saes(8, 262_144, "NVIDIA-A100-SXM4-40GB"));

        assertThat(check.verdict()).isEqualTo(MemoryCheck.Verdict.exceeds);
        assertThat(check.problems()).extracting(Problem::path).containsExactly("spec.resources.gpuProduct");
        assertThat(check.problems().get(0).message()).isEqualTo("the run needs an estimated " + Printing.bytes(check.estimate().peak())
                + " of GPU memory (while training), more than the 40.0GiB of an NVIDIA-A100-SXM4-40GB; ask for a larger GPU, "
                + "or train fewer or smaller SAEs (saeforge validate prints the estimate part by part)");
        assertThat(check.estimate().peak()).as("eight SAEs of 2^30 parameters with Adam alone: 96 GiB").isGreaterThan(96L << 30);
    }

    @Test
    void eight64kSaesFitAnA100With80GBAndNineDoNot() throws Exception {
        assertThat(check(saes(8, 65_536, "NVIDIA-A100-SXM4-80GB")).verdict()).isEqualTo(MemoryCheck.Verdict.fits);
        assertThat(check(saes(9, 65_536, "NVIDIA-A100-SXM4-80GB")).verdict()).isEqualTo(MemoryCheck.Verdict.exceeds);
    }

    @Test
    void gpuMemoryWinsOverTheProduct() throws Exception {
        String withMemory = "    gpuProduct: NVIDIA-A100-SXM4-40GB\n    gpuMemory: 2Ti\n";
        MemoryCheck large = check(saes(8, 262_144, "NVIDIA-A100-SXM4-40GB").replace("    gpuProduct: NVIDIA-A100-SXM4-40GB\n", withMemory));
        MemoryCheck small = check(example("qwen3-8b-layer28.yaml").replace("    gpuProduct: NVIDIA-A100-SXM4-80GB\n",
                "    gpuProduct: NVIDIA-A100-SXM4-80GB\n    gpuMemory: 16Gi\n"));

        assertThat(large.problems()).isEmpty();
        assertThat(large.summary()).endsWith(": fits spec.resources.gpuMemory 2Ti (2.0TiB)");
        assertThat(small.problems()).extracting(Problem::path).containsExactly("spec.resources.gpuMemory");
        assertThat(small.problems().get(0).message()).contains("more than the 16.0GiB of spec.resources.gpuMemory 16Gi");
    }

    @Test
    void anUnknownProductIsEstimatedButNotChecked() throws Exception {
        MemoryCheck check = check(saes(8, 262_144, "NVIDIA-B200"));

        assertThat(check.problems()).isEmpty();
        assertThat(check.verdict()).isEqualTo(MemoryCheck.Verdict.unchecked);
        assertThat(check.summary()).endsWith(": not checked, NVIDIA-B200 is not a GPU whose memory is known here; "
                + "set spec.resources.gpuMemory to check it");
    }

    @Test
    void syntheticRunsAndRunsWithoutAGpuHaveNoGpuEstimate() throws Exception {
        assertThat(check(example("toy-superposition.yaml")).estimate()).isNull();
        assertThat(check(example("tiny-qwen3.yaml")).estimate()).as("resources.gpus 0").isNull();
        assertThat(check(example("qwen3-8b-layer28.yaml").replace("autocast: true", "autocast: true\n    device: cpu")).estimate()).isNull();
        assertThat(printed(check(example("toy-superposition.yaml")))).isEmpty();
    }

    @Test
    void aKnownShapeRefusesADInThatIsNotTheHooksWidthAndAHookItDoesNotHave() throws Exception {
        MemoryCheck narrow = check(example("qwen3-8b-layer28.yaml").replace("dIn: 4096", "dIn: 2048"));
        MemoryCheck tooDeep = check(example("tiny-qwen3.yaml").replace("hook: blocks.1.hook_mlp_out", "hook: blocks.2.hook_mlp_out"));

        assertThat(narrow.estimate()).isNull();
        assertThat(narrow.problems()).extracting(Problem::toString).containsExactly(
                "spec.sae.dIn: 2048 does not match blocks.28.hook_mlp_out of Qwen/Qwen3-8B, which is 4096 wide (its hidden_size)");
        assertThat(tooDeep.problems()).extracting(Problem::toString).as("checked on no GPU too").containsExactly(
                "spec.hook: \"blocks.2.hook_mlp_out\" needs layer 2, but saeforge/tiny-qwen3 has 2 layers (blocks.0 to blocks.1)");
    }

    @Test
    void theAnnotationCarriesTheEstimateAsJson() throws Exception {
        MemoryCheck check = check(example("qwen3-8b-layer28.yaml"));

        TrainingRun run = check.annotated();
        JsonNode estimate = new ObjectMapper().readTree(run.getMetadata().getAnnotations().get(MemoryCheck.ANNOTATION));

        assertThat(estimate.path("peakBytes").asLong()).isEqualTo(check.estimate().peak());
        assertThat(estimate.path("check").asText()).isEqualTo("fits");
        assertThat(estimate.path("gpu").asText()).isEqualTo("NVIDIA-A100-SXM4-80GB");
        assertThat(estimate.path("parts")).hasSize(check.estimate().parts().size());
        assertThat(estimate.path("parts").get(0).path("what").asText()).startsWith("Qwen/Qwen3-8B in bfloat16");
        assertThat(TrainingRuns.parse(TrainingRuns.toYaml(run), "printed").get(0).getMetadata().getAnnotations())
                .as("the printed run reads back with it").containsKey(MemoryCheck.ANNOTATION);
    }
}
