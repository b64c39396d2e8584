package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.kubernetes.api.model.Quantity;

/** What the training Job's pod asks the cluster for. */
@JsonPropertyOrder({"gpus", "gpuProduct", "gpuMemory", "cpu", "memory", "sharedMemory"})
public class ResourceSpec {
    public static final String LABEL_VALUE_PATTERN = "^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";

    @JsonPropertyDescription("NVIDIA GPUs requested (nvidia.com/gpu).")
    @Min(0)
    public int gpus = 1;

    @JsonPropertyDescription("GPU model the pod is scheduled on, matched against the nvidia.com/gpu.product node label.")
    @Pattern(LABEL_VALUE_PATTERN)
    @Expect(what = "a node label value", form = "letters, digits, '-', '_' or '.', at most 63, e.g. NVIDIA-A100-SXM4-80GB")
    public String gpuProduct = "NVIDIA-A100-SXM4-80GB";

    @JsonPropertyDescription("Memory of one GPU, as a Kubernetes quantity (e.g. 80Gi); defaults to what gpuProduct is known to have."
            + " validate and submit refuse a run whose estimated GPU memory exceeds it.")
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public Quantity gpuMemory;

    @JsonPropertyDescription("CPU cores requested, as a Kubernetes quantity.")
    public Quantity cpu = new Quantity("8");

    @JsonPropertyDescription("Memory requested and limited, as a Kubernetes quantity.")
    public Quantity memory = new Quantity("64Gi");

    @JsonPropertyDescription("Size of the in-memory /dev/shm volume, as a Kubernetes quantity.")
    public Quantity sharedMemory = new Quantity("16Gi");
}
