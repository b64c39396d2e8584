package dev.saeforge.sae;

import java.util.SplittableRandom;

/** Weight initialisations shared by the SAE architectures, computed in Java so a seed means the same weights everywhere. */
public final class Initialization {
    private Initialization() {
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
