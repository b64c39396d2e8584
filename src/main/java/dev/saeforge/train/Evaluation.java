package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.data.SyntheticSuperposition;
import dev.saeforge.sae.RuntimeNormalization;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.tensor.Torch;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The SAE on held-out activations it never trained on, as SAELens evaluates it (reference
 * §2.7), in the activations' own units (an unfolded activation scale is applied on the way in
 * and undone on the way out):
 * <ul>
 * <li>explained variance with the correct definition, 1 - E‖x - x̂‖² / (E‖x‖² - ‖E x‖²), mean
 *     L0 (latents > 0 per token) and MSE (squared error summed over d_in, averaged over tokens);</li>
 * <li>for a language model, on its held-out windows: the next-token cross-entropy with the SAE's
 *     reconstruction spliced in at the hook, without it, and with the hook zero-ablated, averaged
 *     over every predicted token; the CE loss score (CE_abl - CE_sae) / (CE_abl - CE_clean); and
 *     KL(original ‖ spliced) and KL(original ‖ ablated), summed over the vocabulary and averaged
 *     over tokens, with the KL score (KL_abl - KL_sae) / KL_abl;</li>
 * <li>for a synthetic source, how many ground-truth directions some decoder row recovers.</li>
 * </ul>
 */
public record Evaluation(long rows, double explainedVariance, double l0, double mse,
                         Integer groundTruthRecovered, Integer groundTruthFeatures, Downstream downstream) {

    /** How the language model fares with the SAE spliced in (null for synthetic sources). */
    public record Downstream(double ceLossWithSae, double ceLossWithoutSae, double ceLossWithAblation, double ceLossScore,
                             double klDivWithSae, double klDivWithAblation, double klDivScore) {
    }

    /** Running sums of the reconstruction statistics over held-out rows. */
    static final class Reconstruction {
        private final ReconstructionMetrics metrics;

        Reconstruction(int dIn) {
            this.metrics = new ReconstructionMetrics(dIn);
        }

        /** Adds the rows {@code x} [n, d_in]; returns the SAE's reconstruction of them, in their units. */
        NDArray add(NDArray x, TrainingSae sae, double scale) {
            RuntimeNormalization.Batch input = sae.normalise(scale == 1.0 ? x : x.mul(scale));
            NDArray features = sae.encode(input.input());
            NDArray reconstruction = input.output(sae.decode(features));
            if (scale != 1.0) {
                reconstruction = reconstruction.divi(scale);
            }
            metrics.add(x, Torch.scalar(reconstruction.sub(x).square().sum()), Torch.scalar(features.gt(0).sum()));
            return reconstruction;
        }

        Evaluation evaluation(Integer recovered, Integer features, Downstream downstream) {
            return new Evaluation(metrics.rows(), metrics.explainedVariance(), metrics.l0(), metrics.mse(), recovered, features, downstream);
        }
    }

    /** A latent recovers a ground-truth direction when their cosine similarity exceeds this. */
    public static final double RECOVERY_COSINE = 0.9;

    /** Ground-truth directions with a decoder row of cosine similarity above {@link #RECOVERY_COSINE}. */
    static int recoveredDirections(TrainingSae sae, SyntheticSuperposition source, NDManager manager) {
        try (NDScope scope = new NDScope()) {
            NDArray truth = manager.create(source.directions(), new Shape(source.features(), source.dIn()));
            NDArray decoder = sae.parameters().get(TrainingSae.W_DEC);
            NDArray rows = decoder.div(decoder.norm(new int[]{1}, true).maximum(1e-12));
            NDArray cosines = truth.toDevice(decoder.getDevice(), false).matMul(rows.transpose());   // [features, d_sae]
            return (int) cosines.max(new int[]{1}).gt(RECOVERY_COSINE).sum().getLong();
        }
    }

    /** The evaluation as recorded in checkpoint manifests, cfg.json metadata and run summaries: SAELens' metric names. */
    public Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("evaluation_rows", rows);
        out.put("explained_variance", explainedVariance);
        out.put("l0", l0);
        out.put("mse", mse);
        if (downstream != null) {
            out.put("ce_loss_score", downstream.ceLossScore());
            out.put("ce_loss_with_sae", downstream.ceLossWithSae());
            out.put("ce_loss_without_sae", downstream.ceLossWithoutSae());
            out.put("ce_loss_with_ablation", downstream.ceLossWithAblation());
            out.put("kl_div_score", downstream.klDivScore());
            out.put("kl_div_with_sae", downstream.klDivWithSae());
            out.put("kl_div_with_ablation", downstream.klDivWithAblation());
        }
        if (groundTruthRecovered != null) {
            out.put("ground_truth_recovered", groundTruthRecovered);
            out.put("ground_truth_features", groundTruthFeatures);
        }
        return out;
    }

    /** Reads back what {@link #toJson()} wrote (a checkpoint's record of it); null if there is none. */
    static Evaluation fromJson(Map<String, Object> json) {
        if (!(json.get("explained_variance") instanceof Number ev) || !(json.get("l0") instanceof Number l0)) {
            return null;
        }
        Downstream downstream = null;
        if (json.get("ce_loss_score") instanceof Number) {
            downstream = new Downstream(number(json, "ce_loss_with_sae"), number(json, "ce_loss_without_sae"),
                    number(json, "ce_loss_with_ablation"), number(json, "ce_loss_score"), number(json, "kl_div_with_sae"),
                    number(json, "kl_div_with_ablation"), number(json, "kl_div_score"));
        }
        return new Evaluation(json.get("evaluation_rows") instanceof Number rows ? rows.longValue() : 0, ev.doubleValue(), l0.doubleValue(),
                json.get("mse") instanceof Number mse ? mse.doubleValue() : Double.NaN,
                json.get("ground_truth_recovered") instanceof Number r ? r.intValue() : null,
                json.get("ground_truth_features") instanceof Number f ? f.intValue() : null, downstream);
    }

    private static double number(Map<String, Object> json, String key) {
        return json.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
