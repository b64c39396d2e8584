package dev.saeforge.api;

import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The memory of the GPU a run asks for. */
class GpuMemoryTest {
    static ResourceSpec resources(String product, String memory) {
        ResourceSpec resources = new ResourceSpec();
        resources.gpuProduct = product;
        resources.gpuMemory = memory == null ? null : new Quantity(memory);
        return resources;
    }

    @Test
    void aKnownProductHasTheMemoryNvidiaSmiReports() {
        assertThat(GpuMemory.of(resources("NVIDIA-A100-SXM4-80GB", null)))
                .contains(new GpuMemory(81_920L << 20, "spec.resources.gpuProduct", "NVIDIA-A100-SXM4-80GB"));
        assertThat(GpuMemory.of(resources("NVIDIA-A100-PCIE-40GB", null))).get().extracting(GpuMemory::bytes).isEqualTo(40_960L << 20);
        assertThat(GpuMemory.of(resources("NVIDIA-A100-80GB-PCIe", null))).get().extracting(GpuMemory::bytes).isEqualTo(81_920L << 20);
        assertThat(GpuMemory.of(resources("NVIDIA-H200", null))).get().extracting(GpuMemory::bytes).isEqualTo(143_771L << 20);
    }

    @Test
    void gpuMemoryWinsOverTheProduct() {
        assertThat(GpuMemory.of(resources("NVIDIA-A100-SXM4-80GB", "40Gi")))
                .contains(new GpuMemory(40L << 30, "spec.resources.gpuMemory", "40Gi"));
        assertThat(GpuMemory.of(resources("NVIDIA-B200", "180G"))).get().extracting(GpuMemory::bytes).isEqualTo(180_000_000_000L);
    }

    @Test
    void anUnknownProductWithoutGpuMemoryHasNone() {
        assertThat(GpuMemory.of(resources("NVIDIA-B200", null))).isEmpty();
        assertThat(GpuMemory.of(resources("NVIDIA-A100-SXM4-40GB-MIG-1g.5gb", null))).as("a MIG slice is not the whole GPU").isEmpty();
    }
}
