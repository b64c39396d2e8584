package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.SaeSpec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The BatchTopK SAE as SAELens ≥ 6.49 trains it (BatchTopKTrainingSAE, after Bussmann et al.
 * 2024): a {@link TopKSae} that keeps the k·N largest ReLU(s) of the whole batch instead of k per
 * row, so k is an average, and keeps a running threshold
 * <pre>
 *   θ ← (1 - r) θ + r · min{f > 0}        r = topk_threshold_lr, θ₀ = 0 (float64 in SAELens)
 * </pre>
 * which it is saved with as a JumpReLU SAE: f = ReLU(s)·1[s > θ], the decoder norms folded in.
 * Evaluation uses that JumpReLU form, since it is the SAE a researcher loads.
 */
public class BatchTopKSae extends TopKSae {
    public static final String TOPK_THRESHOLD = "topk_threshold";

    /** BatchTopK as the trainer sees it. */
    public static final SaeArchitecture ARCHITECTURE = new Architecture("batchtopk");

    /** The batch variants' architecture: saved as jumprelu. */
    static class Architecture extends TopKSae.Architecture {
        Architecture(String name) {
            super(name);
        }

        @Override
        TrainingSae make(Config config, Initialization.Weights w, Map<String, NDArray> saved) {
            return new BatchTopKSae(config, w, threshold(config, w, saved));
        }

        /** The running threshold: 0 for a fresh SAE, else the checkpoint's. */
        static NDArray threshold(Config config, Initialization.Weights w, Map<String, NDArray> saved) {
            return saved == null ? w.manager().zeros(new Shape(), DataType.FLOAT32)
                    : Initialization.copy("batchtopk", saved, TOPK_THRESHOLD, new Shape(), config.dIn(), config.dSae(), w.manager());
        }

        @Override
        Object kValue(Config config) {
            return config.k();
        }

        @Override
        public Map<String, Object> cfg(SaeSpec spec, int dIn) {
            Map<String, Object> cfg = super.cfg(spec, dIn);
            cfg.put("topk_threshold_lr", Config.of(spec, dIn).topkThresholdLr());
            return cfg;
        }

        @Override
        public Map<String, Object> inferenceCfg(SaeSpec spec, int dIn) {
            Map<String, Object> cfg = new LinkedHashMap<>(super.cfg(spec, dIn));
            cfg.keySet().retainAll(List.of("d_in", "d_sae", "apply_b_dec_to_input"));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("architecture", "jumprelu");
            out.putAll(cfg);
            return out;
        }

        @Override
        public long parameters(SaeSpec spec, int dIn) {
            return super.parameters(spec, dIn) + 1;
        }

        @Override
        public RowArrays stepArrays(SaeSpec spec, int dIn) {
            return Config.of(spec, dIn).stepArrays(true);
        }
    }

    private final NDArray threshold;

    BatchTopKSae(Config config, Initialization.Weights w, NDArray threshold) {
        super(config, w);
        this.threshold = threshold;
    }

    /** The k·N largest scores of the batch (flattened), as SAELens' BatchTopK picks them. */
    @Override
    protected NDArray selection(NDArray scores) {
        long rows = scores.getShape().get(0);
        int k = (int) (config.k() * rows);
        return keep(scores.flatten(), Math.min(k, (int) scores.size()), 0).reshape(scores.getShape());
    }

    /**
     * The running threshold's update, without reading anything back: with no latent kept, the
     * masked minimum is replaced by θ itself so θ stays put.
     */
    @Override
    protected void afterForward(NDArray featureActs, NDArray kept) {
        NDArray any = kept.max();                                                    // 1 if any f > 0, else 0
        NDArray smallest = featureActs.add(kept.neg().addi(1).muli(Float.MAX_VALUE)).min();
        NDArray target = smallest.mul(any).addi(threshold.mul(any.neg().addi(1)));
        double r = config.topkThresholdLr();
        threshold.muli(1 - r).addi(target.muli(r));
    }

    @Override
    public Map<String, NDArray> buffers() {
        return Map.of(TOPK_THRESHOLD, threshold);
    }

    /** The JumpReLU form it is saved as: f = ReLU(s)·1[s > θ]. */
    @Override
    public NDArray encode(NDArray x) {
        NDArray scores = scores(x);
        return scores.muli(scores.gt(threshold.maximum(0f)).toType(scores.getDataType(), false));
    }

    /** The threshold compares scaled scores, which fold by the same factor. */
    @Override
    public void foldActivationScale(double scale) {
        super.foldActivationScale(scale);
        if (scale != 1.0) {
            threshold.divi(scale);
        }
    }

    /** As SAELens saves it for inference: the TopK fold, and threshold = θ for every latent. */
    @Override
    public Map<String, NDArray> inferenceWeights() {
        Map<String, NDArray> out = new LinkedHashMap<>(super.inferenceWeights());
        out.put(THRESHOLD, threshold.broadcast(new Shape(config.dSae())).duplicate());
        return out;
    }
}
