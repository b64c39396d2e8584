package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.data.SyntheticSuperposition;
import dev.saeforge.sae.JumpReluSae;
import dev.saeforge.sae.TrainingSae;

import dev.saeforge.tensor.Torch;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The trained SAE on held-out activations it never trained on, in the activations' own units:
 * explained variance with the correct definition, 1 - E‖x - x̂‖² / (E‖x‖² - ‖E x‖²), mean L0,
 * MSE; and for a synthetic source, how many ground-truth directions some decoder row recovers.
 */
public record Evaluation(long rows, double explainedVariance, double l0, double mse,
                         Integer groundTruthRecovered, Integer groundTruthFeatures) {

    static Evaluation run(TrainingSae sae, ActivationSource training, int batchSize, int batches, NDManager manager) {
        try (ActivationSource heldOut = training.heldOut()) {
            return measure(sae, training, heldOut, batchSize, batches, manager);
        }
    }

    private static Evaluation measure(TrainingSae sae, ActivationSource training, ActivationSource heldOut, int batchSize, int batches,
                                      NDManager manager) {
        double sumSquaredError = 0;
        double sumSquaredNorm = 0;
        double active = 0;
        double[] sum = new double[sae.dIn()];
        try (NDManager scratch = manager.newSubManager()) {
            for (int b = 0; b < batches; b++) {
                try (NDScope scope = new NDScope()) {
                    NDArray x = heldOut.next(manager, batchSize);
                    NDArray features = sae.encode(x);
                    NDArray error = sae.decode(features).subi(x);
                    sumSquaredError += Torch.scalar(error.square().sum());
                    sumSquaredNorm += Torch.scalar(x.square().sum());
                    active += Torch.scalar(features.gt(0).sum());
                    float[] batchSum = x.sum(new int[]{0}).toFloatArray();
                    for (int d = 0; d < sum.length; d++) {
                        sum[d] += batchSum[d];
                    }
                }
            }
            long rows = (long) batches * batchSize;
            double meanSquaredNorm = 0;
            for (double s : sum) {
                meanSquaredNorm += s * s / rows;
            }
            double explainedVariance = 1 - sumSquaredError / (sumSquaredNorm - meanSquaredNorm);
            Integer recovered = null;
            Integer features = null;
            if (training instanceof SyntheticSuperposition synthetic) {
                features = synthetic.features();
                recovered = recoveredDirections(sae, synthetic, scratch);
            }
            return new Evaluation(rows, explainedVariance, active / rows, sumSquaredError / rows, recovered, features);
        }
    }

    /** Ground-truth directions with a decoder row of cosine similarity above {@link Training#RECOVERY_COSINE}. */
    static int recoveredDirections(TrainingSae sae, SyntheticSuperposition source, NDManager manager) {
        try (NDScope scope = new NDScope()) {
            NDArray truth = manager.create(source.directions(), new Shape(source.features(), source.dIn()));
            NDArray decoder = sae.parameters().get(JumpReluSae.W_DEC);
            NDArray rows = decoder.div(decoder.norm(new int[]{1}, true).maximum(1e-12));
            NDArray cosines = truth.toDevice(decoder.getDevice(), false).matMul(rows.transpose());   // [features, d_sae]
            return (int) cosines.max(new int[]{1}).gt(Training.RECOVERY_COSINE).sum().getLong();
        }
    }

    /** The evaluation as recorded in checkpoint manifests and cfg.json metadata. */
    Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("evaluation_rows", rows);
        out.put("explained_variance", explainedVariance);
        out.put("l0", l0);
        out.put("mse", mse);
        if (groundTruthRecovered != null) {
            out.put("ground_truth_recovered", groundTruthRecovered);
            out.put("ground_truth_features", groundTruthFeatures);
        }
        return out;
    }
}
