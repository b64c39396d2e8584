package dev.saeforge.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Allocation, copies and casts in any {@link Precision}, bfloat16 included: what DJL's NDArray API
 * cannot do for bfloat16 (it aborts the process), done by a small TorchScript program
 * ({@code dev/saeforge/tensor/any_dtype.py}). A bfloat16 array reports DJL's dtype UNKNOWN; it can
 * be passed to programs, reshaped and closed, but DJL methods that hand its dtype back to libtorch
 * abort: keep it inside programs.
 */
public final class AnyDtype {
    static final String PROGRAM = "dev/saeforge/tensor/any_dtype.py";
    private static final Map<Device, TorchScript> PROGRAMS = new ConcurrentHashMap<>();

    private AnyDtype() {
    }

    private static TorchScript program(Device device) {
        return PROGRAMS.computeIfAbsent(device, d -> TorchScript.load(PROGRAM, d));
    }

    /** An uninitialised {@code shape} array in {@code precision} on {@code device}, owned by {@code owner}. */
    public static NDArray empty(long[] shape, Precision precision, Device device, NDManager owner) {
        return program(device).call("empty").integers(shape).integer(precision.scalarType).text(Torch.deviceName(device))
                .returningTensor(owner);
    }

    /** {@code target[row : row + rows of block] = block}, converting dtype and device. */
    public static void copyRows(NDArray target, long row, NDArray block) {
        program(target.getDevice()).call("copy_rows").tensor(target).integer(row).tensor(block).returningNothing();
    }

    /** {@code x} in {@code precision}, owned by {@code owner}. */
    public static NDArray cast(NDArray x, Precision precision, NDManager owner) {
        return program(x.getDevice()).call("cast").tensor(x).integer(precision.scalarType).returningTensor(owner);
    }

    /** {@code inputs[i] @ weights[i]^T} for each i, one after the other (a benchmark's bare-matmul bound); the last product. */
    public static NDArray matmuls(List<NDArray> inputs, List<NDArray> weights, NDManager owner) {
        return program(weights.get(0).getDevice()).call("matmuls").tensors(inputs).tensors(weights).returningTensor(owner);
    }
}
