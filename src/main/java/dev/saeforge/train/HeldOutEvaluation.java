package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.data.LanguageModelData;
import dev.saeforge.data.SyntheticSuperposition;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.Qwen3Model;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Every SAE of a run on held-out data it never trained on, as SAELens evaluates it (reference
 * §2.7; the figures are {@link Evaluation}'s), in the activations' own units: an unfolded
 * activation scale is applied on the way in and undone on the way out.
 */
interface HeldOutEvaluation {

    /** The evaluation of each of {@code saes}, in order. */
    List<Evaluation> evaluate(List<SaeState> saes, NDManager manager);

    /**
     * Reconstruction on {@code batches} batches of {@code batchSize} rows of {@code source}'s
     * held-out stream, every SAE on the same rows; with the ground truth of a synthetic source
     * ({@code groundTruth}, else null), how many of its directions each SAE recovers.
     */
    static HeldOutEvaluation rows(ActivationSource source, int batchSize, int batches, SyntheticSuperposition groundTruth) {
        return (saes, manager) -> {
            List<Evaluation.Reconstruction> stats = new ArrayList<>();
            saes.forEach(sae -> stats.add(new Evaluation.Reconstruction(sae.sae().dIn())));
            try (ActivationSource heldOut = source.heldOut()) {
                for (int b = 0; b < batches; b++) {
                    try (NDScope scope = new NDScope()) {
                        NDList x = heldOut.next(manager, batchSize);
                        for (int i = 0; i < saes.size(); i++) {
                            SaeState sae = saes.get(i);
                            stats.get(i).add(x.get(sae.hookIndex()), sae.sae(), sae.unfoldedScale());
                        }
                    }
                }
            }
            List<Evaluation> out = new ArrayList<>();
            for (int i = 0; i < saes.size(); i++) {
                Integer recovered = null;
                Integer features = null;
                if (groundTruth != null) {
                    try (NDManager scratch = manager.newSubManager()) {
                        features = groundTruth.features();
                        recovered = Evaluation.recoveredDirections(saes.get(i).sae(), groundTruth, scratch);
                    }
                }
                out.add(stats.get(i).evaluation(recovered, features, null));
            }
            return out;
        };
    }

    /**
     * The held-out windows of {@code data} through its model: per batch and per hook (of
     * {@code hooks}, the stream's, which the SAEs' hook indices refer to), one forward pass to the
     * hook, then the rest of the model with the activation as it was, with each SAE's
     * reconstruction spliced in, and with zeros. SAEs on the same hook share the clean and
     * ablated passes. The layers after the deepest hook and lm_head are in memory only while
     * this runs.
     */
    static HeldOutEvaluation spliced(LanguageModelData data, List<HookPoint> hooks) {
        return (saes, manager) -> {
            Qwen3Model model = data.model();
            int n = saes.size();
            List<Evaluation.Reconstruction> stats = new ArrayList<>();
            saes.forEach(sae -> stats.add(new Evaluation.Reconstruction(sae.sae().dIn())));
            // Per SAE: CE with it, CE clean, CE ablated (sums over predicted tokens); KL with it, KL ablated (over tokens).
            double[][] sums = new double[n][5];
            long[][] counts = new long[n][2];   // predicted tokens, tokens
            // The SAEs on each hook, and the replacements they splice in there (each SAE's reconstruction, then zeros).
            List<List<Integer>> onHook = new ArrayList<>();
            List<List<UnaryOperator<NDArray>>> replacements = new ArrayList<>();
            for (int h = 0; h < hooks.size(); h++) {
                onHook.add(new ArrayList<>());
                replacements.add(new ArrayList<>());
            }
            for (int i = 0; i < n; i++) {
                SaeState sae = saes.get(i);
                Evaluation.Reconstruction reconstruction = stats.get(i);
                onHook.get(sae.hookIndex()).add(i);
                replacements.get(sae.hookIndex()).add(x -> reconstruction.add(x, sae.sae(), sae.unfoldedScale()));
            }
            replacements.forEach(list -> list.add(NDArray::zerosLike));
            try {
                for (long[][] batch : data.heldOutBatches()) {
                    for (int h = 0; h < hooks.size(); h++) {
                        if (onHook.get(h).isEmpty()) {
                            continue;
                        }
                        try (NDScope scope = new NDScope()) {
                            Qwen3Model.SplicedLosses losses = model.losses(manager.create(batch), hooks.get(h), replacements.get(h));
                            List<Integer> those = onHook.get(h);
                            int ablated = those.size() + 1;
                            for (int j = 0; j < those.size(); j++) {
                                double[] s = sums[those.get(j)];
                                s[0] += losses.crossEntropy()[j + 1];
                                s[1] += losses.crossEntropy()[0];
                                s[2] += losses.crossEntropy()[ablated];
                                s[3] += losses.kl()[j + 1];
                                s[4] += losses.kl()[ablated];
                                counts[those.get(j)][0] += losses.predictedTokens();
                                counts[those.get(j)][1] += losses.tokens();
                            }
                        }
                    }
                }
            } finally {
                model.releaseLayersAfter(hooks.stream().mapToInt(HookPoint::layer).max().orElseThrow());
            }
            List<Evaluation> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                double[] s = sums[i];
                double ceSae = s[0] / counts[i][0];
                double ceClean = s[1] / counts[i][0];
                double ceAblated = s[2] / counts[i][0];
                double klSae = s[3] / counts[i][1];
                double klAblated = s[4] / counts[i][1];
                out.add(stats.get(i).evaluation(null, null, new Evaluation.Downstream(ceSae, ceClean, ceAblated,
                        (ceAblated - ceSae) / (ceAblated - ceClean), klSae, klAblated, (klAblated - klSae) / klAblated)));
            }
            return out;
        };
    }
}
