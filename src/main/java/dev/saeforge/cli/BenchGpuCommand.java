package dev.saeforge.cli;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.operator.TrainingJobs;
import dev.saeforge.tensor.Torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The SAE training step on the GPU at the seed run's shapes (Qwen3-8B width 4096, 16384 latents,
 * 4096 rows): tokens per second and the TFLOP/s its five matrix products achieve, beside the same
 * products timed bare. Says plainly, with exit code 69, when there is no GPU.
 */
@Command(name = "gpu", description = {"Tokens/s and achieved TFLOP/s of the SAE step on the GPU (seed-run shapes).",
        "Exit code 69 when libtorch sees no GPU: nothing is measured then."})
public class BenchGpuCommand implements Callable<Integer> {
    @Option(names = "--d-in", defaultValue = "4096", description = "Input width (default ${DEFAULT-VALUE}, Qwen3-8B).")
    int dIn;

    @Option(names = "--d-sae", defaultValue = "16384", description = "Latents (default ${DEFAULT-VALUE}).")
    int dSae;

    @Option(names = "--batch", defaultValue = "4096", description = "Rows (tokens) per step (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--rounds", defaultValue = "20", description = "Timed rounds (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "json for one JSON object.")
    JsonOutput output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        if (dIn < 1 || dSae < 1 || batch < 1 || rounds < 1) {
            err.println("--d-in, --d-sae, --batch and --rounds must be at least 1");
            return ExitCodes.INVALID_INPUT;
        }
        if (!Torch.hasGpu()) {
            err.println("bench gpu: no GPU: libtorch (" + Torch.engine().getVersion() + ") cannot place a tensor on cuda:0 here, "
                    + "so nothing was measured. Run it on a GPU node with the CUDA image (Dockerfile.native).");
            err.flush();
            return ExitCodes.UNAVAILABLE;
        }
        BenchSaeCommand step = new BenchSaeCommand();
        step.dIn = dIn;
        step.dSae = dSae;
        step.batch = batch;
        step.rounds = rounds;
        Map<String, Object> measured = step.measure(Device.gpu());
        double flops = BenchSaeCommand.stepFlops(batch, dIn, dSae);
        double stepSeconds = (double) measured.get("step_seconds");
        double matmulSeconds = (double) measured.get("matmul_seconds");
        Map<String, Object> result = new LinkedHashMap<>(measured);
        result.put("tf32", "1".equals(System.getenv(TrainingJobs.TF32_VARIABLE)));
        result.put("tokens_per_second", batch / stepSeconds);
        result.put("step_tflops", flops / stepSeconds / 1e12);
        result.put("matmul_tflops", flops / matmulSeconds / 1e12);
        if (output == JsonOutput.json) {
            out.println(new ObjectMapper().writeValueAsString(result));
        } else {
            out.printf("SAE step on %s, d_in %d, d_sae %d, batch %d, float32 %s%n", result.get("device"), dIn, dSae, batch,
                    (boolean) result.get("tf32") ? "products on TF32 tensor cores (" + TrainingJobs.TF32_VARIABLE + "=1)"
                            : "products in IEEE float32 (set " + TrainingJobs.TF32_VARIABLE + "=1 for TF32)");
            out.printf("tokens/s   %s (step %.2f ms, best of %d)%n", Units.count((long) (batch / stepSeconds)), 1e3 * stepSeconds, rounds);
            out.printf("TFLOP/s    %.1f achieved by the step's 5 products; %.1f by the same products bare (ratio %.3f)%n",
                    result.get("step_tflops"), result.get("matmul_tflops"), matmulSeconds / stepSeconds);
        }
        out.flush();
        return ExitCodes.OK;
    }
}
