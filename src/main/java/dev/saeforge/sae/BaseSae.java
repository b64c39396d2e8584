package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.tensor.Torch;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What every architecture's SAE is besides its activation and losses, as SAELens' SAE base class:
 * the four weights in their own sub-manager, their map by SAELens name, the encoder's input and the
 * encoder's share of the backward pass, the linear decoder, and folding an input scale.
 */
abstract class BaseSae implements TrainingSae {
    protected final NDManager manager;
    protected final NDArray wEnc;
    protected final NDArray wDec;
    protected final NDArray bEnc;
    protected final NDArray bDec;
    protected final MaskBuffers masks;
    private final boolean applyBDecToInput;
    private final SaeSpec.ActivationNormalization normalization;
    private final Map<String, NDArray> parameters = new LinkedHashMap<>();
    private Map<String, NDArray> gradients = Map.of();

    BaseSae(Initialization.Weights w, boolean applyBDecToInput, SaeSpec.ActivationNormalization normalization) {
        this.manager = w.manager();
        this.wEnc = w.wEnc();
        this.wDec = w.wDec();
        this.bEnc = w.bEnc();
        this.bDec = w.bDec();
        this.applyBDecToInput = applyBDecToInput;
        this.normalization = normalization;
        this.masks = new MaskBuffers(manager);
        parameters.put(W_ENC, wEnc);
        parameters.put(W_DEC, wDec);
        parameters.put(B_ENC, bEnc);
        parameters.put(B_DEC, bDec);
    }

    /** Adds an architecture's own parameter (JumpReLU's threshold), after the four. */
    protected void addParameter(String name, NDArray value) {
        parameters.put(name, value);
    }

    @Override
    public int dIn() {
        return (int) bDec.getShape().get(0);
    }

    @Override
    public int dSae() {
        return (int) bEnc.getShape().get(0);
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
    public RuntimeNormalization.Batch normalise(NDArray x) {
        return RuntimeNormalization.of(normalization, x);
    }

    /** The encoder's input: x - b_dec with apply_b_dec_to_input, else x. */
    protected NDArray encoderInput(NDArray x) {
        return applyBDecToInput ? x.sub(bDec) : x;
    }

    /** h = (x - b_dec) W_enc + b_enc for the encoder input {@code saeIn}. */
    protected NDArray preActivations(NDArray saeIn) {
        return saeIn.matMul(wEnc).addi(bEnc);
    }

    /**
     * Finishes the backward pass from d(loss)/dh ({@code gradPre}) through h = (x - b_dec) W_enc + b_enc,
     * and records every gradient: the encoder's, b_dec's (given its decoder share), then {@code own}.
     */
    protected void finishGradients(NDArray saeIn, NDArray gradPre, NDArray gradWDec, NDArray gradBDec, Map<String, NDArray> own) {
        NDArray gradWEnc = saeIn.transpose().matMul(gradPre);
        NDArray gradBEnc = Torch.columnSums(gradPre);
        if (applyBDecToInput) {
            gradBDec.subi(gradBEnc.expandDims(0).matMul(wEnc.transpose()).squeeze(0));
        }
        Map<String, NDArray> grads = new LinkedHashMap<>();
        grads.put(W_ENC, gradWEnc);
        grads.put(W_DEC, gradWDec);
        grads.put(B_ENC, gradBEnc);
        grads.put(B_DEC, gradBDec);
        grads.putAll(own);
        gradients = grads;
    }

    @Override
    public void afterOptimizerStep() {
    }

    @Override
    public NDArray decode(NDArray features) {
        return features.matMul(wDec).addi(bDec);
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

    @Override
    public void close() {
        masks.close();
        manager.close();
    }
}
