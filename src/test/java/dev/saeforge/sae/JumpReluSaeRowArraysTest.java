package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.SaeSpec.SparsityLossMode;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The memory estimate counts the arrays a step holds from {@link JumpReluSae.Config#stepArrays}:
 * here they are counted on the arrays a real step leaves in its manager. Everything else it
 * leaves is a gradient, a transposed view or smaller than a row of the batch.
 */
class JumpReluSaeRowArraysTest {
    static final int N = 7, D_IN = 4, D_SAE = 6;

    static JumpReluSae.Config config(SparsityLossMode mode, boolean preAct, boolean applyBDec) {
        return new JumpReluSae.Config(D_IN, D_SAE, 0.05, 0.01, mode, 4.0, preAct ? 0.2 : null, 0.1, applyBDec, null, false, SaeSpec.ActivationNormalization.NONE);
    }

    @ParameterizedTest(name = "{0} sparsity loss, pre-activation loss {1}, b_dec subtracted {2}")
    @CsvSource({"STEP, false, true", "STEP, true, true", "TANH, false, true", "TANH, true, false", "STEP, false, false"})
    void aStepHoldsTheArraysItsConfigCounts(SparsityLossMode mode, boolean preAct, boolean applyBDec) {
        JumpReluSae.Config config = config(mode, preAct, applyBDec);
        try (NDManager step = Torch.engine().newBaseManager(); JumpReluSae sae = JumpReluSae.initialise(config, step, DataType.FLOAT32, 3)) {
            NDArray x = step.randomNormal(new Shape(N, D_IN));
            NDArray dead = step.create(new float[]{1, 0, 1, 0, 0, 1});

            Set<NDArray> left = leftBy(step, () -> sae.forwardBackward(x, new TrainingSae.StepInput(0.3, preAct ? dead : null)));

            assertThat(count(left, D_SAE, DataType.FLOAT32)).as("[N, d_sae] floats").isEqualTo(config.stepArrays().latentFloats());
            assertThat(count(left, D_SAE, DataType.BOOLEAN)).as("[N, d_sae] masks").isEqualTo(config.stepArrays().latentMasks());
            assertThat(count(left, D_IN, DataType.FLOAT32)).as("[N, d_in] floats").isEqualTo(config.stepArrays().inputFloats());
            Set<NDArray> gradients = identitySet(sae.gradients().values());
            assertThat(left).filteredOn(a -> !gradients.contains(a) && !a.getShape().equals(new Shape(N, D_SAE))
                            && !a.getShape().equals(new Shape(N, D_IN)) && !transposedView(a) && !onesRow(a))
                    .allSatisfy(a -> assertThat(a.size()).as(a.getShape().toString()).isLessThanOrEqualTo(D_SAE));
        }
    }

    @ParameterizedTest(name = "b_dec subtracted {0}")
    @CsvSource({"true", "false"})
    void encodingAndDecodingHoldTheArraysItsConfigCounts(boolean applyBDec) {
        JumpReluSae.Config config = config(SparsityLossMode.STEP, false, applyBDec);
        try (NDManager step = Torch.engine().newBaseManager(); JumpReluSae sae = JumpReluSae.initialise(config, step, DataType.FLOAT32, 3)) {
            NDArray x = step.randomNormal(new Shape(N, D_IN));

            Set<NDArray> left = leftBy(step, () -> sae.decode(sae.encode(x)));

            assertThat(count(left, D_SAE, DataType.FLOAT32)).isEqualTo(config.encodeDecodeArrays().latentFloats());
            assertThat(count(left, D_SAE, DataType.BOOLEAN)).isEqualTo(config.encodeDecodeArrays().latentMasks());
            assertThat(count(left, D_IN, DataType.FLOAT32)).isEqualTo(config.encodeDecodeArrays().inputFloats());
        }
    }

    /** The arrays {@code call} adds to {@code manager} (and its sub-managers). */
    static Set<NDArray> leftBy(NDManager manager, Supplier<?> call) {
        Set<NDArray> before = identitySet(manager.getManagedArrays());
        call.get();
        Set<NDArray> after = identitySet(manager.getManagedArrays());
        after.removeAll(before);
        return after;
    }

    static long count(Set<NDArray> arrays, int width, DataType type) {
        return arrays.stream().filter(a -> a.getShape().equals(new Shape(N, width)) && a.getDataType() == type).count();
    }

    /** W_enc, W_dec, x - b_dec and f transposed for a product: views of arrays counted elsewhere. */
    static boolean transposedView(NDArray a) {
        return List.of(new Shape(D_IN, D_SAE), new Shape(D_SAE, D_IN), new Shape(D_SAE, N), new Shape(D_IN, N)).contains(a.getShape());
    }

    /** The [1, N] ones a column sum multiplies by (Torch.columnSums): one value per row, not per latent. */
    static boolean onesRow(NDArray a) {
        return a.getShape().equals(new Shape(1, N));
    }

    static Set<NDArray> identitySet(java.util.Collection<NDArray> arrays) {
        Set<NDArray> out = Collections.newSetFromMap(new IdentityHashMap<>());
        out.addAll(arrays);
        return out;
    }
}
