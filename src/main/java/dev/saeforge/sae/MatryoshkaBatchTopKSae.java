package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import dev.saeforge.api.SaeSpec;

import java.util.Map;

/**
 * The Matryoshka BatchTopK SAE as SAELens ≥ 6.49 trains it (MatryoshkaBatchTopKTrainingSAE, after
 * Bussmann et al. 2025): a {@link BatchTopKSae} whose loss adds, for every inner width w of
 * matryoshka_widths, the MSE of the reconstruction from the first w latents alone,
 * <pre>
 *   loss += Σ_{w < d_sae} mean_n Σ_d (b_dec + Σ_{i < w} a_i W_dec,i - x)²
 * </pre>
 * so early latents learn the broad features. SAELens' defaults: the plain AuxK loss (not the
 * per-level one, use_matryoshka_aux_loss false), d_sae appended as the last width. {@link TopKSae}
 * computes the levels; this class only names the architecture. Saved as jumprelu, as BatchTopK.
 */
public final class MatryoshkaBatchTopKSae extends BatchTopKSae {

    /** Matryoshka BatchTopK as the trainer sees it. */
    public static final SaeArchitecture ARCHITECTURE = new BatchTopKSae.Architecture("matryoshka_batchtopk") {
        @Override
        TrainingSae make(Config config, Initialization.Weights w, Map<String, NDArray> saved) {
            return new MatryoshkaBatchTopKSae(config, w, threshold(config, w, saved));
        }

        @Override
        public Map<String, Object> cfg(SaeSpec spec, int dIn) {
            Map<String, Object> cfg = super.cfg(spec, dIn);
            cfg.put("matryoshka_widths", Config.of(spec, dIn).matryoshkaWidths());
            cfg.put("use_matryoshka_aux_loss", false);
            return cfg;
        }
    };

    private MatryoshkaBatchTopKSae(Config config, Initialization.Weights w, NDArray threshold) {
        super(config, w, threshold);
    }
}
