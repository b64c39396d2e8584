package dev.saeforge.tensor;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

/**
 * The one way SAE Forge reaches libtorch through DJL. DJL must never reach for the network:
 * libtorch comes from the pytorch-native-cpu jar (or PYTORCH_LIBRARY_PATH on GPU images) and
 * DJL's usage tracking is off, so the flags are set before the engine first loads.
 */
public final class Torch {
    private Torch() {
    }

    /**
     * The PyTorch engine, loaded offline. When libtorch cannot be loaded the error says where it
     * was looked for: DJL's own message ("Failed to extract PyTorch native library") names neither
     * libtorch nor the place.
     */
    public static synchronized Engine engine() {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        try {
            if (tf32 == null) {
                tf32 = "1".equals(ProcessEnvironment.get(TF32_VARIABLE));
            }
            return Engine.getEngine("PyTorch");
        } catch (EngineException e) {
            String path = System.getenv("PYTORCH_LIBRARY_PATH");
            throw new EngineException("libtorch could not be loaded from " + (path != null ? "PYTORCH_LIBRARY_PATH=" + path
                    : "the pytorch-native-cpu jar or DJL's cache") + ": " + e.getMessage(), e);
        }
    }

    /**
     * libtorch reads this once, when it makes its global context, and then computes float32
     * matrix products on TF32 tensor cores (A100 and newer; float32 accumulation) as SAELens'
     * autocast does. DJL 0.36 has no call for it (reference/djl-bf16-cuda.md §3).
     */
    public static final String TF32_VARIABLE = "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE";

    /** Whether TF32_VARIABLE was 1 when libtorch loaded in this process; null before it loads. */
    private static Boolean tf32;

    /**
     * Asks for TF32 float32 matrix products on the GPU: sets TF32_VARIABLE in this process's
     * environment, which libtorch reads when it loads. Returns whether products will be TF32,
     * false when libtorch had already loaded without it (too late to change). On a CPU it changes
     * nothing.
     */
    public static synchronized boolean requestTf32() {
        if (tf32 == null) {
            ProcessEnvironment.set(TF32_VARIABLE, "1");
            tf32 = true;
        }
        return tf32;
    }

    /** Whether float32 matrix products on a GPU are TF32 in this process (see {@link #requestTf32}). */
    public static synchronized boolean tf32() {
        engine();
        return tf32;
    }

    /** A scalar array's value as a double, whatever its float type (DJL's getDouble wants float64). */
    public static double scalar(NDArray array) {
        return array.toType(DataType.FLOAT64, false).getDouble();
    }

    /**
     * Copies {@code source} into {@code target} in place (shapes must match). DJL's copyTo does
     * the same but makes libtorch print a deprecation warning on the user's terminal.
     */
    public static void assign(NDArray target, NDArray source) {
        target.set(new NDIndex("..."), source);
    }

    /**
     * Σ over the rows of a [N, D] matrix, as [D]: a [1, N] × [N, D] product, which BLAS does in one
     * streaming pass where torch's sum over dim 0 of a row-major matrix takes twice as long on the CPU.
     */
    public static NDArray columnSums(NDArray matrix) {
        NDArray ones = matrix.getManager().ones(new ai.djl.ndarray.types.Shape(1, matrix.getShape().get(0)), matrix.getDataType());
        return ones.matMul(matrix).squeeze(0);
    }

    /** CUDA when there is a GPU (see {@link #hasGpu}) and {@code allowGpu}, else the CPU. */
    public static Device device(boolean allowGpu) {
        return allowGpu && hasGpu() ? Device.gpu() : Device.cpu();
    }

    /** The device as libtorch names it: "cpu", "cuda:0". */
    public static String deviceName(Device device) {
        return device.isGpu() ? "cuda:" + device.getDeviceId() : "cpu";
    }

    private static Boolean hasGpu;

    /**
     * Whether libtorch can compute on cuda:0. DJL counts GPUs by calling libcudart through JNA;
     * the native executable carries no JNA dispatch library, so there DJL always counts zero. When
     * DJL counts none, libtorch itself is asked: a CPU-only libtorch, or a CUDA one on a machine
     * without a usable GPU, refuses to place a tensor on cuda:0.
     */
    public static synchronized boolean hasGpu() {
        if (hasGpu == null) {
            Engine engine = engine();
            hasGpu = engine.getGpuCount() > 0 || libtorchPlacesATensorOnTheGpu(engine);
        }
        return hasGpu;
    }

    private static boolean libtorchPlacesATensorOnTheGpu(Engine engine) {
        try (NDManager manager = engine.newBaseManager(Device.gpu())) {
            manager.zeros(new Shape(1), DataType.FLOAT32, Device.gpu()).close();
            return true;
        } catch (EngineException | IllegalArgumentException noCuda) {
            return false;
        }
    }
}
