package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import dev.saeforge.tensor.Torch;

/**
 * Explained variance, MSE and L0 over the rows seen so far, as SAELens defines them (reference
 * §2.7): EV = 1 - E‖x - x̂‖² / (E‖x‖² - ‖E x‖²), MSE = E‖x - x̂‖² (squared error summed over d_in,
 * averaged over rows), L0 = latents > 0 per row. The one place these formulas live: a logged
 * training step adds its one batch, an evaluation every held-out batch.
 */
final class ReconstructionMetrics {
    private final double[] sum;
    private double sumSquaredError;
    private double sumSquaredNorm;
    private double active;
    private long rows;

    ReconstructionMetrics(int dIn) {
        this.sum = new double[dIn];
    }

    /** Adds rows {@code x} [n, d_in], whose reconstruction missed by {@code squaredError} in all and fired {@code activeLatents}. */
    void add(NDArray x, double squaredError, double activeLatents) {
        sumSquaredError += squaredError;
        sumSquaredNorm += Torch.scalar(x.square().sum());
        active += activeLatents;
        float[] batchSum = x.sum(new int[]{0}).toFloatArray();
        for (int d = 0; d < sum.length; d++) {
            sum[d] += batchSum[d];
        }
        rows += x.getShape().get(0);
    }

    long rows() {
        return rows;
    }

    double explainedVariance() {
        double meanSquaredNorm = 0;
        for (double s : sum) {
            meanSquaredNorm += s * s / rows;
        }
        return 1 - sumSquaredError / (sumSquaredNorm - meanSquaredNorm);
    }

    double mse() {
        return sumSquaredError / rows;
    }

    double l0() {
        return active / rows;
    }
}
