package dev.saeforge.train;

import dev.saeforge.api.Problem;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.lm.ModelShapes;
import dev.saeforge.lm.Qwen3Config;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A run's SAEs against the shape of its model: hooks in layers it has, dIn as wide as the hook. */
class HookWidthsTest {
    static final Qwen3Config QWEN3_8B = ModelShapes.of("hf://Qwen/Qwen3-8B").config();

    static TrainingRun run(String saes) throws Exception {
        String yaml = """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: widths}
                spec:
                  model: {name: Qwen/Qwen3-8B}
                  dataset: {uri: data/corpus.jsonl}
                """ + saes;
        return TrainingRuns.parse(yaml, "run.yaml").get(0);
    }

    static List<String> problems(String saes) throws Exception {
        return HookWidths.problems(SaeDefinition.all(run(saes)), QWEN3_8B, "Qwen/Qwen3-8B").stream().map(Problem::toString).toList();
    }

    @Test
    void reportedLatentsPastTheWidthTheModelGivesAnSaeAreRefusedNamingIt() throws Exception {
        TrainingRun run = run("""
                  saes:
                    - {name: wide, hook: blocks.28.mlp.hook_post, sae: {expansionFactor: 2}}
                    - {name: narrow, hook: blocks.28.hook_mlp_out, sae: {expansionFactor: 2}}
                  report: {latentIndices: [8191, 8192, 24575]}
                """);

        assertThat(HookWidths.reportProblems(SaeDefinition.all(run), QWEN3_8B, run.getSpec().report)).extracting(Problem::toString)
                .containsExactly("spec.report.latentIndices[1]: 8192 is not a latent of SAE narrow, which has dSae 8192; expected 0 to 8191",
                        "spec.report.latentIndices[2]: 24575 is not a latent of SAE narrow, which has dSae 8192; expected 0 to 8191");
    }

    @Test
    void eachHookIsAsWideAsItsSite() throws Exception {
        assertThat(problems("""
                  saes:
                    - {name: out, hook: blocks.28.hook_mlp_out, sae: {dIn: 4096, dSae: 16384}}
                    - {name: post, hook: blocks.28.mlp.hook_post, sae: {dIn: 12288, dSae: 16384}}
                    - {name: last, hook: blocks.35.hook_resid_post, sae: {expansionFactor: 4}}
                """)).isEmpty();
    }

    @Test
    void aDInThatIsNotTheHooksWidthIsRefusedAtItsField() throws Exception {
        assertThat(problems("""
                  saes:
                    - {name: post, hook: blocks.28.mlp.hook_post, sae: {dIn: 4096, dSae: 16384}}
                  sweep: {l0Coefficient: [0.3, 1]}
                """)).as("once, however many points the sweep has").containsExactly(
                "spec.saes[0].sae.dIn: 4096 does not match blocks.28.mlp.hook_post of Qwen/Qwen3-8B, which is 12288 wide (its intermediate_size)");
        assertThat(problems("""
                  hook: blocks.3.hook_resid_pre
                  sae: {dIn: 1024, dSae: 4096}
                """)).containsExactly(
                "spec.sae.dIn: 1024 does not match blocks.3.hook_resid_pre of Qwen/Qwen3-8B, which is 4096 wide (its hidden_size)");
    }

    @Test
    void aHookBeyondTheModelsLayersIsRefusedAtItsField() throws Exception {
        assertThat(problems("""
                  saes:
                    - {name: a, hook: blocks.28.hook_mlp_out, sae: {dSae: 16384}}
                    - {name: b, hook: blocks.35.hook_mlp_out, sae: {dSae: 16384}}
                    - {name: c, hook: blocks.36.hook_mlp_out, sae: {dSae: 16384}}
                """)).containsExactly(
                "spec.saes[2].hook: \"blocks.36.hook_mlp_out\" needs layer 36, but Qwen/Qwen3-8B has 36 layers (blocks.0 to blocks.35)");
    }
}
