package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.tensor.Torch;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The JumpReLU SAE as SAELens >= 6.48 trains it (Rajamanoharan et al. 2024, with Anthropic's
 * tanh sparsity loss and pre-activation loss as options).
 *
 * <pre>
 *   h    = (x - b_dec) W_enc + b_enc             pre-activations [N, d_sae]
 *   f    = h * 1[h > θ]                           JumpReLU
 *   x̂    = f W_dec + b_dec
 *   loss = mean_n Σ_d (x̂ - x)²                    MSE: summed over d_in, averaged over tokens
 *        + λ mean_n Σ_i H(h - θ)                   "step" L0 (or λ mean_n Σ_i tanh(c f |W_dec,i|))
 *        + α mean_n Σ_i relu(θ - h) dead_i |W_dec,i|   pre-activation loss on dead latents
 * </pre>
 *
 * The threshold θ is a parameter in its own right (not exp of one), kept at or above 0.
 * Gradients follow SAELens' straight-through estimators with the rectangle kernel
 * K(u) = 1[-1/2 < u < 1/2] and bandwidth ε: JumpReLU passes g·1[h > θ] to h and
 * Σ_n -(θ/ε) K((h-θ)/ε) g to θ; the step function passes nothing to h and
 * Σ_n -(1/ε) K((h-θ)/ε) g to θ.
 *
 * <p>The backward pass is written out rather than taped: the elementwise passes over the
 * [N, d_sae] tensors are the only cost besides the five matmuls, so each one is done once.
 */
public final class JumpReluSae implements TrainingSae {

    /** What shapes a JumpReLU SAE and its training losses; SAELens' JumpReLUTrainingSAEConfig. */
    public record Config(
            int dIn,
            int dSae,
            double bandwidth,
            double initThreshold,
            SaeSpec.SparsityLossMode sparsityLossMode,
            double tanhScale,
            /** null disables the pre-activation loss. */
            Double preActLossCoefficient,
            double decoderInitNorm,
            boolean applyBDecToInput) {

        /** The config a TrainingRun's sae section describes, for activations of width dIn. */
        public static Config of(SaeSpec sae, int dIn) {
            int dSae = sae.dSae != null ? sae.dSae : Math.multiplyExact(sae.expansionFactor, dIn);
            return new Config(dIn, dSae, sae.bandwidth, sae.initThreshold, sae.sparsityLossMode, sae.tanhScale,
                    sae.preActLossCoefficient, sae.decoderInitNorm, sae.applyBDecToInput);
        }

        /** W_enc and W_dec, b_enc, b_dec and the threshold. */
        public long parameters() {
            return 2L * dIn * dSae + 2L * dSae + dIn;
        }

        /**
         * The arrays {@link #forwardBackward} leaves for the caller's scope besides the gradients,
         * counted from its code: recount them when it changes (JumpReluSaeRowArraysTest does).
         */
        public RowArrays stepArrays() {
            boolean tanh = sparsityLossMode == SaeSpec.SparsityLossMode.TANH;
            boolean preAct = preActLossCoefficient != null;
            return new RowArrays(
                    // h (f in place), 1[h > θ], the kernel window, g_f (g_h in place); tanh: f|W_dec|, t, the slope
                    // times |W_dec|; pre-activation loss: θ - h, 1[θ > h] and its weighted copy
                    4 + (tanh ? 3 : 0) + (preAct ? 3 : 0),
                    // h > θ, and the window's two comparisons and their conjunction; θ - h > 0
                    4 + (preAct ? 1 : 0),
                    // x̂ - x and its square; x - b_dec
                    2 + (applyBDecToInput ? 1 : 0));
        }

        /** The arrays {@link #encode} then {@link #decode} leave for the caller's scope. */
        public RowArrays encodeDecodeArrays() {
            // h (f in place) and 1[h > θ]; the comparison; x̂; x - b_dec
            return new RowArrays(2, 1, 1 + (applyBDecToInput ? 1 : 0));
        }
    }

    public static final String THRESHOLD = "threshold";

    /** JumpReLU as the trainer sees it. */
    public static final SaeArchitecture ARCHITECTURE = new SaeArchitecture() {
        @Override
        public String name() {
            return "jumprelu";
        }

        @Override
        public int dSae(SaeSpec spec, int dIn) {
            return Config.of(spec, dIn).dSae();
        }

        @Override
        public TrainingSae initialise(SaeSpec spec, int dIn, NDManager manager, long seed) {
            return JumpReluSae.initialise(Config.of(spec, dIn), manager, DataType.FLOAT32, seed);
        }

        @Override
        public TrainingSae fromParameters(SaeSpec spec, int dIn, NDManager manager, Map<String, NDArray> values) {
            return JumpReluSae.fromParameters(Config.of(spec, dIn), manager, values);
        }

        @Override
        public Map<String, Object> cfg(SaeSpec spec, int dIn) {
            Config config = Config.of(spec, dIn);
            Map<String, Object> cfg = new LinkedHashMap<>();
            cfg.put("architecture", name());
            cfg.put("d_in", config.dIn());
            cfg.put("d_sae", config.dSae());
            cfg.put("apply_b_dec_to_input", config.applyBDecToInput());
            cfg.put("decoder_init_norm", config.decoderInitNorm());
            cfg.put("jumprelu_init_threshold", config.initThreshold());
            cfg.put("jumprelu_bandwidth", config.bandwidth());
            cfg.put("jumprelu_sparsity_loss_mode", config.sparsityLossMode() == SaeSpec.SparsityLossMode.STEP ? "step" : "tanh");
            cfg.put("jumprelu_tanh_scale", config.tanhScale());
            cfg.put("l0_coefficient", spec.l0Coefficient);
            cfg.put("l0_warm_up_steps", spec.l0WarmUpSteps);
            cfg.put("pre_act_loss_coefficient", config.preActLossCoefficient());
            return cfg;
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
    private final NDManager manager;
    private final NDArray wEnc;
    private final NDArray wDec;
    private final NDArray bEnc;
    private final NDArray bDec;
    private final NDArray threshold;
    private final Map<String, NDArray> parameters;
    private Map<String, NDArray> gradients = Map.of();

    private JumpReluSae(Config config, NDManager manager, NDArray wEnc, NDArray wDec, NDArray bEnc, NDArray bDec, NDArray threshold) {
        this.config = config;
        this.manager = manager;
        this.wEnc = wEnc;
        this.wDec = wDec;
        this.bEnc = bEnc;
        this.bDec = bDec;
        this.threshold = threshold;
        this.parameters = new LinkedHashMap<>();
        parameters.put(W_ENC, wEnc);
        parameters.put(W_DEC, wDec);
        parameters.put(B_ENC, bEnc);
        parameters.put(B_DEC, bDec);
        parameters.put(THRESHOLD, threshold);
    }

    /**
     * A freshly initialised SAE, as SAELens initialises one: W_dec Kaiming-uniform with its rows
     * rescaled to {@code decoderInitNorm}, W_enc = W_decᵀ, zero biases, θ = {@code initThreshold}.
     * The random numbers come from {@code seed} alone, so the same seed gives the same SAE on any
     * device. Parameters live in a sub-manager of {@code parent}.
     */
    public static JumpReluSae initialise(Config config, NDManager parent, DataType dtype, long seed) {
        float[] decoder = Initialization.kaimingUniformRows(config.dSae(), config.dIn(), config.decoderInitNorm(), new SplittableRandom(seed));
        NDManager manager = parent.newSubManager();
        NDArray wDec = manager.create(decoder, new Shape(config.dSae(), config.dIn())).toType(dtype, false);
        NDArray wEnc = wDec.transpose().duplicate();
        NDArray bEnc = manager.zeros(new Shape(config.dSae()), dtype);
        NDArray bDec = manager.zeros(new Shape(config.dIn()), dtype);
        NDArray threshold = manager.full(new Shape(config.dSae()), (float) config.initThreshold(), dtype);
        return new JumpReluSae(config, manager, wEnc, wDec, bEnc, bDec, threshold);
    }

    /** An SAE with the given parameters (copied into its own sub-manager of {@code parent}), e.g. from a checkpoint. */
    public static JumpReluSae fromParameters(Config config, NDManager parent, Map<String, NDArray> values) {
        NDManager manager = parent.newSubManager();
        NDArray[] copies = new NDArray[5];
        String[] names = {W_ENC, W_DEC, B_ENC, B_DEC, THRESHOLD};
        Shape[] shapes = {new Shape(config.dIn(), config.dSae()), new Shape(config.dSae(), config.dIn()),
                new Shape(config.dSae()), new Shape(config.dIn()), new Shape(config.dSae())};
        for (int i = 0; i < names.length; i++) {
            NDArray value = values.get(names[i]);
            if (value == null) {
                throw new IllegalArgumentException("JumpReLU SAE parameter " + names[i] + " is missing");
            }
            if (!value.getShape().equals(shapes[i])) {
                throw new IllegalArgumentException("JumpReLU SAE parameter " + names[i] + " has shape " + value.getShape()
                        + "; expected " + shapes[i] + " for d_in " + config.dIn() + ", d_sae " + config.dSae());
            }
            copies[i] = manager.create(value.getShape(), value.getDataType());
            Torch.assign(copies[i], value);
        }
        return new JumpReluSae(config, manager, copies[0], copies[1], copies[2], copies[3], copies[4]);
    }

    /** W_enc·s, W_dec/s, b_dec/s: the same reconstruction of raw inputs as of inputs scaled by s. */
    @Override
    public void foldActivationScale(double scale) {
        if (scale != 1.0) {
            wEnc.muli(scale);
            wDec.divi(scale);
            bDec.divi(scale);
        }
    }

    public Config config() {
        return config;
    }

    @Override
    public int dIn() {
        return config.dIn();
    }

    @Override
    public int dSae() {
        return config.dSae();
    }

    @Override
    public Map<String, NDArray> parameters() {
        return parameters;
    }

    @Override
    public Map<String, NDArray> gradients() {
        return gradients;
    }

    @Override
    public StepOutput forwardBackward(NDArray x, StepInput input) {
        long n = x.getShape().get(0);
        double eps = config.bandwidth();
        double lambda = input.sparsityCoefficient();

        // Forward. Everything that needs h is taken from it before f overwrites it in place: each
        // fresh [N, d_sae] array costs as much as a pass over it, so the step allocates few.
        NDArray saeIn = config.applyBDecToInput() ? x.sub(bDec) : x;
        NDArray pre = saeIn.matMul(wEnc).addi(bEnc);                            // h
        NDArray active = pre.gt(threshold).toType(pre.getDataType(), false);     // 1[h > θ]
        // The rectangle kernel of both estimators, K((h - θ)/ε) = 1[θ - ε/2 < h < θ + ε/2]: two
        // comparisons against [d_sae] edges cost less than subtracting, scaling and taking |.| of [N, d_sae].
        NDArray window = pre.gt(threshold.sub(eps / 2)).logicalAnd(pre.lt(threshold.add(eps / 2)))
                .toType(pre.getDataType(), false);
        PreActivationLoss preAct = config.preActLossCoefficient() != null && input.deadMask() != null
                ? PreActivationLoss.of(pre, threshold)
                : null;
        NDArray f = pre.muli(active);                                            // JumpReLU(h); h is gone
        NDArray error = f.matMul(wDec).addi(bDec).subi(x);                       // x̂ - x
        NDArray mse = error.square().sum().divi(n);
        NDArray firing = active.sum(new int[]{0});

        // Backward of the MSE into f and the decoder.
        NDArray gradError = error.muli(2.0 / n);                                  // d mse / d x̂
        NDArray gradF = gradError.matMul(wDec.transpose());
        NDArray gradWDec = f.transpose().matMul(gradError);
        NDArray gradBDec = gradError.sum(new int[]{0});

        NDArray gradThreshold;
        NDArray sparsity;
        if (config.sparsityLossMode() == SaeSpec.SparsityLossMode.STEP) {
            // λ mean_n Σ_i H(h - θ): its value is the firing count; its θ-gradient the step STE.
            sparsity = firing.sum().muli(lambda / n);
            gradThreshold = window.sum(new int[]{0}).muli(-lambda / (n * eps));
        } else {
            // λ mean_n Σ_i tanh(c f |W_dec,i|): gradients into f (then θ via JumpReLU) and the decoder norms.
            double c = config.tanhScale();
            NDArray norms = wDec.norm(new int[]{1});
            NDArray t = f.mul(norms).muli(c).tanh();
            sparsity = t.sum().muli(lambda / n);
            NDArray slope = t.muli(t).negi().addi(1).muli(lambda * c / n);     // λ c / n · (1 - tanh²)
            gradF.addi(slope.mul(norms));
            NDArray gradNorms = slope.muli(f).sum(new int[]{0});
            gradWDec.addi(rowScaled(wDec, gradNorms, norms));
            gradThreshold = threshold.zerosLike();
        }
        // JumpReLU: θ gets Σ_n -(θ/ε) K g_f (the window is used up here); h gets g_f 1[h > θ].
        gradThreshold.addi(window.muli(gradF).sum(new int[]{0}).muli(threshold).muli(-1.0 / eps));
        NDArray gradPre = gradF.muli(active);

        NDArray auxiliary = x.getManager().zeros(new Shape(), pre.getDataType());
        if (preAct != null) {
            // α mean_n Σ_i relu(θ - h) dead_i |W_dec,i|.
            double alpha = config.preActLossCoefficient();
            NDArray norms = wDec.norm(new int[]{1});
            NDArray weight = input.deadMask().mul(norms).muli(alpha / n);                // α/n dead_i |W_dec,i|
            auxiliary = preAct.depth.mul(weight).sum();
            gradPre.subi(preAct.below.mul(weight));
            gradThreshold.addi(preAct.below.sum(new int[]{0}).muli(weight));
            NDArray gradNorms = preAct.depth.mul(input.deadMask()).muli(alpha / n);
            gradWDec.addi(rowScaled(wDec, gradNorms, norms));
        }

        // Backward into the encoder: h = (x - b_dec) W_enc + b_enc.
        NDArray gradWEnc = saeIn.transpose().matMul(gradPre);
        NDArray gradBEnc = gradPre.sum(new int[]{0});
        if (config.applyBDecToInput()) {
            gradBDec.subi(gradBEnc.expandDims(0).matMul(wEnc.transpose()).squeeze(0));
        }

        Map<String, NDArray> grads = new LinkedHashMap<>();
        grads.put(W_ENC, gradWEnc);
        grads.put(W_DEC, gradWDec);
        grads.put(B_ENC, gradBEnc);
        grads.put(B_DEC, gradBDec);
        grads.put(THRESHOLD, gradThreshold);
        gradients = grads;
        return new StepOutput(mse, sparsity, auxiliary, firing);
    }

    /** What the pre-activation loss needs of h: 1[θ > h], and Σ_n relu(θ - h) per latent. */
    private record PreActivationLoss(NDArray below, NDArray depth) {
        static PreActivationLoss of(NDArray pre, NDArray threshold) {
            NDArray gap = threshold.sub(pre);                                        // θ - h
            NDArray below = gap.gt(0).toType(gap.getDataType(), false);
            return new PreActivationLoss(below, gap.muli(below).sum(new int[]{0}));
        }
    }

    /**
     * d(loss)/d(W_dec) from d(loss)/d|W_dec,i|: row i of W_dec scaled by g_i / |W_dec,i|. A zero
     * row has a zero gradient, as torch's norm backward gives.
     */
    private static NDArray rowScaled(NDArray wDec, NDArray gradNorms, NDArray norms) {
        NDArray safeNorms = norms.add(norms.eq(0).toType(norms.getDataType(), false));
        return wDec.mul(gradNorms.div(safeNorms).expandDims(1));
    }

    @Override
    public void afterOptimizerStep() {
        threshold.muli(threshold.gte(0).toType(threshold.getDataType(), false));
    }

    @Override
    public NDArray encode(NDArray x) {
        NDArray saeIn = config.applyBDecToInput() ? x.sub(bDec) : x;
        NDArray pre = saeIn.matMul(wEnc).addi(bEnc);
        return pre.muli(pre.gt(threshold).toType(pre.getDataType(), false));
    }

    @Override
    public NDArray decode(NDArray features) {
        return features.matMul(wDec).addi(bDec);
    }

    @Override
    public void close() {
        manager.close();
    }
}
