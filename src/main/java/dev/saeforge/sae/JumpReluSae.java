package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.tensor.Torch;

import java.util.Map;

/**
 * The JumpReLU SAE as SAELens >= 6.48 trains it (Rajamanoharan et al. 2024, with Anthropic's
 * tanh sparsity loss and pre-activation loss as options).
 *
 * <pre>
 *   h    = (x - b_dec) W_enc + b_enc             pre-activations [N, d_sae]
 *   f    = h * 1[h > θ]                           JumpReLU
 *   x̂    = f W_dec + b_dec
 *   loss = mean_n Σ_d (x̂ - x)²                    MSE: summed over d_in, averaged over tokens
 *        + λ L0,  L0 = mean_n Σ_i H(h - θ)         "step" L0 (or mean_n Σ_i tanh(c f |W_dec,i|));
 *          or λ (L0/T - 1)² toward a target T      (SAELens #732)
 *        + α mean_n Σ_i relu(θ - h) dead_i |W_dec,i|   pre-activation loss on dead latents
 * </pre>
 *
 * The threshold θ is a parameter in its own right (not exp of one), kept at or above 0.
 * Gradients follow SAELens' straight-through estimators with the rectangle kernel
 * K(u) = 1[-1/2 < u < 1/2] and bandwidth ε: JumpReLU passes g·1[h > θ] to h and
 * Σ_n -(θ/ε) K((h-θ)/ε) g to θ; the step function passes nothing to h and
 * Σ_n -(1/ε) K((h-θ)/ε) g to θ. With jumprelu_ste_to_input (SAELens #728) each estimator also
 * passes minus its θ-gradient to h, as Anthropic trains. After each optimiser step θ is projected
 * onto θ ≥ 0 outside the graph, as SAELens ≥ 6.49 does at the start of its next forward pass.
 *
 * <p>The backward pass is written out rather than taped: the elementwise passes over the
 * [N, d_sae] tensors are the only cost besides the five matmuls, so each one is done once.
 */
public final class JumpReluSae extends BaseSae {

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
            boolean applyBDecToInput,
            /** null: the linear penalty λ·L0; else the quadratic one λ·(L0/target - 1)². */
            Double targetL0,
            boolean steToInput,
            /** SAELens' run-time normalisation of each token (constant_norm_rescale, layer_norm); else none. */
            SaeSpec.ActivationNormalization normalizeActivations) {

        /** The config a TrainingRun's sae section describes, for activations of width dIn. */
        public static Config of(SaeSpec sae, int dIn) {
            SaeSpec s = sae.withDefaults();
            int dSae = s.dSae != null ? s.dSae : Math.multiplyExact(s.expansionFactor, dIn);
            return new Config(dIn, dSae, s.bandwidth, s.initThreshold, s.sparsityLossMode, s.tanhScale,
                    s.preActLossCoefficient, s.decoderInitNorm, s.applyBDecToInput, s.targetL0, s.jumpreluSteToInput,
                    s.normalizeActivations);
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
                    // h (f in place), h - θ (1[h > θ] in place), the kernel window, g_f (g_h in place); tanh:
                    // f|W_dec|, t, the slope times |W_dec|; pre-activation loss: θ - h, 1[θ > h] and its
                    // weighted copy; STE to the input: the step estimator's share of g_h (step mode)
                    4 + (tanh ? 3 : 0) + (preAct ? 3 : 0) + (steToInput && !tanh ? 1 : 0),
                    // θ - h > 0 (the masks are built without comparisons, see MaskBuffers)
                    preAct ? 1 : 0,
                    // x̂ - x and its square; x - b_dec
                    2 + (applyBDecToInput ? 1 : 0));
        }

        /** The arrays {@link #encode} then {@link #decode} leave for the caller's scope. */
        public RowArrays encodeDecodeArrays() {
            // h (f in place) and 1[h > θ]; the comparison; x̂; x - b_dec
            return new RowArrays(2, 1, 1 + (applyBDecToInput ? 1 : 0));
        }
    }

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
            Map<String, Object> cfg = SaeArchitecture.sharedCfg(name(), config.dIn(), config.dSae(), config.applyBDecToInput(),
                    config.decoderInitNorm());
            cfg.put("jumprelu_init_threshold", config.initThreshold());
            cfg.put("jumprelu_bandwidth", config.bandwidth());
            cfg.put("jumprelu_sparsity_loss_mode", config.sparsityLossMode() == SaeSpec.SparsityLossMode.STEP ? "step" : "tanh");
            cfg.put("jumprelu_tanh_scale", config.tanhScale());
            SaeSpec withDefaults = spec.withDefaults();
            cfg.put("l0_coefficient", withDefaults.l0Coefficient);
            cfg.put("l0_warm_up_steps", withDefaults.l0WarmUpSteps);
            cfg.put("pre_act_loss_coefficient", config.preActLossCoefficient());
            cfg.put("jumprelu_ste_to_input", config.steToInput());
            cfg.put("target_l0", config.targetL0());
            return cfg;
        }

        @Override
        public Losses losses() {
            return new Losses("l0_loss", "pre_act_loss", "l0_coefficient");
        }

        @Override
        public double sparsityCoefficient(SaeSpec spec) {
            return spec.withDefaults().l0Coefficient;
        }

        @Override
        public long sparsityWarmUpSteps(SaeSpec spec) {
            return spec.withDefaults().l0WarmUpSteps;
        }

        @Override
        public boolean needsDeadMask(SaeSpec spec) {
            return spec.preActLossCoefficient != null;
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
    private final NDArray threshold;

    private JumpReluSae(Config config, Initialization.Weights w, NDArray threshold) {
        super(w, config.applyBDecToInput(), config.normalizeActivations());
        this.config = config;
        this.threshold = threshold;
        addParameter(THRESHOLD, threshold);
    }

    /**
     * A freshly initialised SAE, as SAELens initialises one: W_dec Kaiming-uniform with its rows
     * rescaled to {@code decoderInitNorm}, W_enc = W_decᵀ, zero biases, θ = {@code initThreshold}.
     * The random numbers come from {@code seed} alone, so the same seed gives the same SAE on any
     * device. Parameters live in a sub-manager of {@code parent}.
     */
    public static JumpReluSae initialise(Config config, NDManager parent, DataType dtype, long seed) {
        Initialization.Weights w = Initialization.Weights.of(config.dIn(), config.dSae(), config.decoderInitNorm(), parent, dtype, seed);
        NDArray threshold = w.manager().full(new Shape(config.dSae()), (float) config.initThreshold(), dtype);
        return new JumpReluSae(config, w, threshold);
    }

    /** An SAE with the given parameters (copied into its own sub-manager of {@code parent}), e.g. from a checkpoint. */
    public static JumpReluSae fromParameters(Config config, NDManager parent, Map<String, NDArray> values) {
        Initialization.Weights w = Initialization.Weights.copied("JumpReLU", config.dIn(), config.dSae(), parent, values);
        try {
            NDArray threshold = Initialization.copy("JumpReLU", values, THRESHOLD, new Shape(config.dSae()), config.dIn(), config.dSae(),
                    w.manager());
            return new JumpReluSae(config, w, threshold);
        } catch (RuntimeException e) {
            w.manager().close();
            throw e;
        }
    }

    public Config config() {
        return config;
    }

    @Override
    public StepOutput forwardBackward(NDArray x, StepInput input) {
        long n = x.getShape().get(0);
        double eps = config.bandwidth();
        double lambda = input.sparsityCoefficient();

        // Forward. Everything that needs h is taken from it before f overwrites it in place: each
        // fresh [N, d_sae] array costs as much as a pass over it, so the step allocates few.
        RuntimeNormalization.Batch norm = normalise(x);
        NDArray saeIn = encoderInput(norm.input());
        NDArray pre = preActivations(saeIn);                                    // h
        NDArray gap = masks.minus("active", pre, threshold);                   // h - θ
        NDArray window = masks.within("window", gap, eps / 2);                  // K((h - θ)/ε) = 1[|h - θ| < ε/2]
        NDArray active = MaskBuffers.positive(gap);                             // 1[h > θ]
        PreActivationLoss preAct = config.preActLossCoefficient() != null && input.deadMask() != null
                ? PreActivationLoss.of(pre, threshold)
                : null;
        NDArray f = pre.muli(active);                                            // JumpReLU(h); h is gone
        NDArray error = norm.output(f.matMul(wDec).addi(bDec)).subi(x);          // x̂ - x
        NDArray mse = error.square().sum().divi(n);
        NDArray firing = Torch.columnSums(active);

        // Backward of the MSE into f and the decoder.
        NDArray gradError = norm.backward(error.muli(2.0 / n));                  // d mse / d x̂ before de-normalising
        NDArray gradF = gradError.matMul(wDec.transpose());
        NDArray gradWDec = f.transpose().matMul(gradError);
        NDArray gradBDec = gradError.sum(new int[]{0});

        // The sparsity loss is λ·L0 (linear) or λ·(L0/T - 1)² toward a target T, where L0 is the mode's
        // per-token count; its gradient is the linear one with λ replaced by dLoss/dL0, a scalar.
        NDArray gradThreshold;
        NDArray sparsity;
        NDArray stepToInput = null;
        if (config.sparsityLossMode() == SaeSpec.SparsityLossMode.STEP) {
            // mean_n Σ_i H(h - θ): its value is the firing count; its θ-gradient the step STE.
            NDArray l0 = firing.sum().divi(n);
            NDArray slope = penaltySlope(l0, lambda);
            sparsity = penalty(l0, lambda);
            NDArray windowCounts = Torch.columnSums(window);
            gradThreshold = windowCounts.muli(slope).muli(-1.0 / (n * eps));
            if (config.steToInput()) {
                // The step STE's x-gradient is minus its θ-gradient: + (1/ε) K dLoss/dH.
                stepToInput = window.mul(slope.div(n * eps));
            }
        } else {
            // mean_n Σ_i tanh(c f |W_dec,i|): gradients into f (then θ via JumpReLU) and the decoder norms.
            double c = config.tanhScale();
            NDArray norms = DecoderNorms.of(wDec);
            NDArray t = f.mul(norms).muli(c).tanh();
            NDArray l0 = t.sum().divi(n);
            NDArray scale = penaltySlope(l0, lambda).muli(c / n);
            sparsity = penalty(l0, lambda);
            NDArray slope = t.muli(t).negi().addi(1).muli(scale);                   // dLoss/dL0 · c / n · (1 - tanh²)
            gradF.addi(slope.mul(norms));
            NDArray gradNorms = Torch.columnSums(slope.muli(f));
            gradWDec.addi(DecoderNorms.gradient(wDec, gradNorms, norms));
            gradThreshold = threshold.zerosLike();
        }
        // JumpReLU: θ gets Σ_n -(θ/ε) K g_f (the window is used up here); h gets g_f 1[h > θ], and with
        // the STE to the input also + (θ/ε) K g_f.
        NDArray windowGradF = window.muli(gradF);
        gradThreshold.addi(Torch.columnSums(windowGradF).muli(threshold).muli(-1.0 / eps));
        NDArray gradPre = gradF.muli(active);
        if (config.steToInput()) {
            gradPre.addi(windowGradF.muli(threshold.div(eps)));
            if (stepToInput != null) {
                gradPre.addi(stepToInput);
            }
        }

        NDArray auxiliary = x.getManager().zeros(new Shape(), pre.getDataType());
        if (preAct != null) {
            // α mean_n Σ_i relu(θ - h) dead_i |W_dec,i|.
            double alpha = config.preActLossCoefficient();
            NDArray norms = DecoderNorms.of(wDec);
            NDArray weight = input.deadMask().mul(norms).muli(alpha / n);                // α/n dead_i |W_dec,i|
            auxiliary = preAct.depth.mul(weight).sum();
            gradPre.subi(preAct.below.mul(weight));
            gradThreshold.addi(Torch.columnSums(preAct.below).muli(weight));
            NDArray gradNorms = preAct.depth.mul(input.deadMask()).muli(alpha / n);
            gradWDec.addi(DecoderNorms.gradient(wDec, gradNorms, norms));
        }

        finishGradients(saeIn, gradPre, gradWDec, gradBDec, Map.of(THRESHOLD, gradThreshold));
        return new StepOutput(mse, sparsity, auxiliary, firing);
    }

    /** The sparsity loss at per-token count {@code l0}: λ·L0, or λ·(L0/T - 1)² with a target T. */
    private NDArray penalty(NDArray l0, double lambda) {
        Double target = config.targetL0();
        return target == null ? l0.mul(lambda) : l0.div(target).subi(1).square().muli(lambda);
    }

    /** d(penalty)/d(L0), a scalar: λ, or 2λ(L0/T - 1)/T (negative below the target, raising L0). */
    private NDArray penaltySlope(NDArray l0, double lambda) {
        Double target = config.targetL0();
        return target == null ? l0.zerosLike().addi(lambda) : l0.div(target).subi(1).muli(2 * lambda / target);
    }

    /** What the pre-activation loss needs of h: 1[θ > h], and Σ_n relu(θ - h) per latent. */
    private record PreActivationLoss(NDArray below, NDArray depth) {
        static PreActivationLoss of(NDArray pre, NDArray threshold) {
            NDArray gap = threshold.sub(pre);                                        // θ - h
            NDArray below = gap.gt(0).toType(gap.getDataType(), false);
            return new PreActivationLoss(below, Torch.columnSums(gap.muli(below)));
        }
    }

    @Override
    public void afterOptimizerStep() {
        threshold.muli(threshold.gte(0).toType(threshold.getDataType(), false));
    }

    @Override
    public NDArray encode(NDArray x) {
        NDArray pre = preActivations(encoderInput(x));
        return pre.muli(pre.gt(threshold).toType(pre.getDataType(), false));
    }

}
