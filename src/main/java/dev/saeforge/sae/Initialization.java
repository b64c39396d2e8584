package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.tensor.Torch;

import java.util.Map;
import java.util.SplittableRandom;

/** Weight initialisations shared by the SAE architectures, computed in Java so a seed means the same weights everywhere. */
public final class Initialization {
    private Initialization() {
    }

    /** The four arrays every SAELens architecture has, in their own sub-manager. */
    record Weights(NDManager manager, NDArray wEnc, NDArray wDec, NDArray bEnc, NDArray bDec) {

        /**
         * As SAELens' TrainingSAE initialises them: W_dec Kaiming-uniform with its rows rescaled to
         * {@code decoderInitNorm}, W_enc = W_decᵀ, zero biases; the numbers come from {@code seed} alone.
         */
        static Weights of(int dIn, int dSae, double decoderInitNorm, NDManager parent, DataType dtype, long seed) {
            float[] decoder = kaimingUniformRows(dSae, dIn, decoderInitNorm, new SplittableRandom(seed));
            NDManager manager = parent.newSubManager();
            NDArray wDec = manager.create(decoder, new Shape(dSae, dIn)).toType(dtype, false);
            // A row-major copy of W_decᵀ: a duplicate of the transposed view would keep its strides,
            // and Adam's fused kernel rounds a strided array differently from the contiguous one a
            // checkpoint restores, so a resumed run would drift from an uninterrupted one.
            NDArray wEnc = manager.create(new Shape(dIn, dSae), dtype);
            Torch.assign(wEnc, wDec.transpose());
            return new Weights(manager, wEnc, wDec, manager.zeros(new Shape(dSae), dtype), manager.zeros(new Shape(dIn), dtype));
        }

        /** Copies of the four from {@code values} (a checkpoint's), checked against the shapes d_in and d_sae give. */
        static Weights copied(String architecture, int dIn, int dSae, NDManager parent, Map<String, NDArray> values) {
            NDManager manager = parent.newSubManager();
            try {
                return new Weights(manager,
                        copy(architecture, values, TrainingSae.W_ENC, new Shape(dIn, dSae), dIn, dSae, manager),
                        copy(architecture, values, TrainingSae.W_DEC, new Shape(dSae, dIn), dIn, dSae, manager),
                        copy(architecture, values, TrainingSae.B_ENC, new Shape(dSae), dIn, dSae, manager),
                        copy(architecture, values, TrainingSae.B_DEC, new Shape(dIn), dIn, dSae, manager));
            } catch (RuntimeException e) {
                manager.close();
                throw e;
            }
        }
    }

    /** A copy of {@code values.get(name)} in {@code manager}, refused when it is missing or not of {@code shape}. */
    static NDArray copy(String architecture, Map<String, NDArray> values, String name, Shape shape, int dIn, int dSae, NDManager manager) {
        NDArray value = values.get(name);
        if (value == null) {
            throw new IllegalArgumentException(architecture + " SAE parameter " + name + " is missing");
        }
        if (!value.getShape().equals(shape)) {
            throw new IllegalArgumentException(architecture + " SAE parameter " + name + " has shape " + value.getShape()
                    + "; expected " + shape + " for d_in " + dIn + ", d_sae " + dSae);
        }
        NDArray copy = manager.create(value.getShape(), value.getDataType());
        Torch.assign(copy, value);
        return copy;
    }

    /**
     * A [rows, cols] matrix, row-major, drawn as torch's kaiming_uniform_ draws a [rows, cols]
     * weight (fan_in = cols, gain √2: U(-√(6/cols), √(6/cols))), then every row rescaled to L2
     * norm {@code rowNorm}: SAELens' decoder initialisation with decoder_init_norm.
     */
    public static float[] kaimingUniformRows(int rows, int cols, double rowNorm, SplittableRandom random) {
        double bound = Math.sqrt(6.0 / cols);
        float[] w = new float[Math.multiplyExact(rows, cols)];
        for (int r = 0; r < rows; r++) {
            double sumSquares = 0;
            int offset = r * cols;
            for (int c = 0; c < cols; c++) {
                double v = random.nextDouble(-bound, bound);
                w[offset + c] = (float) v;
                sumSquares += v * v;
            }
            double scale = rowNorm / Math.sqrt(sumSquares);
            for (int c = 0; c < cols; c++) {
                w[offset + c] = (float) (w[offset + c] * scale);
            }
        }
        return w;
    }
}
