package dev.saeforge.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.data.LanguageModelData;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.ReferenceQwen3;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.sae.JumpReluSae;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * SAELens' evaluation (reference §2.7) checked against a float64 reference Qwen3: an SAE that
 * reconstructs exactly must leave the model's loss unchanged (CE loss score 1, KL 0, explained
 * variance 1), and the clean and zero-ablated losses must be the reference model's.
 */
class LanguageModelEvaluationTest {
    static final String HOOK = "blocks.0.hook_mlp_out";
    static final List<HookPoint> HOOKS = List.of(HookPoint.parse(HOOK), HookPoint.parse("blocks.1.hook_mlp_out"));

    @TempDir
    Path dir;

    @Test
    void anExactSaeLeavesTheLossAloneAndTheCleanAndAblatedLossesAreTheReferenceModels() throws Exception {
        Path model = dir.resolve("model");
        TinyQwen3.write(model, TinyQwen3.Options.defaults());
        corpus("corpus.jsonl", "Sparse autoencoder ", " reads the residual stream, token by token.");
        TrainingRunSpec spec = TrainingRuns.parse("""
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: eval}
                spec:
                  model: {name: tiny, uri: MODEL, dtype: float32}
                  hook: HOOK
                  dataset: {uri: CORPUS, contextSize: 12, storeBatchSizePrompts: 3, nBatchesInBuffer: 4}
                  sae: {dSae: 128}
                  training: {tokens: 10000, batchSizeTokens: 12, evalBatches: 2}
                """.replace("MODEL", model.toString()).replace("HOOK", HOOK).replace("CORPUS", dir.resolve("corpus.jsonl").toString()),
                "test").get(0).getSpec();

        try (NDManager manager = Torch.engine().newBaseManager(Device.cpu());
             LanguageModelData data = LanguageModelData.open(spec, HOOKS, Device.cpu(), new ModelSources(dir, null, Map.of()));
             SaeState sae = state("exact", 0, exact(64, manager), spec, manager);
             SaeState silent = state("silent", 0, silent(64, manager), spec, manager);
             SaeState other = state("other-hook", 1, exact(64, manager), spec, manager)) {
            List<Evaluation> all = HeldOutEvaluation.spliced(data, HOOKS).evaluate(List.of(sae, silent, other), manager);
            Evaluation evaluation = all.get(0);

            Evaluation.Downstream d = evaluation.downstream();
            assertThat(evaluation.rows()).isEqualTo(2 * 3 * 12);
            assertThat(evaluation.explainedVariance()).isCloseTo(1.0, within(1e-6));
            assertThat(evaluation.mse()).isCloseTo(0.0, within(1e-8));
            assertThat(evaluation.l0()).as("one of relu(x), relu(-x) is active per nonzero component").isCloseTo(64.0, within(0.5));
            assertThat(d.ceLossWithSae()).isCloseTo(d.ceLossWithoutSae(), within(1e-4 * d.ceLossWithoutSae()));
            assertThat(d.klDivWithSae()).isCloseTo(0.0, within(1e-4));
            assertThat(d.ceLossScore()).isCloseTo(1.0, within(1e-3));
            assertThat(d.klDivScore()).isCloseTo(1.0, within(1e-3));

            double[] reference = referenceLosses(model, data.heldOutBatches());
            assertThat(d.ceLossWithoutSae()).isCloseTo(reference[0], within(1e-3 * reference[0]));
            assertThat(d.ceLossWithAblation()).isCloseTo(reference[1], within(1e-3 * reference[1]));
            assertThat(d.klDivWithAblation()).isCloseTo(reference[2], within(1e-3 * reference[2]));
            assertThat(d.ceLossWithAblation()).isNotCloseTo(d.ceLossWithoutSae(), within(1e-3));

            // An SAE on the same hook shares the clean and ablated passes; one that reconstructs nothing is the ablation.
            Evaluation.Downstream zero = all.get(1).downstream();
            assertThat(zero.ceLossWithoutSae()).isEqualTo(d.ceLossWithoutSae());
            assertThat(zero.ceLossWithAblation()).isEqualTo(d.ceLossWithAblation());
            assertThat(zero.ceLossWithSae()).isCloseTo(d.ceLossWithAblation(), within(1e-6 * d.ceLossWithAblation()));
            assertThat(zero.ceLossScore()).isCloseTo(0.0, within(1e-4));
            // An SAE on another hook is evaluated spliced in at its own hook, and gets what it would alone.
            Evaluation alone = HeldOutEvaluation.spliced(data, HOOKS).evaluate(List.of(other), manager).get(0);
            assertThat(all.get(2)).isEqualTo(alone);
            assertThat(alone.downstream().ceLossWithAblation()).isNotEqualTo(d.ceLossWithAblation());
        }
    }

    @Test
    void aRunWithAnEvalDatasetEvaluatesOnItsWindowsNotOnTheTrainingText() throws Exception {
        Path model = dir.resolve("model");
        TinyQwen3.write(model, TinyQwen3.Options.defaults());
        corpus("corpus.jsonl", "Sparse autoencoder ", " reads the residual stream, token by token.");
        corpus("eval.jsonl", "Quarterly rainfall in valley ", " exceeded every forecast.");
        String run = """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: NAME}
                spec:
                  model: {name: tiny, uri: MODEL, dtype: float32}
                  hook: HOOK
                  dataset: {uri: CORPUS, contextSize: 12, storeBatchSizePrompts: 3, nBatchesInBuffer: 4}
                  sae: {dSae: 128}
                  training: {tokens: 240, batchSizeTokens: 12, evalBatches: 2}
                """.replace("MODEL", model.toString()).replace("HOOK", HOOK);
        TrainingRun withEval = TrainingRuns.parse(run.replace("NAME", "with-eval").replace("CORPUS",
                dir.resolve("corpus.jsonl") + ", eval: {uri: " + dir.resolve("eval.jsonl") + ", rows: 1}"), "test").get(0);
        // The windows evaluation reads without an eval dataset: the head of a corpus, here of each of the two.
        List<long[][]> evalWindows = heldOutBatches(run.replace("NAME", "x").replace("CORPUS", dir.resolve("eval.jsonl").toString()));
        List<long[][]> headWindows = heldOutBatches(run.replace("NAME", "x").replace("CORPUS", dir.resolve("corpus.jsonl").toString()));

        Summary summary;
        try (CheckpointStore store = CheckpointStore.open(dir.resolve("runs").toString())) {
            summary = Training.run(RunIdentity.of(withEval), withEval.getSpec(), store, Training.Options.defaults(), new TrainingListener() {
            });
        }

        Evaluation evaluation = summary.evaluation();
        int windows = (int) (evaluation.rows() / 12);
        assertThat(evaluation.rows()).isEqualTo(windows * 12L);
        assertThat(windows).as("the first row of the eval text fills fewer windows than the six evalBatches asks for").isBetween(1, 5);
        List<long[]> first = evalWindows.stream().flatMap(java.util.Arrays::stream).toList().subList(0, windows);
        double[] onEval = referenceLosses(model, List.<long[][]>of(first.toArray(long[][]::new)));
        double[] onHead = referenceLosses(model, headWindows.subList(0, 1));
        assertThat(evaluation.downstream().ceLossWithoutSae()).isCloseTo(onEval[0], within(1e-3 * onEval[0]))
                .isNotCloseTo(onHead[0], within(1e-2 * onHead[0]));
        com.fasterxml.jackson.databind.JsonNode metadata = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(dir.resolve("runs/with-eval/final_240/cfg.json").toFile()).path("metadata");
        assertThat(metadata.path("eval_dataset_path").asText()).isEqualTo(dir.resolve("eval.jsonl").toString());
        assertThat(metadata.path("eval_dataset_split").asText()).isEqualTo("train");
        assertThat(metadata.path("eval_windows").asLong()).isEqualTo(windows);
    }

    /** Forty documents, each {@code start}, its number and {@code end}, as JSON Lines in {@code file} under the test's folder. */
    private void corpus(String file, String start, String end) throws IOException {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            lines.append("{\"text\": \"").append(start).append(i).append(end).append("\"}\n");
        }
        Files.writeString(dir.resolve(file), lines);
    }

    private List<long[][]> heldOutBatches(String run) throws Exception {
        TrainingRunSpec spec = TrainingRuns.parse(run, "test").get(0).getSpec();
        try (LanguageModelData data = LanguageModelData.open(spec, HOOKS.subList(0, 1), Device.cpu(), new ModelSources(dir, null, Map.of()))) {
            return data.heldOutBatches();
        }
    }

    static SaeState state(String name, int hookIndex, JumpReluSae sae, TrainingRunSpec spec, NDManager manager) {
        SaeDefinition definition = new SaeDefinition("spec", name, HOOKS.get(hookIndex).toString(), spec.sae, spec.training, 0);
        return new SaeState(definition, hookIndex, sae, 1.0, manager);
    }


    /** W_enc = [I, -I], W_dec = [I; -I], no biases, thresholds 0: f = [relu(x), relu(-x)], x̂ = x. */
    static JumpReluSae exact(int dIn, NDManager manager) {
        return withDecoder(dIn, true, manager);
    }

    /** The exact SAE's encoder with a zero decoder: its reconstruction is zero. */
    static JumpReluSae silent(int dIn, NDManager manager) {
        return withDecoder(dIn, false, manager);
    }

    private static JumpReluSae withDecoder(int dIn, boolean reconstructs, NDManager manager) {
        SaeSpec spec = new SaeSpec();
        spec.dSae = 2 * dIn;
        NDArray identity = manager.eye(dIn);
        NDArray encoder = identity.concat(identity.neg(), 1);
        return JumpReluSae.fromParameters(JumpReluSae.Config.of(spec, dIn), manager, Map.of(
                JumpReluSae.W_ENC, encoder,
                JumpReluSae.W_DEC, reconstructs ? encoder.transpose() : manager.zeros(new Shape(2L * dIn, dIn)),
                JumpReluSae.B_ENC, manager.zeros(new Shape(2L * dIn)),
                JumpReluSae.B_DEC, manager.zeros(new Shape(dIn)),
                JumpReluSae.THRESHOLD, manager.zeros(new Shape(2L * dIn))));
    }

    /** Mean next-token CE clean and with the hook zeroed, and mean KL(clean ‖ zeroed) summed over the vocabulary, in float64. */
    static double[] referenceLosses(Path model, List<long[][]> batches) throws IOException {
        ReferenceQwen3 reference = new ReferenceQwen3(model);
        double clean = 0;
        double ablated = 0;
        double kl = 0;
        long predicted = 0;
        long tokens = 0;
        for (long[][] batch : batches) {
            for (long[] window : batch) {
                double[][] p = logSoftmax(reference.run(window).get("logits"));
                double[][] q = logSoftmax(reference.run(window, HOOK, x -> new double[x.length][x[0].length]).get("logits"));
                for (int t = 0; t < window.length; t++) {
                    if (t + 1 < window.length) {
                        clean -= p[t][(int) window[t + 1]];
                        ablated -= q[t][(int) window[t + 1]];
                        predicted++;
                    }
                    for (int v = 0; v < p[t].length; v++) {
                        kl += Math.exp(p[t][v]) * (p[t][v] - q[t][v]);
                    }
                    tokens++;
                }
            }
        }
        return new double[]{clean / predicted, ablated / predicted, kl / tokens};
    }

    static double[][] logSoftmax(double[][] logits) {
        double[][] out = new double[logits.length][];
        for (int t = 0; t < logits.length; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (double l : logits[t]) {
                max = Math.max(max, l);
            }
            double sum = 0;
            for (double l : logits[t]) {
                sum += Math.exp(l - max);
            }
            double log = max + Math.log(sum);
            out[t] = new double[logits[t].length];
            for (int v = 0; v < logits[t].length; v++) {
                out[t][v] = logits[t][v] - log;
            }
        }
        return out;
    }
}
