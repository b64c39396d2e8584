package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Set;

import static dev.saeforge.sae.JumpReluSaeRowArraysTest.count;
import static dev.saeforge.sae.JumpReluSaeRowArraysTest.leftBy;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The memory estimate's count of the batch-sized arrays a step holds
 * (SaeArchitecture.stepArrays) is what a real step of the TopK family and of the standard SAE
 * leaves in its manager, AuxK and Matryoshka's levels included, as JumpReluSaeRowArraysTest
 * checks it for JumpReLU.
 */
class ArchitectureRowArraysTest {
    static final int N = JumpReluSaeRowArraysTest.N, D_IN = JumpReluSaeRowArraysTest.D_IN, D_SAE = JumpReluSaeRowArraysTest.D_SAE;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "{architecture: topk, k: 2}",
            "{architecture: topk, k: 2, rescaleActsByDecoderNorm: false}",
            "{architecture: topk, k: 2, auxLossCoefficient: 0}",
            "{architecture: batchtopk, k: 2}",
            "{architecture: matryoshka_batchtopk, k: 1.5, matryoshkaWidths: [2, 5]}",
            "{architecture: standard}",
            "{architecture: standard, lpNorm: 2}",
            "{architecture: standard, applyBDecToInput: false}"})
    void aStepHoldsTheArraysItsArchitectureCounts(String sae) throws Exception {
        SaeSpec spec = Mappers.yaml().readValue(sae, SaeSpec.class);
        spec.dSae = D_SAE;
        spec.applyDefaults();
        SaeArchitecture architecture = SaeArchitectures.of(spec.architecture);
        try (NDManager step = Torch.engine().newBaseManager(); TrainingSae model = architecture.initialise(spec, D_IN, step, 3)) {
            NDArray x = step.randomNormal(new Shape(N, D_IN));
            NDArray dead = step.create(new float[]{1, 0, 1, 0, 0, 1});
            Set<NDArray> left = leftBy(step, () -> model.forwardBackward(x, new TrainingSae.StepInput(0.3, dead)));

            RowArrays counted = architecture.stepArrays(spec, D_IN);
            // Matryoshka's levels hold [N, width] column blocks of a and g_a: counted as the whole
            // [N, d_sae] arrays they add up to (the batch variants' top-k leaves no [N, k] arrays).
            double blocks = left.stream().filter(a -> a.getDataType() == DataType.FLOAT32 && a.getShape().dimension() == 2
                            && a.getShape().get(0) == N && a.getShape().get(1) != D_SAE && a.getShape().get(1) != D_IN)
                    .mapToLong(NDArray::size).sum() / (double) (N * D_SAE);
            if (spec.matryoshkaWidths == null) {
                assertThat(count(left, D_SAE, DataType.FLOAT32)).as("[N, d_sae] floats").isEqualTo(counted.latentFloats());
            } else {
                assertThat(count(left, D_SAE, DataType.FLOAT32) + blocks).as("[N, d_sae] floats, the blocks rounded up")
                        .isBetween(counted.latentFloats() - 1.0, (double) counted.latentFloats());
            }
            assertThat(count(left, D_SAE, DataType.BOOLEAN)).as("[N, d_sae] masks").isEqualTo(counted.latentMasks());
            assertThat(count(left, D_IN, DataType.FLOAT32)).as("[N, d_in] floats").isEqualTo(counted.inputFloats());
        }
    }
}
