package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.tensor.Torch;

import java.util.Map;

/**
 * The standard ReLU SAE as SAELens ≥ 6 trains it (StandardTrainingSAE).
 *
 * <pre>
 *   h    = (x - b_dec) W_enc + b_enc
 *   f    = ReLU(h)
 *   x̂    = f W_dec + b_dec
 *   loss = mean_n Σ_d (x̂ - x)²  +  λ_t mean_n ‖f ⊙ |W_dec|‖_p     |W_dec|: each latent's decoder-row norm
 * </pre>
 *
 * λ_t rises linearly over l1WarmUpSteps. The decoder rows are free (no unit-norm constraint): the
 * penalty weighs each latent by its decoder norm instead, so shrinking f and growing its row does
 * not escape it. The backward pass is written out, as for JumpReLU.
 */
public final class StandardSae extends BaseSae {

    /** SAELens' StandardTrainingSAEConfig, for activations of width dIn. */
    public record Config(int dIn, int dSae, double lpNorm, double decoderInitNorm, boolean applyBDecToInput,
                         SaeSpec.ActivationNormalization normalizeActivations) {

        public static Config of(SaeSpec sae, int dIn) {
            SaeSpec s = sae.withDefaults();
            int dSae = s.dSae != null ? s.dSae : Math.multiplyExact(s.expansionFactor, dIn);
            return new Config(dIn, dSae, s.lpNorm, s.decoderInitNorm, s.applyBDecToInput, s.normalizeActivations);
        }

        /** W_enc and W_dec, b_enc and b_dec. */
        public long parameters() {
            return 2L * dIn * dSae + dSae + dIn;
        }

        /** The arrays {@link #forwardBackward} leaves for the caller's scope, counted from its code (ArchitectureRowArraysTest). */
        public RowArrays stepArrays() {
            boolean l1 = lpNorm == 1.0;
            return new RowArrays(
                    // h (f in place), 1[h > 0], g_f (g_h in place); Lp: v = f|W_dec|, its masked copy, the
                    // mask as floats, v^(p-1), v^p, the slope times |W_dec| and its product with f
                    3 + (l1 ? 0 : 7),
                    // v > 0 for Lp (the ReLU mask is built without a comparison, see MaskBuffers)
                    l1 ? 0 : 1,
                    // x̂ - x and its square; x - b_dec
                    2 + (applyBDecToInput ? 1 : 0));
        }

        /** The arrays {@link #encode} then {@link #decode} leave for the caller's scope. */
        public RowArrays encodeDecodeArrays() {
            // h, ReLU(h); x̂; x - b_dec
            return new RowArrays(2, 0, 1 + (applyBDecToInput ? 1 : 0));
        }
    }

    /** The standard SAE as the trainer sees it. */
    public static final SaeArchitecture ARCHITECTURE = new SaeArchitecture() {
        @Override
        public String name() {
            return "standard";
        }

        @Override
        public int dSae(SaeSpec spec, int dIn) {
            return Config.of(spec, dIn).dSae();
        }

        @Override
        public TrainingSae initialise(SaeSpec spec, int dIn, NDManager manager, long seed) {
            Config config = Config.of(spec, dIn);
            Initialization.Weights w = Initialization.Weights.of(config.dIn(), config.dSae(), config.decoderInitNorm(), manager,
                    DataType.FLOAT32, seed);
            return new StandardSae(config, w);
        }

        @Override
        public TrainingSae fromParameters(SaeSpec spec, int dIn, NDManager manager, Map<String, NDArray> values) {
            Config config = Config.of(spec, dIn);
            Initialization.Weights w = Initialization.Weights.copied("standard", config.dIn(), config.dSae(), manager, values);
            return new StandardSae(config, w);
        }

        @Override
        public Map<String, Object> cfg(SaeSpec spec, int dIn) {
            Config config = Config.of(spec, dIn);
            SaeSpec s = spec.withDefaults();
            Map<String, Object> cfg = SaeArchitecture.sharedCfg(name(), config.dIn(), config.dSae(), config.applyBDecToInput(),
                    config.decoderInitNorm());
            cfg.put("l1_coefficient", s.l1Coefficient);
            cfg.put("lp_norm", s.lpNorm);
            cfg.put("l1_warm_up_steps", s.l1WarmUpSteps);
            return cfg;
        }

        @Override
        public Losses losses() {
            return new Losses("l1_loss", null, "l1_coefficient");
        }

        @Override
        public double sparsityCoefficient(SaeSpec spec) {
            return spec.withDefaults().l1Coefficient;
        }

        @Override
        public long sparsityWarmUpSteps(SaeSpec spec) {
            return spec.withDefaults().l1WarmUpSteps;
        }

        @Override
        public boolean needsDeadMask(SaeSpec spec) {
            return false;
        }

        @Override
        public long parameters(SaeSpec spec, int dIn) {
            return Config.of(spec, dIn).parameters();
        }

        @Override
        public RowArrays stepArrays(SaeSpec spec, int dIn) {
            return Config.of(spec, dIn).stepArrays();
        }

        @Override
        public RowArrays encodeDecodeArrays(SaeSpec spec, int dIn) {
            return Config.of(spec, dIn).encodeDecodeArrays();
        }
    };

    private final Config config;

    StandardSae(Config config, Initialization.Weights w) {
        super(w, config.applyBDecToInput(), config.normalizeActivations());
        this.config = config;
    }

    @Override
    public StepOutput forwardBackward(NDArray x, StepInput input) {
        long n = x.getShape().get(0);
        double lambda = input.sparsityCoefficient();

        RuntimeNormalization.Batch norm = normalise(x);
        NDArray saeIn = encoderInput(norm.input());
        NDArray pre = preActivations(saeIn);                                    // h
        NDArray active = MaskBuffers.positive(masks.copy("active", pre));      // 1[h > 0]
        NDArray f = pre.muli(active);                                           // ReLU(h); h is gone
        NDArray error = norm.output(f.matMul(wDec).addi(bDec)).subi(x);         // x̂ - x
        NDArray mse = error.square().sum().divi(n);
        NDArray firing = Torch.columnSums(active);

        NDArray gradError = norm.backward(error.muli(2.0 / n));
        NDArray gradF = gradError.matMul(wDec.transpose());
        NDArray gradWDec = f.transpose().matMul(gradError);
        NDArray gradBDec = gradError.sum(new int[]{0});

        // λ/n Σ_n ‖v_n‖_p with v = f ⊙ |W_dec|: d/dv = v^(p-1) ‖v‖^(1-p), which for p = 1 is 1 where
        // v > 0 (torch's norm gives sign(v), so 0 where the latent is off).
        NDArray norms = DecoderNorms.of(wDec);
        NDArray sparsity;
        double scale = lambda / n;
        if (config.lpNorm() == 1.0) {
            // Σ_n Σ_i f_ni |W_dec,i| = Σ_i |W_dec,i| Σ_n f_ni: one column sum, no [N, d_sae] product.
            NDArray columnSums = Torch.columnSums(f);
            sparsity = columnSums.mul(norms).sum().muli(scale);
            gradF.addi(norms.mul(scale));                                       // masked by 1[h > 0] below
            gradWDec.addi(DecoderNorms.gradient(wDec, columnSums.muli(scale), norms));
        } else {
            double p = config.lpNorm();
            NDArray v = f.mul(norms);
            NDArray positive = v.gt(0);
            NDArray powered = NDArrays.where(positive, v, v.onesLike()).pow(p - 1).muli(positive.toType(v.getDataType(), false));
            NDArray rowNorms = v.pow(p).sum(new int[]{1}, true).pow(1.0 / p);   // ‖v_n‖_p
            sparsity = rowNorms.sum().muli(scale);
            NDArray safe = rowNorms.add(rowNorms.eq(0).toType(rowNorms.getDataType(), false));
            NDArray gradV = powered.muli(safe.pow(1 - p));                       // d‖v_n‖_p / dv

            gradF.addi(gradV.mul(norms).muli(scale));
            gradWDec.addi(DecoderNorms.gradient(wDec, Torch.columnSums(gradV.muli(f)).muli(scale), norms));
        }
        NDArray gradPre = gradF.muli(active);

        finishGradients(saeIn, gradPre, gradWDec, gradBDec, Map.of());
        return new StepOutput(mse, sparsity, x.getManager().zeros(new Shape(), pre.getDataType()), firing);
    }

    @Override
    public NDArray encode(NDArray x) {
        return preActivations(encoderInput(x)).maximum(0f);
    }

}
