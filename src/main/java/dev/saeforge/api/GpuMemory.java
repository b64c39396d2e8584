package dev.saeforge.api;

import io.fabric8.kubernetes.api.model.Quantity;

import java.util.Map;
import java.util.Optional;

/**
 * The memory of the GPU a run asks for: spec.resources.gpuMemory when set, else what
 * spec.resources.gpuProduct is known to have.
 *
 * @param bytes the memory of one GPU
 * @param field the field the figure comes from, for messages: spec.resources.gpuMemory or spec.resources.gpuProduct
 * @param gpu   what it is the memory of, for messages: the product, or the quantity as written
 */
public record GpuMemory(long bytes, String field, String gpu) {
    /**
     * nvidia-smi's memory.total, in MiB, of the GPUs whose nvidia.com/gpu.product label (the
     * device name with '-' for spaces, as GPU feature discovery writes it) is known here.
     */
    static final Map<String, Long> KNOWN_PRODUCTS_MIB = Map.of(
            "NVIDIA-A100-SXM4-40GB", 40_960L,
            "NVIDIA-A100-PCIE-40GB", 40_960L,
            "NVIDIA-A100-SXM4-80GB", 81_920L,
            "NVIDIA-A100-80GB-PCIe", 81_920L,
            "NVIDIA-H100-80GB-HBM3", 81_559L,
            "NVIDIA-H100-PCIe", 81_559L,
            "NVIDIA-H200", 143_771L,
            "NVIDIA-L40S", 46_068L);

    /** The memory of the GPU {@code resources} asks for, if gpuMemory gives it or gpuProduct is known. */
    public static Optional<GpuMemory> of(ResourceSpec resources) {
        if (resources.gpuMemory != null) {
            long bytes = Quantity.getAmountInBytes(resources.gpuMemory).longValue();
            return Optional.of(new GpuMemory(bytes, "spec.resources.gpuMemory", resources.gpuMemory.toString()));
        }
        Long mib = resources.gpuProduct == null ? null : KNOWN_PRODUCTS_MIB.get(resources.gpuProduct);
        return mib == null ? Optional.empty() : Optional.of(new GpuMemory(mib << 20, "spec.resources.gpuProduct", resources.gpuProduct));
    }
}
