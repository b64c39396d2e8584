package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.ReportSpec;
import dev.saeforge.report.Chromium;
import dev.saeforge.report.ReportPageChecks;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's first command as a fresh clone runs it: ./saeforge train examples/tiny-qwen3.yaml
 * with an empty cache (the tiny model and corpus are created on first use), progress on stderr,
 * SAELens-format checkpoints with the evaluation, a --summary with the evaluation figures, and the
 * final checkpoint's feature report, opened in headless Chromium.
 * Only the checkpoint location differs, so that the test writes into its own folder.
 */
class TinyExampleIT {
    @TempDir
    Path dir;

    record Run(int exitCode, String stdout, String stderr) {
    }

    @Test
    void theTinyExampleTrainsFromAnEmptyCacheAndWritesEvaluatedSaeLensCheckpoints() throws Exception {
        Path spec = dir.resolve("tiny-qwen3.yaml");
        Files.writeString(spec, Files.readString(Path.of("examples/tiny-qwen3.yaml")).replace("uri: runs", "uri: " + dir.resolve("runs")));

        Run run = saeforge("train", spec.toString(), "--summary", dir.resolve("summary.json").toString());

        assertThat(run.exitCode()).as(run.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(run.stderr()).contains("saeforge: training tiny-qwen3", "BOS <|im_end|>", "step ", "eval at step 500:", "CE score",
                "checkpoint file://");
        JsonNode summary = new ObjectMapper().readTree(dir.resolve("summary.json").toFile());
        for (String key : List.of("explained_variance", "l0", "mse", "ce_loss_score", "ce_loss_with_sae", "ce_loss_without_sae",
                "ce_loss_with_ablation", "kl_div_score", "kl_div_with_sae", "kl_div_with_ablation", "dead_features")) {
            assertThat(summary.has(key)).as("summary key " + key).isTrue();
        }
        assertThat(summary.path("outcome").asText()).isEqualTo("completed");
        assertThat(summary.path("ce_loss_score").asDouble()).isBetween(0.0, 1.0);
        assertThat(summary.path("explained_variance").asDouble()).isGreaterThan(0.5);

        Path last = dir.resolve("runs/tiny-qwen3/final_2048000");
        JsonNode metadata = new ObjectMapper().readTree(last.resolve(SaeLensCheckpoint.CONFIG).toFile()).path("metadata");
        assertThat(metadata.path("model_name").asText()).isEqualTo("saeforge/tiny-qwen3");
        assertThat(metadata.path("prepend_bos").asBoolean()).isTrue();
        assertThat(metadata.path("bos_token").asText()).isEqualTo("<|im_end|>");
        assertThat(metadata.path("ce_loss_score").asDouble()).isEqualTo(summary.path("ce_loss_score").asDouble());
        try (Safetensors.Reader weights = Safetensors.read(last.resolve(SaeLensCheckpoint.WEIGHTS))) {
            assertThat(weights.tensors().keySet()).containsExactlyInAnyOrderElementsOf(SaeLensCheckpoint.weightNames("jumprelu"));
            assertThat(weights.tensors().get("W_enc").shape()).containsExactly(64, 256);
        }
        assertThat(dir.resolve("cache/models/tiny/qwen3/model.safetensors")).isRegularFile();

        // It ends by printing where the final checkpoint's report is, beside it in the store, and a browser shows it.
        Path page = last.resolve("report/index.html");
        assertThat(run.stdout().strip().lines().reduce((a, b) -> b).orElse("")).isEqualTo("report: " + page);
        JsonNode report = new ObjectMapper().readTree(last.resolve("report/report.json").toFile());
        JsonNode section = report.path("saes").path(0);
        assertThat(section.path("curves").path("tokens").size()).as("logged points drawn").isPositive();
        assertThat(section.path("latents").size()).as("cards: the 20 most frequent and 20 others").isGreaterThanOrEqualTo(ReportSpec.DEFAULT_LATENTS);
        try (Chromium chromium = Chromium.launch()) {
            ReportPageChecks.assertShows(chromium, page, ReportSpec.DEFAULT_LATENTS, section.path("latents").path(0).path("index").asInt(),
                    "tiny-qwen3");
        }

        // The README's next step, the run named alone: its newest complete checkpoint.
        Run pull = saeforge("checkpoints", "pull", "--store", dir.resolve("runs").toString(), "tiny-qwen3", dir.resolve("out").toString());
        assertThat(pull.exitCode()).as(pull.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(pull.stdout()).startsWith("Pulled " + last.toUri().toString().replaceAll("/$", "") + " into ");
        assertThat(dir.resolve("out").resolve(SaeLensCheckpoint.WEIGHTS)).hasSameBinaryContentAs(last.resolve(SaeLensCheckpoint.WEIGHTS));
    }

    /**
     * The sweep example: six SAEs (three sparsities at two hooks) from one stream, each reaching
     * EV >= 0.6, checkpointed as one SAELens directory per SAE, summarised per SAE.
     */
    @Test
    void theSweepExampleTrainsSixSaesFromOneStreamEachExplainingMostOfTheVariance() throws Exception {
        Path spec = dir.resolve("tiny-qwen3-sweep.yaml");
        Files.writeString(spec, Files.readString(Path.of("examples/tiny-qwen3-sweep.yaml")).replace("uri: runs", "uri: " + dir.resolve("runs")));

        Run run = saeforge("train", spec.toString(), "--summary", dir.resolve("summary.json").toString());

        assertThat(run.exitCode()).as(run.stderr()).isEqualTo(ExitCodes.OK);
        JsonNode saes = new ObjectMapper().readTree(dir.resolve("summary.json").toFile()).path("saes");
        List<String> names = new ArrayList<>();
        for (JsonNode sae : saes) {
            names.add(sae.path("name").asText());
            assertThat(sae.path("explained_variance").asDouble()).as(sae.path("name").asText() + " EV").isGreaterThanOrEqualTo(0.6);
            assertThat(sae.path("ce_loss_score").isNumber()).isTrue();
            Path last = dir.resolve("runs/tiny-qwen3-sweep/final_1024000").resolve(sae.path("name").asText());
            assertThat(SaeLensCheckpoint.problems(last)).as(last.toString()).isEmpty();
        }
        assertThat(names).containsExactly("mlp1-l0coefficient-0.03", "mlp1-l0coefficient-0.1", "mlp1-l0coefficient-0.3",
                "resid0-l0coefficient-0.03", "resid0-l0coefficient-0.1", "resid0-l0coefficient-0.3");
        for (String name : names) {
            assertThat(run.stdout()).as("the summary's row per SAE").contains(name);
        }
        JsonNode report = new ObjectMapper().readTree(dir.resolve("runs/tiny-qwen3-sweep/final_1024000/report/report.json").toFile());
        List<String> sections = new ArrayList<>();
        report.path("saes").forEach(section -> sections.add(section.path("name").asText()));
        assertThat(sections).as("one report section per SAE").isEqualTo(names);
    }

    @Test
    void benchTrainReportsTheThreeRatesAndTheRatio() throws Exception {
        Run run = saeforge("bench", "train", "--rounds", "1", "--steps", "20", "-o", "json");

        assertThat(run.exitCode()).as(run.stderr()).isEqualTo(ExitCodes.OK);
        JsonNode figures = new ObjectMapper().readTree(run.stdout());
        for (String key : List.of("lm_tokens_per_second", "sae_tokens_per_second", "serial_bound_tokens_per_second", "tokens_per_second",
                "ratio")) {
            assertThat(figures.path(key).asDouble()).as(key).isPositive();
        }
        double lm = figures.path("lm_tokens_per_second").asDouble();
        double sae = figures.path("sae_tokens_per_second").asDouble();
        assertThat(figures.path("serial_bound_tokens_per_second").asDouble()).isCloseTo(1 / (1 / lm + 1 / sae), org.assertj.core.data.Offset.offset(1e-6 * lm));
        assertThat(figures.path("ratio").asDouble()).isCloseTo(figures.path("tokens_per_second").asDouble()
                / figures.path("serial_bound_tokens_per_second").asDouble(), org.assertj.core.data.Offset.offset(1e-9));

        Run four = saeforge("bench", "train", "--saes", "4", "--rounds", "1", "--steps", "10", "-o", "json");

        assertThat(four.exitCode()).as(four.stderr()).isEqualTo(ExitCodes.OK);
        JsonNode sweep = new ObjectMapper().readTree(four.stdout());
        double lm4 = sweep.path("lm_tokens_per_second").asDouble();
        double sae4 = sweep.path("sae_tokens_per_second").asDouble();
        assertThat(sweep.path("saes").asInt()).isEqualTo(4);
        assertThat(sweep.path("serial_bound_tokens_per_second").asDouble()).as("1 / (1/lm + 4/sae)")
                .isCloseTo(1 / (1 / lm4 + 4 / sae4), org.assertj.core.data.Offset.offset(1e-6 * lm4));
        assertThat(sweep.path("speed_up_over_separate_runs").asDouble()).isCloseTo(4 * sweep.path("tokens_per_second").asDouble()
                / sweep.path("one_sae_tokens_per_second").asDouble(), org.assertj.core.data.Offset.offset(1e-9));
    }

    private Run saeforge(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("./saeforge"));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().put("SAEFORGE_CACHE", dir.resolve("cache").toString());
        Process process = builder.start();
        assertThat(process.waitFor(600, TimeUnit.SECONDS)).as("saeforge finished").isTrue();
        return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
}
