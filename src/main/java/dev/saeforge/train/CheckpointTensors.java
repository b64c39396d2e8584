package dev.saeforge.train;

import dev.saeforge.api.SaeDefinition;
import dev.saeforge.sae.SaeArchitectures;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.store.Safetensors;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The tensors one SAE's checkpoint holds, sized from its spec before anything runs, so that a
 * tensor no file can hold is refused by validate rather than at the first checkpoint, days in.
 * These are the tensors every architecture has: its four shared parameters in sae_weights, their
 * two Adam moments in trainer_state, and the [d_sae] firing statistics and sparsity. An
 * architecture's own parameters and buffers (thresholds) are [d_sae] vectors or scalars, never larger.
 *
 * @param sae     the SAE's name
 * @param tensors each tensor's name and shape, all float32
 */
public record CheckpointTensors(String sae, List<Tensor> tensors) {
    /** One float32 tensor of a checkpoint. */
    public record Tensor(String name, long[] shape) {
        /** Its bytes in a safetensors file; -1 when they do not fit a 64-bit count, so no file can hold it. */
        public long bytes() {
            return Safetensors.byteSize(Safetensors.Dtype.F32, shape);
        }

        @Override
        public String toString() {
            return name + " " + Arrays.toString(shape);
        }
    }

    /** The checkpoint tensors of {@code sae} at activations of width {@code dIn}. */
    public static CheckpointTensors of(SaeDefinition sae, int dIn) {
        long dSae = SaeArchitectures.of(sae.sae().architecture).dSae(sae.sae(), dIn);
        List<Tensor> parameters = List.of(new Tensor(TrainingSae.W_ENC, new long[]{dIn, dSae}),
                new Tensor(TrainingSae.W_DEC, new long[]{dSae, dIn}), new Tensor(TrainingSae.B_ENC, new long[]{dSae}),
                new Tensor(TrainingSae.B_DEC, new long[]{dIn}));
        List<Tensor> all = new ArrayList<>(parameters);
        for (Tensor parameter : parameters) {
            all.add(new Tensor(TrainerState.FIRST_MOMENT + parameter.name(), parameter.shape()));
            all.add(new Tensor(TrainerState.SECOND_MOMENT + parameter.name(), parameter.shape()));
        }
        for (String statistic : TrainerState.FEATURE_STATISTICS) {
            all.add(new Tensor(statistic, new long[]{dSae}));
        }
        all.add(new Tensor("sparsity", new long[]{dSae}));
        return new CheckpointTensors(sae.name(), List.copyOf(all));
    }

    /** The largest tensor; one no file can hold counts as larger than any. */
    public Tensor largest() {
        return tensors.stream().max(Comparator.comparingLong(t -> t.bytes() < 0 ? Long.MAX_VALUE : t.bytes())).orElseThrow();
    }

    /** The tensors too large for any file. */
    public List<Tensor> unwritable() {
        return tensors.stream().filter(t -> t.bytes() < 0).toList();
    }
}
