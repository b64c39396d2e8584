package dev.saeforge.cli;

import dev.saeforge.store.Directories;
import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.lm.ForwardBenchmark;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Precision;
import dev.saeforge.tensor.Torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The SAE training step and the language-model forward on the GPU at the seed run's shapes
 * (Qwen3-8B width 4096, 16384 latents, 4096 rows; the forward program in bfloat16 through
 * --lm-layers Qwen3-8B-shaped layers): tokens per second and the TFLOP/s their matrix products
 * achieve, beside the same products timed bare, and the forward's peak device memory above its
 * weights. Says plainly, with exit code 69, when there is no GPU.
 */
@Command(name = "gpu", description = {"Tokens/s and achieved TFLOP/s of the SAE step and of the Qwen3 forward",
        "(bfloat16, Qwen3-8B shapes) on the GPU, and the forward's peak device memory.",
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

    @Option(names = "--lm-layers", defaultValue = "4",
            description = "Qwen3-8B-shaped decoder layers the forward runs through, random bfloat16 weights written to a temporary directory first; 0 skips the forward (default ${DEFAULT-VALUE}).")
    int lmLayers;

    @Option(names = "--lm-batch", defaultValue = "32", description = "Windows per forward pass (default ${DEFAULT-VALUE}, as SAELens' store_batch_size_prompts).")
    int lmBatch;

    @Option(names = "--lm-context-size", defaultValue = "128", description = "Tokens per window (default ${DEFAULT-VALUE}).")
    int lmContextSize;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "json for one JSON object.")
    JsonOutput output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        if (dIn < 1 || dSae < 1 || batch < 1 || rounds < 1 || lmLayers < 0 || lmBatch < 1 || lmContextSize < 1) {
            err.println("--d-in, --d-sae, --batch, --rounds, --lm-batch and --lm-context-size must be at least 1, --lm-layers at least 0");
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
        result.put("tf32", Torch.tf32());
        result.put("tokens_per_second", batch / stepSeconds);
        result.put("step_tflops", flops / stepSeconds / 1e12);
        result.put("matmul_tflops", flops / matmulSeconds / 1e12);
        Map<String, Object> lm = lmLayers == 0 ? null : forward();
        if (lm != null) {
            result.put("lm", lm);
        }
        if (output == JsonOutput.json) {
            out.println(new ObjectMapper().writeValueAsString(result));
        } else {
            out.printf("SAE step on %s, d_in %d, d_sae %d, batch %d, float32 %s%n", result.get("device"), dIn, dSae, batch,
                    (boolean) result.get("tf32") ? "products on TF32 tensor cores (" + Torch.TF32_VARIABLE + "=1)"
                            : "products in IEEE float32 (set " + Torch.TF32_VARIABLE + "=1 for TF32)");
            out.printf("tokens/s   %s (step %.2f ms, best of %d)%n", Units.count((long) (batch / stepSeconds)), 1e3 * stepSeconds, rounds);
            out.printf("TFLOP/s    %.1f achieved by the step's 5 products; %.1f by the same products bare (ratio %.3f)%n",
                    result.get("step_tflops"), result.get("matmul_tflops"), matmulSeconds / stepSeconds);
            if (lm != null) {
                out.printf("LM forward to %s of a %d-layer Qwen3-8B-shaped model, bfloat16, %d x %d tokens%n", lm.get("hook"), lmLayers,
                        lmBatch, lmContextSize);
                out.printf("tokens/s   %s (%.1f TFLOP/s in its products; bare products %.1f, ratio %.3f), peak %s MiB above the weights%n",
                        Units.count(((Number) lm.get("tokens_per_second")).longValue()), lm.get("tflops"),
                        (double) lm.get("matmul_gflops") / 1e3, lm.get("ratio"), lm.getOrDefault("peak_mib_above_weights", "unknown"));
            }
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** The Qwen3 forward program on the GPU, through ForwardBenchmark (what bench lm runs on the CPU). */
    private Map<String, Object> forward() throws IOException {
        TinyQwen3.Options model = new TinyQwen3.Options(lmLayers, 4096, 12288, 32, 8, 128, 151936, true, 0, Safetensors.Dtype.BF16, 1);
        HookPoint hook = new HookPoint(lmLayers - 1, HookPoint.Site.MLP_OUT);
        ForwardBenchmark.Settings settings = new ForwardBenchmark.Settings(model, hook, lmBatch, lmContextSize, 3, 0, true,
                List.of(Precision.BFLOAT16));
        Path workDir = Files.createTempDirectory("saeforge-bench-gpu");
        try {
            ForwardBenchmark.Figures f = ForwardBenchmark.run(settings, workDir, Device.gpu()).of(Precision.BFLOAT16);
            Map<String, Object> lm = new LinkedHashMap<>();
            lm.put("hook", hook.toString());
            lm.put("layers", lmLayers);
            lm.put("batch", lmBatch);
            lm.put("context_size", lmContextSize);
            lm.putAll(BenchLmCommand.timings(f));
            lm.put("tflops", f.matmulGflops() * f.ratio() / 1e3);
            return lm;
        } finally {
            Directories.deleteQuietly(workDir);
        }
    }
}
