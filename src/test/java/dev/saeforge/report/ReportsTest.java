package dev.saeforge.report;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.DatasetFixtures;
import dev.saeforge.data.InputFiles;
import dev.saeforge.data.ReportTokens;
import dev.saeforge.data.ThreadSettings;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.Qwen3Weights;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.lm.Tokenizer;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Torch;
import dev.saeforge.train.MetricsHistory;
import dev.saeforge.train.StopRequest;
import dev.saeforge.train.Training;
import dev.saeforge.train.TrainingListener;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The report of a checkpoint of a tiny run of two SAEs (a standard SAE on the embeddings,
 * blocks.0.hook_resid_pre, and a batchtopk SAE on the MLP's hidden units, saved as jumprelu):
 * what its latents fire on, their density, and the logit lens, checked against direct
 * computations on the checkpoint's and the model's tensors.
 */
class ReportsTest {
    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: pair}
            spec:
              model: {name: tiny, uri: MODEL, dtype: float32}
              dataset: {uri: CORPUS, contextSize: 12, storeBatchSizePrompts: 2, nBatchesInBuffer: 4}
              saes:
                - {name: resid0, hook: blocks.0.hook_resid_pre, sae: {architecture: standard, dSae: 32}}
                - {name: mlp1, hook: blocks.1.mlp.hook_post, sae: {architecture: batchtopk, dSae: 48, k: 4}}
              training: {tokens: 480, batchSizeTokens: 24, logEverySteps: 5, evalEverySteps: 10, evalBatches: 1, seed: 3}
              checkpoints: {count: 1}
            """;
    static final int PLANTED = 7;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Path model;
    static Path checkpoint;
    static String uri;

    @BeforeAll
    static void trainAndPull() throws Exception {
        model = dir.resolve("model");
        TinyQwen3.write(model, TinyQwen3.Options.defaults().withTied(false).withDtype(Safetensors.Dtype.F32));
        DatasetFixtures.jsonl(dir.resolve("corpus.jsonl"), DatasetFixtures.documents("Sparse autoencoders read the residual stream", 30));
        TrainingRun run = TrainingRuns.parse(RUN.replace("MODEL", model.toString()).replace("CORPUS", dir.resolve("corpus.jsonl").toString()),
                "pair").get(0);
        try (CheckpointStore store = CheckpointStore.open(dir.resolve("runs").toString())) {
            Training.run(RunIdentity.of(run), run.getSpec(), store, new Training.Options(null, new StopRequest(), new ThreadSettings(1, 1, 1)),
                    new TrainingListener() {
                    });
            CheckpointRef last = store.list("pair").getLast();
            checkpoint = store.pull("pair", last.name(), dir.resolve("pulled"));
            uri = last.uri();
        }
    }

    @Test
    void aLatentPlantedOnOneTokenFindsThatTokenAtTheTopOfItsCard() throws Exception {
        Path planted = copy(checkpoint, dir.resolve("planted"));
        long token;
        try (Tokenizer tokenizer = Tokenizer.load(model)) {
            token = plant(planted.resolve("resid0"), tokenizer.encode(" residual"));
        }

        Report report = Reports.collect(planted, uri, new ReportOptions(600, 2, 0, List.of(PLANTED), 0, 5, null), Reports.Progress.NONE);

        Report.Latent card = section(report, "resid0").latents().stream().filter(l -> l.index() == PLANTED).findFirst().orElseThrow();
        String text;
        try (Tokenizer tokenizer = Tokenizer.load(model)) {
            text = tokenizer.decode(new long[]{token});
        }
        assertThat(card.chosenAs()).isEqualTo("requested");
        assertThat(card.topContexts()).hasSize(5);
        for (Report.Context context : card.topContexts()) {
            assertThat(context.tokens().get(context.peak())).isEqualTo(text);
            assertThat(context.activations().get(context.peak())).isPositive();
            for (int i = 0; i < context.tokens().size(); i++) {
                assertThat(context.activations().get(i) > 0).as("fires on %s at %d", context.tokens().get(i), i)
                        .isEqualTo(context.tokens().get(i).equals(text));
            }
        }
        assertThat(card.frequency()).isEqualTo((double) occurrences(planted, token, 600) / 600);
        assertThat(report.heldOut().tokens()).isEqualTo(600);
        assertThat(report.heldOut().source()).contains("after the training range");
    }

    @Test
    void theLogitListsAreTheDecoderRowsThroughTheFinalNormAndLmHead() throws Exception {
        Report report = Reports.collect(checkpoint, uri, new ReportOptions(200, 3, 2, List.of(0), 1, 3, null), Reports.Progress.NONE);

        float[] decoder;
        try (Safetensors.Reader sae = Safetensors.read(checkpoint.resolve("resid0").resolve(SaeLensCheckpoint.WEIGHTS))) {
            decoder = sae.floats("W_dec");
        }
        float[] norm;
        float[] head;
        try (Safetensors.Reader lm = Safetensors.read(model.resolve(Qwen3Weights.SINGLE_FILE))) {
            norm = lm.floats(Qwen3Weights.FINAL_NORM);
            head = lm.floats(Qwen3Weights.LM_HEAD);
        }
        List<Report.Latent> latents = section(report, "resid0").latents();
        assertThat(latents).hasSizeGreaterThanOrEqualTo(4);
        try (Tokenizer tokenizer = Tokenizer.load(model)) {
            for (Report.Latent latent : latents) {
                LogitLensTest.assertDirectLogits(latent.topLogits(), decoder, latent.index(), norm, head, tokenizer);
            }
        }
        assertThat(section(report, "mlp1").latents()).as("mlp.hook_post is not the residual stream's width")
                .allSatisfy(latent -> assertThat(latent.topLogits()).isNull());
    }

    @Test
    void reportJsonHasASectionPerSaeWithCurvesDensityAndCardsAndWrapsWhenTheDataRunsOut() throws Exception {
        Path withMetrics = copy(checkpoint, dir.resolve("with-metrics"));
        List<String> lines = new ArrayList<>();
        for (int step = 1; step <= 3000; step++) {
            lines.add(JSON.writeValueAsString(new MetricsHistory.Entry("resid0", MetricsHistory.TRAIN, step, step * 24L,
                    Map.of("overall_loss", 1.0 / step, "l0", 3.0))));
        }
        lines.add(JSON.writeValueAsString(new MetricsHistory.Entry("resid0", MetricsHistory.EVAL, 10, 240, Map.of("ce_loss_score", 0.9))));
        Files.write(withMetrics.resolve(MetricsHistory.FILE), lines);
        Path out = dir.resolve("report");
        List<String> warnings = new ArrayList<>();
        long[] lastProgress = new long[2];

        Report report = Reports.write(withMetrics, uri, new ReportOptions(5000, 4, 3, List.of(31), 5, 4, null), out, new Reports.Progress() {
            @Override
            public void collected(long tokens, long total) {
                lastProgress[0] = tokens;
                lastProgress[1] = total;
            }

            @Override
            public void warning(String message) {
                warnings.add(message);
            }
        });

        assertThat(report.saes()).extracting(Report.SaeSection::name).containsExactly("resid0", "mlp1");
        assertThat(report.saes()).extracting(Report.SaeSection::architecture).containsExactly("standard", "batchtopk");
        assertThat(report.heldOut().wrapped()).isTrue();
        assertThat(warnings).singleElement().asString().contains("ran out after").contains("of 5000 tokens and is read again from its start");
        assertThat(lastProgress).containsExactly(5000, 5000);
        assertThat(out.resolve("index.html")).exists();
        JsonNode json = JSON.readTree(out.resolve("report.json").toFile());
        assertThat(json.path("held_out").path("tokens").asLong()).isEqualTo(5000);
        for (JsonNode sae : json.path("saes")) {
            int dSae = sae.path("d_sae").asInt();
            long fired = 0;
            for (JsonNode count : sae.path("density_histogram").path("counts")) {
                fired += count.asLong();
            }
            assertThat(fired).as("latents that fired").isEqualTo(dSae - sae.path("dead_latents").asInt());
            assertThat(sae.path("dense_latents").asInt()).isLessThanOrEqualTo(dSae - sae.path("dead_latents").asInt());
            assertThat(sae.path("density_histogram").path("edges").get(0).asDouble()).isLessThanOrEqualTo(Math.log10(1.0 / 5000));
            JsonNode latents = sae.path("latents");
            assertThat(latents.get(0).path("index").asInt()).isEqualTo(31);
            assertThat(latents.get(0).path("chosen_as").asText()).isEqualTo("requested");
            long frequentDense = 0;
            for (JsonNode latent : latents) {
                assertThat(latent.has("frequency")).isTrue();
                frequentDense += latent.path("frequency").asDouble() > Report.DENSE_FREQUENCY ? 1 : 0;
                for (JsonNode context : latent.path("top_contexts")) {
                    assertThat(context.path("tokens").size()).isEqualTo(context.path("activations").size()).isPositive();
                }
                if (latent.path("frequency").asDouble() > 0) {
                    long histogram = 0;
                    for (JsonNode count : latent.path("activation_histogram").path("counts")) {
                        histogram += count.asLong();
                    }
                    assertThat(histogram).as("non-zero activations of latent %s", latent.path("index"))
                            .isEqualTo(Math.round(latent.path("frequency").asDouble() * 5000));
                }
            }
            assertThat(sae.path("dense_latents").asLong()).isGreaterThanOrEqualTo(frequentDense);
        }
        JsonNode resid = json.path("saes").get(0);
        assertThat(resid.path("latents").get(1).path("top_logits").path("positive").get(0).size()).isEqualTo(2);
        assertThat(resid.path("curves").path("tokens").size()).isEqualTo(Reports.CURVE_POINTS);
        assertThat(resid.path("curves").path("tokens").get(0).asLong()).isEqualTo(24);
        assertThat(resid.path("curves").path("tokens").get(Reports.CURVE_POINTS - 1).asLong()).isEqualTo(3000 * 24);
        assertThat(resid.path("curves").path("series").path("overall_loss").size()).isEqualTo(Reports.CURVE_POINTS);
        assertThat(resid.path("evaluations").get(0).path("metrics").path("ce_loss_score").asDouble()).isEqualTo(0.9);
        assertThat(json.path("saes").get(1).path("curves").path("tokens").size()).as("no metrics of mlp1").isZero();
        assertThat(json.path("saes").get(1).path("latents").get(1).has("top_logits")).isFalse();
    }

    @Test
    void aRunWithAnEvaluationDatasetIsReportedOnIt() throws Exception {
        Path withEval = copy(checkpoint, dir.resolve("with-eval"));
        Path eval = DatasetFixtures.jsonl(dir.resolve("eval.jsonl"), DatasetFixtures.documents("Held out evaluation text", 10));
        Path yaml = withEval.resolve(SaeLensCheckpoint.TRAINING_RUN);
        String spec = Files.readString(yaml);
        Files.writeString(yaml, spec.replaceFirst("(?m)^(\\s+)uri: (.*corpus\\.jsonl.*)$", "$1uri: $2\n$1eval:\n$1  uri: " + eval));

        Report report = Reports.collect(withEval, uri, new ReportOptions(100, 2, 1, List.of(), 0, 3, null), Reports.Progress.NONE);

        assertThat(report.heldOut().source()).isEqualTo("spec.dataset.eval " + eval);
        assertThat(report.heldOut().wrapped()).isFalse();
        assertThat(report.heldOut().tokens()).isEqualTo(100);
    }

    @Test
    void aLatentPastAnSaesWidthIsRefusedNamingTheSae() {
        assertThatThrownBy(() -> Reports.collect(checkpoint, uri, new ReportOptions(10, 1, 0, List.of(40), 0, 1, null), Reports.Progress.NONE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--latent 40 is past the latents of SAE resid0 (d_sae 32: latents 0 to 31)");
    }

    @Test
    void anSaeNamedAloneIsReportedAlone() throws Exception {
        ReportOptions options = new ReportOptions(48, 1, 0, List.of(40), 0, 1, null);

        Report report = Reports.collect(checkpoint, uri, options.only("mlp1"), Reports.Progress.NONE);

        assertThat(report.saes()).extracting(Report.SaeSection::name).containsExactly("mlp1");
        assertThat(report.saes().get(0).latents().get(0).index()).isEqualTo(40);
        assertThatThrownBy(() -> Reports.collect(checkpoint, uri, options.only("mlp2"), Reports.Progress.NONE))
                .hasMessage(uri + " has no SAE mlp2; it has resid0, mlp1");
    }

    static Report.SaeSection section(Report report, String name) {
        return report.saes().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    /**
     * Overwrites the standard SAE in {@code saeDir} so that latent {@link #PLANTED} fires on one
     * token alone: its encoder column is that token's embedding (which blocks.0.hook_resid_pre
     * is), its bias halfway between the token's score and the best other token's; every other
     * latent has a zero column and a negative bias. Of {@code candidates}, takes the token with
     * the widest margin; returns it.
     */
    static long plant(Path saeDir, long[] candidates) throws Exception {
        float[] embedding;
        try (Safetensors.Reader lm = Safetensors.read(model.resolve(Qwen3Weights.SINGLE_FILE))) {
            embedding = lm.floats(Qwen3Weights.EMBEDDING);
        }
        int d = 64;
        int vocabulary = embedding.length / d;
        long best = -1;
        double bestMargin = 0;
        double bestThreshold = 0;
        for (long t : candidates) {
            double self = dot(embedding, t, t, d);
            double other = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocabulary; v++) {
                if (v != t) {
                    other = Math.max(other, dot(embedding, v, t, d));
                }
            }
            if (self - other > bestMargin) {
                best = t;
                bestMargin = self - other;
                bestThreshold = (self + other) / 2;
            }
        }
        assertThat(best).as("a token whose embedding scores highest against itself").isNotNegative();
        int dSae = 32;
        float[] wEnc = new float[d * dSae];
        float[] bEnc = new float[dSae];
        for (int k = 0; k < d; k++) {
            wEnc[k * dSae + PLANTED] = embedding[(int) best * d + k];
        }
        for (int j = 0; j < dSae; j++) {
            bEnc[j] = j == PLANTED ? (float) -bestThreshold : -1f;
        }
        Path weights = saeDir.resolve(SaeLensCheckpoint.WEIGHTS);
        float[] wDec;
        try (Safetensors.Reader saved = Safetensors.read(weights)) {
            wDec = saved.floats("W_dec");
        }
        Safetensors.writer().addFloats("W_enc", Safetensors.Dtype.F32, new long[]{d, dSae}, wEnc)
                .addFloats("W_dec", Safetensors.Dtype.F32, new long[]{dSae, d}, wDec)
                .addFloats("b_enc", Safetensors.Dtype.F32, new long[]{dSae}, bEnc)
                .addFloats("b_dec", Safetensors.Dtype.F32, new long[]{d}, new float[d])
                .write(weights);
        return best;
    }

    private static double dot(float[] embedding, long a, long b, int d) {
        double sum = 0;
        for (int k = 0; k < d; k++) {
            sum += (double) embedding[(int) a * d + k] * embedding[(int) b * d + k];
        }
        return sum;
    }

    /** How often {@code token} is among the first {@code tokens} held-out tokens of the checkpoint in {@code dir}. */
    static long occurrences(Path dir, long token, long tokens) throws Exception {
        TrainingRun run = TrainingRuns.parse(Files.readString(dir.resolve(SaeLensCheckpoint.TRAINING_RUN)), "run").get(0);
        InputFiles recorded = InputFiles.parse(Files.readAllBytes(dir.resolve(InputFiles.FILE_NAME)), "inputs");
        Map<String, Object> position = JSON.convertValue(JSON.readTree(dir.resolve("activation_stream.json").toFile()).path("position"),
                new TypeReference<Map<String, Object>>() {
                });
        long count = 0;
        try (NDManager manager = Torch.engine().newBaseManager(Torch.device(false));
             ReportTokens held = ReportTokens.open(run.getSpec(), List.of(HookPoint.parse("blocks.0.hook_resid_pre")), Torch.device(false),
                     ModelSources.fromEnvironment(), recorded, position, tokens)) {
            while (true) {
                try (NDScope scope = new NDScope()) {
                    ReportTokens.Batch batch = held.next(manager);
                    if (batch == null) {
                        break;
                    }
                    for (long row : batch.counted()) {
                        count += batch.windows()[(int) (row / 12)][(int) (row % 12)] == token ? 1 : 0;
                    }
                }
            }
        }
        return count;
    }

    static Path copy(Path from, Path to) throws Exception {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : paths.toList()) {
                Files.copy(path, to.resolve(from.relativize(path).toString()));
            }
        }
        return to;
    }
}
