package dev.saeforge.sae;

/**
 * How many arrays with a row per batch row a call leaves alive until the caller's scope closes
 * (DJL frees nothing sooner): float32 [N, d_sae], boolean [N, d_sae] and float32 [N, d_in].
 */
public record RowArrays(int latentFloats, int latentMasks, int inputFloats) {
    public long bytes(long rows, int dIn, int dSae) {
        return rows * ((long) dSae * (Float.BYTES * latentFloats + latentMasks) + (long) dIn * Float.BYTES * inputFloats);
    }
}
