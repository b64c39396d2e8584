package dev.saeforge.api;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** A run's SAEs: spec.saes or spec.sae, expanded over spec.sweep, each with its own name, settings and seed. */
class SaeDefinitionTest {
    /** The stream of {@link TrainingRunsTest#MINIMAL} without its SAE, seeded 7. */
    static final String STREAM = TrainingRunsTest.MINIMAL.replace("  hook: blocks.3.hook_mlp_out\n", "")
            .replace("  sae: {dSae: 4096}\n", "  training: {seed: 7}\n");

    static final String TWO_SAES = STREAM + """
              saes:
                - {name: mlp, hook: blocks.3.hook_mlp_out, sae: {dSae: 4096, l0Coefficient: 3}}
                - {name: resid, hook: blocks.5.hook_resid_post, sae: {dSae: 8192}, training: {lr: 1.0e-4}}
            """;

    static TrainingRun run(String yaml) throws InvalidSpecException {
        return TrainingRuns.parse(yaml, "run.yaml").get(0);
    }

    static List<String> problems(String yaml) {
        InvalidSpecException e = catchThrowableOfType(InvalidSpecException.class, () -> run(yaml));
        assertThat(e).as("refused").isNotNull();
        return e.problems().stream().map(Problem::toString).toList();
    }

    @Test
    void eachEntryIsAnSaeWithTheRunsTrainingAndItsOwnOverrides() throws Exception {
        List<SaeDefinition> saes = SaeDefinition.all(run(TWO_SAES));

        assertThat(saes).extracting(SaeDefinition::name).containsExactly("mlp", "resid");
        assertThat(saes).extracting(SaeDefinition::hook).containsExactly("blocks.3.hook_mlp_out", "blocks.5.hook_resid_post");
        assertThat(saes).extracting(SaeDefinition::path).containsExactly("spec.saes[0]", "spec.saes[1]");
        assertThat(saes.get(0).training().lr).as("the run's lr").isEqualTo(3e-4);
        assertThat(saes.get(1).training().lr).isEqualTo(1e-4);
        assertThat(saes.get(1).training().lrEnd).as("an SAE that sets lr ends at its lr / 10").isEqualTo(1e-5);
        assertThat(saes.get(1).training().tokens).as("the stream's budget").isEqualTo(2_000_000);
    }

    @Test
    void theSingleSaeFormIsOneSaeNamedAfterTheRun() throws Exception {
        List<SaeDefinition> saes = SaeDefinition.all(run(TrainingRunsTest.MINIMAL));

        assertThat(saes).singleElement().satisfies(sae -> {
            assertThat(sae.name()).isEqualTo("minimal");
            assertThat(sae.path()).isEqualTo("spec");
            assertThat(sae.saePath()).isEqualTo("spec.sae");
            assertThat(sae.hook()).isEqualTo("blocks.3.hook_mlp_out");
        });
    }

    @Test
    void aSweepTrainsEveryEntryAtEveryPointInGridOrder() throws Exception {
        String swept = TWO_SAES + """
                  sweep:
                    l0Coefficient: [0.3, 1]
                    lr: [1.0e-4, 3.0e-4]
                """;

        List<SaeDefinition> saes = SaeDefinition.all(run(swept));

        assertThat(saes).extracting(SaeDefinition::name).containsExactly(
                "mlp-l0coefficient-0.3-lr-0.0001", "mlp-l0coefficient-0.3-lr-0.0003",
                "mlp-l0coefficient-1-lr-0.0001", "mlp-l0coefficient-1-lr-0.0003",
                "resid-l0coefficient-0.3-lr-0.0001", "resid-l0coefficient-0.3-lr-0.0003",
                "resid-l0coefficient-1-lr-0.0001", "resid-l0coefficient-1-lr-0.0003");
        assertThat(saes).extracting(sae -> sae.sae().l0Coefficient).containsExactly(0.3, 0.3, 1.0, 1.0, 0.3, 0.3, 1.0, 1.0);
        assertThat(saes).extracting(sae -> sae.training().lr).containsExactly(1e-4, 3e-4, 1e-4, 3e-4, 1e-4, 3e-4, 1e-4, 3e-4);
        assertThat(saes.get(1).training().lrEnd).as("a swept lr ends at its own lr / 10").isEqualTo(3e-5);
        assertThat(saes).extracting(sae -> sae.sae().dSae).as("the rest of each entry is kept")
                .containsExactly(4096, 4096, 4096, 4096, 8192, 8192, 8192, 8192);
        assertThat(saes).extracting(SaeDefinition::path).as("messages still name the entry")
                .containsOnly("spec.saes[0]", "spec.saes[1]");
    }

    @Test
    void aSweptSingleSaeIsNamedAfterTheRun() throws Exception {
        String swept = TrainingRunsTest.MINIMAL + """
                  sweep: {l0Coefficient: [0.3, 3]}
                """;

        assertThat(SaeDefinition.all(run(swept))).extracting(SaeDefinition::name)
                .containsExactly("minimal-l0coefficient-0.3", "minimal-l0coefficient-3");
    }

    @Test
    void seedsFollowTheNameAndTheRunSeed() throws Exception {
        List<SaeDefinition> saes = SaeDefinition.all(run(TWO_SAES));
        List<SaeDefinition> reordered = SaeDefinition.all(run(STREAM + """
                  saes:
                    - {name: resid, hook: blocks.5.hook_resid_post, sae: {dSae: 8192}}
                    - {name: mlp, hook: blocks.9.hook_mlp_out, sae: {dSae: 1024}}
                """));
        List<SaeDefinition> reseeded = SaeDefinition.all(run(TWO_SAES.replace("seed: 7", "seed: 8")));

        assertThat(saes.get(0).seed()).as("different names, different weights").isNotEqualTo(saes.get(1).seed());
        assertThat(reordered.get(1).seed()).as("the same name and run seed start from the same weights")
                .isEqualTo(saes.get(0).seed()).isEqualTo(SaeDefinition.seed(7, "mlp"));
        assertThat(reseeded.get(0).seed()).as("another run seed").isNotEqualTo(saes.get(0).seed());
    }

    @Test
    void duplicateNamesAreRefusedAtTheSecond() {
        String twice = TWO_SAES.replace("name: resid", "name: mlp");

        assertThat(problems(twice)).containsExactly(
                "spec.saes[1].name: \"mlp\" names another SAE of this run too; expected unique names");
    }

    @Test
    void streamFieldsAreRefusedPerSaeWithWhereTheyBelong() {
        String perSae = STREAM + """
                  saes:
                    - name: mlp
                      hook: blocks.3.hook_mlp_out
                      dataset: {uri: other.jsonl}
                      sae: {dSae: 4096}
                      training: {batchSizeTokens: 2048, lr: 1.0e-4}
                """;

        assertThat(problems(perSae)).containsExactly(
                "spec.saes[0].dataset: belongs to the activation stream every SAE of the run shares; set it once in spec.dataset",
                "spec.saes[0].training.batchSizeTokens: belongs to the activation stream every SAE of the run shares; "
                        + "set it once in spec.training.batchSizeTokens");
    }

    @Test
    void aSweepKeyMustBeANumericFieldOfAnSae() {
        String sweepTokens = TWO_SAES + "  sweep: {tokens: [1000000, 2000000]}\n";
        String sweepArchitecture = TWO_SAES + "  sweep: {architecture: [1]}\n";

        String expected = "is not a numeric field of an SAE's sae or training; expected one of " + String.join(", ", SaeDefinition.sweepable());
        assertThat(problems(sweepTokens)).as("reported once, not once per entry").containsExactly("spec.sweep.tokens: " + expected);
        assertThat(problems(sweepArchitecture)).containsExactly("spec.sweep.architecture: " + expected);
    }

    @Test
    void sweptValuesMeetTheirFieldsConstraints() {
        String outOfRange = TWO_SAES + "  sweep: {l0Coefficient: [1, -1], adamBeta1: [1.5]}\n";
        String fractionalWidth = TWO_SAES + "  sweep: {dSae: [1024.5]}\n";

        assertThat(problems(outOfRange)).containsExactly(
                "spec.sweep.l0Coefficient: must be >= 0, got -1",
                "spec.sweep.adamBeta1: must be < 1, got 1.5");
        assertThat(problems(fractionalWidth)).containsExactly("spec.sweep.dSae: 1024.5 is not an integer");
    }

    @Test
    void saeAndSaesAreNotBothSet() {
        String both = TWO_SAES + "  sae: {dSae: 4096}\n";

        assertThat(problems(both)).containsExactly(
                "spec.sae: must be left out when spec.saes is set; give each SAE its own sae");
    }

    @Test
    void entriesAreCheckedFieldByFieldAndNamedByIndex() {
        String broken = STREAM + """
                  saes:
                    - {name: mlp, hook: blocks.3.hook_mlp_out, sae: {dSae: 4096}}
                    - {name: Resid, hook: blocks.5.hook_resid_post, sae: {dSae: -1}}
                    - {name: attn, hook: blocks.5.attn, sae: {dSae: 1024}}
                    - {hook: blocks.6.hook_resid_post, sae: {dSae: 1024}}
                """;

        assertThat(problems(broken)).containsExactly(
                "spec.saes[1].name: \"Resid\" is not an SAE name; expected lower-case letters, digits, '-' and '.', "
                        + "starting and ending with a letter or digit, at most 63",
                "spec.saes[1].sae.dSae: must be >= 1, got -1",
                "spec.saes[2].hook: \"blocks.5.attn\" is not a hook name; expected " + TrainingRunSpec.HOOK_FORM,
                "spec.saes[3].name: is required");
    }

    @Test
    void anEntryWithoutAHookIsRefusedByIndex() {
        String hookless = TWO_SAES.replace("hook: blocks.5.hook_resid_post, ", "");

        assertThat(problems(hookless)).containsExactly(
                "spec.saes[1].hook: is required unless spec.synthetic is set; expected " + TrainingRunSpec.HOOK_FORM);
    }
}
