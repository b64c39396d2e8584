package dev.saeforge.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.lm.ForwardBenchmark;
import dev.saeforge.sae.SaeArchitecture;
import dev.saeforge.sae.SaeArchitectures;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.tensor.NativeMemory;
import dev.saeforge.tensor.Torch;
import dev.saeforge.train.Adam;
import dev.saeforge.train.FeatureStats;
import dev.saeforge.train.SaeTrainer;
import dev.saeforge.train.Schedules;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Times the SAE training step against the bare matmuls it cannot avoid, on the same shapes in
 * the same process, alternating the two so that load from other processes, which only ever slows
 * a run down, hits both alike; each is reported at its best run (as timeit does) with the median
 * beside. The ratio (matmul time / step time) says how much of a step is overhead: 1.0 would be none.
 */
@Command(name = "sae", description = {"Time an SAE training step against its five bare matmuls.",
        "Alternating rounds, each figure the best round; ratio = matmul time / step time.",
        "For the TopK family the top-k selection's own time is reported beside them."})
public class BenchSaeCommand implements Callable<Integer> {
    @Option(names = "--d-in", defaultValue = "512", description = "Input width (default ${DEFAULT-VALUE}).")
    int dIn;

    @Option(names = "--d-sae", defaultValue = "4096", description = "Latents (default ${DEFAULT-VALUE}).")
    int dSae;

    @Option(names = "--batch", defaultValue = "4096", description = "Rows per step (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--architecture", defaultValue = "jumprelu", paramLabel = "NAME",
            description = "jumprelu, topk, batchtopk, matryoshka_batchtopk or standard (default ${DEFAULT-VALUE}), at SAELens' defaults.")
    String architecture;

    @Option(names = "--k", defaultValue = "100", description = "k of the TopK family (default ${DEFAULT-VALUE}, SAELens').")
    double k;

    @Option(names = "--rounds", defaultValue = "10", description = "Timed rounds of each (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--memory-steps", defaultValue = "0",
            description = "Then train this many more steps and report resident memory every 50 steps and the live tensor count.")
    int memorySteps;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "json for one JSON object.")
    JsonOutput output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = command.commandLine().getOut();
        if (dIn < 1 || dSae < 1 || batch < 1 || rounds < 1 || memorySteps < 0) {
            command.commandLine().getErr().println("--d-in, --d-sae, --batch and --rounds must be at least 1, --memory-steps at least 0");
            return ExitCodes.INVALID_INPUT;
        }
        if (architecture() == null) {
            command.commandLine().getErr().println("--architecture " + architecture + " is not an SAE architecture; expected one of "
                    + String.join(", ", Arrays.stream(SaeSpec.Architecture.values()).map(SaeSpec.Architecture::value).toList()));
            return ExitCodes.INVALID_INPUT;
        }
        if (topK() && (k <= 0 || k > dSae)) {
            command.commandLine().getErr().println("--k " + k + " must be above 0 and at most --d-sae " + dSae);
            return ExitCodes.INVALID_INPUT;
        }
        Map<String, Object> result = measure(Torch.device(true));
        if (output == JsonOutput.json) {
            out.println(new ObjectMapper().writeValueAsString(result));
        } else {
            out.printf("SAE step   %s, d_in %d, d_sae %d, batch %d on %s: %.1f ms (best of %d; median %.1f ms)%n", architecture, dIn, dSae,
                    batch, result.get("device"), 1e3 * (double) result.get("step_seconds"), rounds,
                    1e3 * (double) result.get("step_median_seconds"));
            out.printf("matmuls    the step's 5 matmuls alone: %.1f ms (%.1f GFLOP/s; median %.1f ms)%n",
                    1e3 * (double) result.get("matmul_seconds"), (double) result.get("matmul_gflops"),
                    1e3 * (double) result.get("matmul_median_seconds"));
            out.printf("ratio      %.3f (matmul time / step time)%n", (double) result.get("ratio"));
            if (result.containsKey("topk_seconds")) {
                out.printf("top-k      the selection's torch.topk alone: %.1f ms (median %.1f ms)%n", 1e3 * (double) result.get("topk_seconds"),
                        1e3 * (double) result.get("topk_median_seconds"));
            }
            if (result.containsKey("rss_growth_after_step_50")) {
                out.printf("memory     RSS %d MiB at step 50, %d MiB after %d steps (%+.1f%%), peak %d MiB%n", result.get("rss_mib_at_step_50"),
                        result.get("rss_mib_at_end"), memorySteps, 100 * (double) result.get("rss_growth_after_step_50"), result.get("rss_mib_peak"));
            }
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** The step and its matmuls timed side by side on {@code device}, with this command's shapes. */
    Map<String, Object> measure(Device device) throws IOException {
        Map<String, Object> result = new LinkedHashMap<>();
        try (NDManager manager = Torch.engine().newBaseManager(device)) {
            SaeSpec saeSpec = new SaeSpec();
            saeSpec.architecture = architecture();
            saeSpec.dSae = dSae;
            if (topK()) {
                saeSpec.k = k;
            }
            if (saeSpec.architecture == SaeSpec.Architecture.MATRYOSHKA_BATCHTOPK) {
                saeSpec.matryoshkaWidths = List.of(dSae / 16, dSae / 4);   // three levels
            }
            saeSpec.applyDefaults();
            SaeArchitecture arch = SaeArchitectures.of(saeSpec.architecture);
            TrainingSae sae = arch.initialise(saeSpec, dIn, manager, 42);
            TrainingSpec training = new TrainingSpec();
            training.batchSizeTokens = batch;
            training.tokens = (long) batch * 1_000_000;
            training.lrEnd = training.lr / 10;
            Adam adam = new Adam(sae.parameters(), training.adamBeta1, training.adamBeta2, 1e-8, manager);
            FeatureStats stats = new FeatureStats(dSae, training.deadFeatureWindow, training.featureSamplingWindow, manager);
            try (sae; SaeTrainer trainer = new SaeTrainer(sae, adam, stats, Schedules.LearningRate.of(training),
                    arch.sparsityCoefficient(saeSpec), 0, arch.needsDeadMask(saeSpec), 1.0)) {
                NDArray x = manager.randomNormal(0, 1, new Shape(batch, dIn), DataType.FLOAT32);
                NDArray wEnc = sae.parameters().get(TrainingSae.W_ENC);
                NDArray wDec = sae.parameters().get(TrainingSae.W_DEC);
                NDArray wide = manager.randomNormal(0, 1, new Shape(batch, dSae), DataType.FLOAT32);
                NDArray narrow = manager.randomNormal(0, 1, new Shape(batch, dIn), DataType.FLOAT32);
                for (int i = 0; i < 2; i++) {   // warm-up: first calls allocate and pick kernels
                    timeStep(trainer, x);
                    timeMatmuls(x, wEnc, wDec, wide, narrow);
                }
                double[] step = new double[rounds];
                double[] matmul = new double[rounds];
                double[] topk = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    step[r] = timeStep(trainer, x);
                    matmul[r] = timeMatmuls(x, wEnc, wDec, wide, narrow);
                    topk[r] = topK() ? timeTopK(wide, saeSpec) : 0;
                }
                double stepSeconds = Arrays.stream(step).min().orElseThrow();
                double matmulSeconds = Arrays.stream(matmul).min().orElseThrow();
                result.put("d_in", dIn);
                result.put("d_sae", dSae);
                result.put("batch", batch);
                result.put("device", device.toString());
                result.put("rounds", rounds);
                result.put("step_seconds", stepSeconds);
                result.put("matmul_seconds", matmulSeconds);
                result.put("architecture", saeSpec.architecture.value());
                result.put("ratio", matmulSeconds / stepSeconds);
                // What the step spends besides its matmuls: the elementwise passes over [batch, d_sae].
                result.put("non_matmul_seconds", stepSeconds - matmulSeconds);
                if (topK()) {
                    result.put("k", k);
                    result.put("topk_seconds", Arrays.stream(topk).min().orElseThrow());
                    result.put("topk_median_seconds", ForwardBenchmark.median(topk));
                }
                result.put("step_median_seconds", ForwardBenchmark.median(step));
                result.put("matmul_median_seconds", ForwardBenchmark.median(matmul));
                result.put("matmul_gflops", stepFlops(batch, dIn, dSae) / matmulSeconds / 1e9);
                if (memorySteps > 0) {
                    // Resident memory is sampled after freed native memory is handed back (as the
                    // trainer does every 10 s), so it counts what the process holds, not what
                    // glibc has yet to return; the highest raw reading is reported beside it.
                    long at50 = 0;
                    long end = 0;
                    long heapAt50 = 0;
                    int arraysAt50 = 0;
                    long peak = 0;
                    List<Long> every50 = new ArrayList<>();
                    for (int s = 1; s <= memorySteps; s++) {
                        timeStep(trainer, x);
                        peak = Math.max(peak, NativeMemory.residentBytes());
                        if (s % 50 == 0 || s == memorySteps) {
                            NativeMemory.release();
                            end = NativeMemory.residentBytes();
                            every50.add(end / (1 << 20));
                            if (s == Math.min(50, memorySteps)) {
                                at50 = end;
                                heapAt50 = Runtime.getRuntime().totalMemory();
                                arraysAt50 = manager.getManagedArrays().size();
                            }
                        }
                    }
                    result.put("rss_mib_every_50_steps", every50);
                    // A leak of tensors would show here: the count must not change between the two.
                    result.put("live_tensors_at_step_50", arraysAt50);
                    result.put("live_tensors_at_end", manager.getManagedArrays().size());
                    result.put("java_heap_mib_at_step_50", heapAt50 / (1 << 20));
                    result.put("java_heap_mib_at_end", Runtime.getRuntime().totalMemory() / (1 << 20));
                    result.put("rss_mib_peak", peak / (1 << 20));
                    result.put("memory_steps", memorySteps);
                    result.put("rss_mib_at_step_50", at50 / (1 << 20));
                    result.put("rss_mib_at_end", end / (1 << 20));
                    result.put("rss_growth_after_step_50", (double) (end - at50) / at50);
                }
            }
        }
        return result;
    }

    private SaeSpec.Architecture architecture() {
        return Arrays.stream(SaeSpec.Architecture.values()).filter(a -> a.value().equals(architecture)).findFirst().orElse(null);
    }

    private boolean topK() {
        SaeSpec.Architecture a = architecture();
        return a == SaeSpec.Architecture.TOPK || a == SaeSpec.Architecture.BATCHTOPK || a == SaeSpec.Architecture.MATRYOSHKA_BATCHTOPK;
    }

    /** The selection's torch.topk: k per row for topk, k·batch over the whole batch for the batch variants. */
    private static double timeTopK(NDArray wide, SaeSpec spec) {
        try (NDScope scope = new NDScope()) {
            long start = System.nanoTime();
            NDArray indices = spec.architecture == SaeSpec.Architecture.TOPK
                    ? wide.topK((int) (double) spec.k, 1, true, false).get(1)
                    : wide.flatten().topK((int) (spec.k * wide.getShape().get(0)), 0, true, false).get(1);
            indices.flatten().getLong(0);   // waits for a GPU, as the matmuls do
            return (System.nanoTime() - start) / 1e9;
        }
    }

    /** The floating-point operations of the step's five matrix products, 2·m·n·k each. */
    static double stepFlops(int batch, int dIn, int dSae) {
        return 10.0 * batch * dIn * dSae;
    }

    /** One full training step, finished (the step reads back one scalar, which waits for the device). */
    private static double timeStep(SaeTrainer trainer, NDArray x) {
        try (NDScope scope = new NDScope()) {
            long start = System.nanoTime();
            trainer.step(x);
            return (System.nanoTime() - start) / 1e9;
        }
    }

    /** The step's matmuls: h = x W_enc, x̂ = f W_dec, g_f = g W_decᵀ, g_Wdec = fᵀ g, g_Wenc = xᵀ g_h. */
    private static double timeMatmuls(NDArray x, NDArray wEnc, NDArray wDec, NDArray wide, NDArray narrow) {
        try (NDScope scope = new NDScope()) {
            long start = System.nanoTime();
            NDArray a = x.matMul(wEnc);
            NDArray b = wide.matMul(wDec);
            NDArray c = narrow.matMul(wDec.transpose());
            NDArray d = wide.transpose().matMul(narrow);
            NDArray e = x.transpose().matMul(wide);
            for (NDArray result : new NDArray[]{a, b, c, d, e}) {
                result.getFloat(0, 0);   // waits for a GPU; on the CPU every op has already run
            }
            return (System.nanoTime() - start) / 1e9;
        }
    }
}
