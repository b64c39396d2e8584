package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.tensor.Torch;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The TopK SAE as SAELens ≥ 6.49 trains it (TopKTrainingSAE, after Gao et al. 2024), and the base
 * of {@link BatchTopKSae} and {@link MatryoshkaBatchTopKSae}.
 *
 * <pre>
 *   h     = (x - b_dec) W_enc + b_enc
 *   s     = h ⊙ |W_dec|                 rescale_acts_by_decoder_norm (else s = h): rank as if rows had unit norm
 *   f     = ReLU(s) on the k largest s of each row, 0 elsewhere     what encode returns (L0, firing)
 *   x̂     = (f / |W_dec|) W_dec + b_dec = Σ_selected ReLU(h_i) W_dec,i + b_dec
 *   loss  = mean_n Σ_d (x̂ - x)²
 *         + α · min(dead / k_aux, 1) · mean_n Σ_d (Σ_{i ∈ A} h_i W_dec,i - (x - x̂))²     AuxK, k_aux = d_in / 2
 * </pre>
 *
 * A are the k_aux dead latents with the largest s in each row, min(k_aux, dead) of them; the
 * residual x - x̂ is a constant to AuxK (SAELens detaches it) and AuxK's reconstruction has no
 * b_dec. Because f / |W_dec| = ReLU(h) on the selection, the decoder norms cancel out of x̂ and of
 * AuxK's reconstruction: they only choose which latents take part, and pass no gradient. The
 * backward pass is written out, as for JumpReLU.
 */
public class TopKSae extends BaseSae {

    /** What shapes a TopK-family SAE; SAELens' TopKTrainingSAEConfig and its subclasses. */
    public record Config(int dIn, int dSae, double k, double auxLossCoefficient, boolean rescaleActsByDecoderNorm,
                         double topkThresholdLr, List<Integer> matryoshkaWidths, double decoderInitNorm, boolean applyBDecToInput,
                         SaeSpec.ActivationNormalization normalizeActivations) {

        public static Config of(SaeSpec sae, int dIn) {
            SaeSpec s = sae.withDefaults();
            int dSae = s.dSae != null ? s.dSae : Math.multiplyExact(s.expansionFactor, dIn);
            List<Integer> widths = List.of(dSae);
            if (s.matryoshkaWidths != null && !s.matryoshkaWidths.isEmpty()) {
                // SAELens appends d_sae as the outermost level when the list does not end with it.
                widths = new java.util.ArrayList<>(s.matryoshkaWidths);
                if (widths.get(widths.size() - 1) != dSae) {
                    widths.add(dSae);
                }
                widths = List.copyOf(widths);
            }
            return new Config(dIn, dSae, s.k, s.auxLossCoefficient, s.rescaleActsByDecoderNorm,
                    s.topkThresholdLr == null ? 0 : s.topkThresholdLr, widths, s.decoderInitNorm, s.applyBDecToInput,
                    s.normalizeActivations);
        }

        /** W_enc and W_dec, b_enc and b_dec. */
        public long parameters() {
            return 2L * dIn * dSae + dSae + dIn;
        }

        /**
         * The arrays {@link #forwardBackward} leaves for the caller's scope, counted from its code:
         * recount them when it changes (ArchitectureRowArraysTest does).
         */
        public RowArrays stepArrays(boolean batchThreshold) {
            boolean auxK = auxLossCoefficient > 0;
            int levels = matryoshkaWidths.size();
            return new RowArrays(
                    // h, the selection (its zeros, the scattered copy, 1[s > 0] and the product), ReLU(h)
                    // on it, g_a (g_h in place); rescaling: s; AuxK: the dead scores, their -inf filler,
                    // the selection's zeros and scattered copy, h on it and its g_h; the batch threshold:
                    // s on the kept latents and its masked copy; Matryoshka: a's and g_a's column blocks and
                    // their products, in pieces that add up to less than three [N, d_sae] arrays
                    7 + (rescaleActsByDecoderNorm ? 1 : 0) + (auxK ? 6 : 0) + (batchThreshold ? 1 : 0) + (levels > 1 ? 3 : 0),
                    // s > 0; AuxK: the dead mask broadcast
                    1 + (auxK ? 1 : 0),
                    // x - b_dec; b_dec - x, its product with the decoder and the square; AuxK: the
                    // reconstruction and its difference; each further Matryoshka level: its product, sum,
                    // square and suffix sum of errors
                    3 + (applyBDecToInput ? 1 : 0) + (auxK ? 2 : 0) + 4 * (levels - 1));
        }

        /** The arrays {@link #encode} then {@link #decode} leave for the caller's scope. */
        public RowArrays encodeDecodeArrays() {
            // h, s, the selection (zeros, then scattered), f; f / |W_dec|; x̂; x - b_dec
            return new RowArrays(5 + (rescaleActsByDecoderNorm ? 2 : 0), 1, 1 + (applyBDecToInput ? 1 : 0));
        }
    }

    /** TopK as the trainer sees it; {@link BatchTopKSae} and {@link MatryoshkaBatchTopKSae} adjust it. */
    public static final SaeArchitecture ARCHITECTURE = new Architecture("topk");

    /** The TopK family's architecture: names, losses and sizes; subclasses build their own SAE. */
    static class Architecture implements SaeArchitecture {
        private final String name;

        Architecture(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int dSae(SaeSpec spec, int dIn) {
            return Config.of(spec, dIn).dSae();
        }

        @Override
        public TrainingSae initialise(SaeSpec spec, int dIn, NDManager manager, long seed) {
            Config config = Config.of(spec, dIn);
            return make(config, Initialization.Weights.of(dIn, config.dSae(), config.decoderInitNorm(), manager, DataType.FLOAT32, seed), null);
        }

        @Override
        public TrainingSae fromParameters(SaeSpec spec, int dIn, NDManager manager, Map<String, NDArray> values) {
            Config config = Config.of(spec, dIn);
            Initialization.Weights w = Initialization.Weights.copied(name, dIn, config.dSae(), manager, values);
            try {
                return make(config, w, values);
            } catch (RuntimeException e) {
                w.manager().close();
                throw e;
            }
        }

        /** The SAE over weights {@code w}, with its buffers from {@code saved} (null: fresh). */
        TrainingSae make(Config config, Initialization.Weights w, Map<String, NDArray> saved) {
            return new TopKSae(config, w);
        }

        @Override
        public Map<String, Object> cfg(SaeSpec spec, int dIn) {
            Config config = Config.of(spec, dIn);
            Map<String, Object> cfg = SaeArchitecture.sharedCfg(name, config.dIn(), config.dSae(), config.applyBDecToInput(),
                    config.decoderInitNorm());
            cfg.put("k", kValue(config));
            cfg.put("aux_loss_coefficient", config.auxLossCoefficient());
            cfg.put("rescale_acts_by_decoder_norm", config.rescaleActsByDecoderNorm());
            cfg.put("use_sparse_activations", false);
            return cfg;
        }

        /** k as SAELens' config types it: an int for topk, a float for the batch variants. */
        Object kValue(Config config) {
            return (int) config.k();
        }

        @Override
        public Map<String, Object> inferenceCfg(SaeSpec spec, int dIn) {
            // TopKSAEConfig keeps k and rescale_acts_by_decoder_norm; the decoder norms are folded by then.
            Map<String, Object> cfg = cfg(spec, dIn);
            cfg.keySet().retainAll(List.of("architecture", "d_in", "d_sae", "apply_b_dec_to_input", "k", "rescale_acts_by_decoder_norm"));
            return cfg;
        }

        @Override
        public Losses losses() {
            return new Losses(null, "auxiliary_reconstruction_loss", null);
        }

        @Override
        public double sparsityCoefficient(SaeSpec spec) {
            return 0;
        }

        @Override
        public long sparsityWarmUpSteps(SaeSpec spec) {
            return 0;
        }

        @Override
        public boolean needsDeadMask(SaeSpec spec) {
            return spec.withDefaults().auxLossCoefficient > 0;
        }

        @Override
        public long parameters(SaeSpec spec, int dIn) {
            return Config.of(spec, dIn).parameters();
        }

        @Override
        public RowArrays stepArrays(SaeSpec spec, int dIn) {
            return Config.of(spec, dIn).stepArrays(false);
        }

        @Override
        public RowArrays encodeDecodeArrays(SaeSpec spec, int dIn) {
            return Config.of(spec, dIn).encodeDecodeArrays();
        }
    }

    protected final Config config;

    TopKSae(Config config, Initialization.Weights w) {
        super(w, config.applyBDecToInput(), config.normalizeActivations());
        this.config = config;
    }

    public Config config() {
        return config;
    }

    /** 1 for the latents each row keeps, as floats [N, d_sae]: the k largest scores of the row. */
    protected NDArray selection(NDArray scores) {
        return keep(scores, (int) config.k(), 1);
    }

    /** 1 at the {@code k} largest entries of {@code scores} along {@code axis}, else 0, as torch.topk picks them. */
    static NDArray keep(NDArray scores, int k, int axis) {
        NDArray indices = scores.topK(k, axis, true, false).get(1);
        NDArray ones = indices.onesLike().toType(scores.getDataType(), false);
        return scores.zerosLike().scatter(indices, ones, axis);
    }

    /** The training-time hook for the batch variants: called with the step's feature activations f. */
    protected void afterForward(NDArray featureActs, NDArray kept) {
    }

    @Override
    public StepOutput forwardBackward(NDArray x, StepInput input) {
        long n = x.getShape().get(0);
        RuntimeNormalization.Batch norm = normalise(x);
        NDArray saeIn = encoderInput(norm.input());
        NDArray pre = preActivations(saeIn);                                         // h
        NDArray norms = config.rescaleActsByDecoderNorm() ? DecoderNorms.of(wDec) : null;
        NDArray scores = norms == null ? pre : pre.mul(norms);                       // s
        NDArray kept = selection(scores).muli(scores.gt(0).toType(pre.getDataType(), false));
        NDArray acts = pre.mul(kept);                                                // a = f / |W_dec| = ReLU(h) on the selection
        afterForward(scores.mul(kept), kept);
        NDArray firing = kept.sum(new int[]{0});

        // The reconstruction, level by level for Matryoshka (one level otherwise): e_j = x̂_j - x, with
        // x̂_j de-normalised first when the SAE normalises its input at run time (SAELens' decode).
        List<Integer> widths = config.matryoshkaWidths();
        NDArray[] errors = new NDArray[widths.size()];
        NDArray[] actBlocks = new NDArray[widths.size()];
        NDArray partial = norm.isIdentity() ? bDec.sub(x) : x.zerosLike().addi(bDec);
        int from = 0;
        for (int j = 0; j < widths.size(); j++) {
            int to = widths.get(j);
            actBlocks[j] = widths.size() == 1 ? acts : acts.get(":, " + from + ":" + to);
            NDArray block = widths.size() == 1 ? wDec : wDec.get(from + ":" + to);
            // The first level may grow b_dec - x in place; later ones must keep the level before them.
            partial = j == 0 ? partial.addi(actBlocks[j].matMul(block)) : partial.add(actBlocks[j].matMul(block));
            errors[j] = norm.isIdentity() ? partial : norm.output(partial.duplicate()).subi(x);
            from = to;
        }
        NDArray error = errors[widths.size() - 1];
        NDArray mse = error.square().sum().divi(n);
        NDArray inner = x.getManager().zeros(new Shape(), pre.getDataType());
        for (int j = 0; j < widths.size() - 1; j++) {
            inner = inner.add(errors[j].square().sum().divi(n));
        }

        // AuxK, on the residual before the backward pass scales the errors in place.
        AuxK auxK = input.deadMask() != null && config.auxLossCoefficient() > 0 ? AuxK.of(this, pre, scores, error, input.deadMask(), n) : null;

        // Backward of the nested MSEs: block j of a is in levels j..m, so it gets the suffix sum of their errors.
        NDArray suffix = null;
        NDArray[] gradActBlocks = new NDArray[widths.size()];
        NDArray[] gradWDecBlocks = new NDArray[widths.size()];
        for (int j = widths.size() - 1; j >= 0; j--) {
            NDArray gradError = norm.backward(errors[j].muli(2.0 / n));
            suffix = suffix == null ? gradError : suffix.add(gradError);
            int start = j == 0 ? 0 : widths.get(j - 1);
            NDArray block = widths.size() == 1 ? wDec : wDec.get(start + ":" + widths.get(j));
            gradActBlocks[j] = suffix.matMul(block.transpose());
            gradWDecBlocks[j] = actBlocks[j].transpose().matMul(suffix);
        }
        NDArray gradBDec = suffix.sum(new int[]{0});
        NDArray gradActs = widths.size() == 1 ? gradActBlocks[0] : NDArrays.concat(new NDList(gradActBlocks), 1);
        NDArray gradWDec = widths.size() == 1 ? gradWDecBlocks[0] : NDArrays.concat(new NDList(gradWDecBlocks), 0);
        NDArray gradPre = gradActs.muli(kept);

        NDArray auxiliary = inner;
        if (auxK != null) {
            auxiliary = auxiliary.add(auxK.loss);
            gradWDec.addi(auxK.acts.transpose().matMul(auxK.gradRecons));
            gradPre.addi(auxK.gradRecons.matMul(wDec.transpose()).muli(auxK.kept));
        }

        finishGradients(saeIn, gradPre, gradWDec, gradBDec, Map.of());
        return new StepOutput(mse, x.getManager().zeros(new Shape(), pre.getDataType()), auxiliary, firing);
    }

    /**
     * The AuxK loss of one step: the k_aux dead latents with the largest scores in each row
     * reconstruct the (constant) residual x - x̂ with their h, without b_dec.
     */
    private record AuxK(NDArray loss, NDArray kept, NDArray acts, NDArray gradRecons) {
        static AuxK of(TopKSae sae, NDArray pre, NDArray scores, NDArray error, NDArray deadMask, long n) {
            long dead = Math.round(Torch.scalar(deadMask.sum()));
            int kAux = sae.config.dIn() / 2;                 // Gao et al. appendix B.1
            if (dead == 0 || kAux == 0) {
                return null;
            }
            double scale = Math.min((double) dead / kAux, 1.0);
            int k = (int) Math.min(kAux, dead);
            NDArray deadScores = NDArrays.where(deadMask.gt(0).expandDims(0).broadcast(scores.getShape()), scores,
                    scores.zerosLike().subi(Float.POSITIVE_INFINITY));
            NDArray kept = keep(deadScores, k, 1);
            NDArray acts = pre.mul(kept);
            NDArray difference = acts.matMul(sae.wDec).addi(error);         // ê - (x - x̂)
            double weight = sae.config.auxLossCoefficient() * scale;
            NDArray loss = difference.square().sum().muli(weight / n);
            return new AuxK(loss, kept, acts, difference.muli(2 * weight / n));
        }
    }

    @Override
    public NDArray encode(NDArray x) {
        NDArray scores = scores(x);
        return scores.mul(selection(scores)).maximum(0f);
    }

    /** s = h ⊙ |W_dec| (or h) for inputs x. */
    protected NDArray scores(NDArray x) {
        NDArray pre = preActivations(encoderInput(x));
        return config.rescaleActsByDecoderNorm() ? pre.muli(DecoderNorms.of(wDec)) : pre;
    }

    @Override
    public NDArray decode(NDArray features) {
        NDArray acts = config.rescaleActsByDecoderNorm() ? features.div(DecoderNorms.of(wDec)) : features;
        return acts.matMul(wDec).addi(bDec);
    }

    /**
     * As SAELens saves a TopK SAE for inference: with rescale_acts_by_decoder_norm the decoder
     * norms folded into the encoder (W_enc·|W_dec|, b_enc·|W_dec|, W_dec/|W_dec|, norms clamped
     * at 1e-8), which leaves every encode and decode unchanged.
     */
    @Override
    public Map<String, NDArray> inferenceWeights() {
        if (!config.rescaleActsByDecoderNorm()) {
            return parameters();
        }
        NDArray norms = DecoderNorms.of(wDec).maximum(1e-8f);
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put(W_ENC, wEnc.mul(norms));
        out.put(W_DEC, wDec.div(norms.expandDims(1)));
        out.put(B_ENC, bEnc.mul(norms));
        out.put(B_DEC, bDec.duplicate());
        return out;
    }

}
