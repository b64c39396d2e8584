package dev.saeforge.train;

import dev.saeforge.data.LanguageModelActivations;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelShapes;
import dev.saeforge.lm.Qwen3Config;
import dev.saeforge.lm.Qwen3Model;
import dev.saeforge.sae.RowArrays;
import dev.saeforge.sae.SaeArchitecture;
import dev.saeforge.sae.SaeArchitectures;
import dev.saeforge.tensor.Precision;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The GPU memory a run holds at its peak, estimated from its spec before anything starts, so that
 * validate and submit can refuse a run that cannot fit the GPU it asks for. Each part counts what
 * the code holds; its comment says where that is. Two peaks matter: while training, and while an
 * evaluation has the whole model loaded. SAE arrays are float32: spec.training.autocast lets
 * float32 products use TF32, it stores nothing in less.
 *
 * <p>At Qwen3-8B in bfloat16, blocks.28.hook_mlp_out, one JumpReLU SAE of 65,536 latents, batch
 * 4,096 and the default stream (32 windows of 128 tokens a pass, 20 passes a buffer), in GiB:
 * <ul>
 * <li>the model to layer 28: 6.2 billion parameters, 11.6 (15.3 with layers 29-35 and lm_head
 *     while evaluating); one layer's intermediates for 4,096 tokens, 0.5 (1.0 while evaluating);</li>
 * <li>the mixing buffer, four refills' worth of 81,920 rows of 4,096 float32s: 5.0;</li>
 * <li>the SAE's weights 2.0 and Adam's moments 4.0: 6.0 for as long as it trains, and 6.0 more
 *     for each further SAE of that size;</li>
 * <li>its step 6.3: gradients 2.0 (Adam's fused update needs nothing more), and the [4096, 65536]
 *     arrays of the forward and backward pass, four float32 (1.0 each);</li>
 * <li>its evaluation 3.4: encoding one held-out batch of 4,096 tokens (2.4), the hook's rows, the
 *     spliced residual streams and the logits, 2^24 values at a time;</li>
 * <li>CUDA 1.5;</li>
 * </ul>
 * 30.8 while training, 32.2 (the peak) while evaluating: an A100-80GB holds it with room for seven
 * more such SAEs, an A100-40GB (40.0) with 7.8 to spare.
 *
 * @param parts    what holds memory, in the order printed
 * @param leftOut  what could not be estimated, and why (an unknown model shape)
 */
public record MemoryEstimate(List<Part> parts, List<String> leftOut) {
    /** What the driver keeps of nvidia-smi's memory.total (0.7 GiB on an A100-80GB) and the CUDA context with libtorch's kernels. */
    static final long CUDA_RUNTIME_BYTES = 3L << 29;

    /** Something that holds GPU memory: its bytes while training, and while an evaluation runs. */
    public sealed interface Part permits ModelWeights, ForwardPass, MixingBuffer, SaeState, SaeStep, SaeEvaluation, CudaRuntime {
        String what();

        long training();

        long evaluation();
    }

    /**
     * The language model's weights in the forward's precision: the embedding and the layers to
     * the deepest hook while training (Qwen3Model loads layers on first use); every layer, the
     * final norm and lm_head while an evaluation runs.
     */
    public record ModelWeights(String model, Precision precision, int deepestLayer, Qwen3Config config) implements Part {
        public String what() {
            return model + " in " + precision + ", blocks 0-" + deepestLayer + " (while evaluating: all " + config.numLayers() + ", lm_head)";
        }

        public long training() {
            return config.parametersThrough(deepestLayer) * precision.bytes;
        }

        public long evaluation() {
            return config.parameters() * precision.bytes;
        }
    }

    /**
     * One forward pass's intermediates (qwen3.py frees each after its last use, so one decoder
     * layer's are alive): in the MLP the layer's input, attention output, resid_mid and its norm,
     * the gate|up product and SiLU(gate) and mlp_post; in attention the input and its norm, the
     * q|k|v product and its normed copies, k and v repeated to every head, the context and its
     * contiguous copy. While an evaluation runs, the producer thread may run one more.
     */
    public record ForwardPass(Precision precision, int tokens, Qwen3Config config) implements Part {
        public String what() {
            return "language-model forward, " + tokens + " tokens a pass, one layer's intermediates";
        }

        long valuesPerToken() {
            long h = config.hiddenSize();
            long mlp = 4 * h + 4L * config.intermediateSize();
            long attention = 2 * h + 6L * config.queryWidth() + 4L * config.kvWidth();
            return Math.max(mlp, attention);
        }

        public long training() {
            return tokens * valuesPerToken() * precision.bytes;
        }

        public long evaluation() {
            return 2 * training();
        }
    }

    /**
     * A hook's mixing buffer, float32 rows of the hook's width on the model's device: the
     * refills alive and the permuted copy of the one being made.
     */
    public record MixingBuffer(String hook, int width, long rows) implements Part {
        public String what() {
            return "mixing buffer of " + hook + ", " + (LanguageModelActivations.REFILLS_ALIVE + 1) + " x " + rows + " rows of " + width;
        }

        public long training() {
            return (LanguageModelActivations.REFILLS_ALIVE + 1) * rows * width * Float.BYTES;
        }

        public long evaluation() {
            return training();
        }
    }

    /** An SAE for as long as it trains: float32 weights, Adam's two moments, three [d_sae] firing statistics (FeatureStats). */
    public record SaeState(String name, int dIn, int dSae, long parameters) implements Part {
        public String what() {
            return "SAE " + name + ", " + dIn + " x " + dSae + ": weights and Adam moments";
        }

        public long training() {
            return 3 * parameters * Float.BYTES + 3L * dSae * Float.BYTES;
        }

        public long evaluation() {
            return training();
        }
    }

    /**
     * One SAE step, everything alive until its scope closes: a gradient per parameter (Adam.step's
     * fused update allocates nothing), the batch-sized arrays of the forward and backward pass
     * (SaeArchitecture.stepArrays), and the trainer's own [N, d_in] arrays: the squared batch
     * of its metrics, and the scaled batch when activations are normalised (SaeTrainer).
     */
    public record SaeStep(String name, int batch, int dIn, int dSae, long parameters, RowArrays arrays,
                          int trainerInputs) implements Part {
        public String what() {
            return "SAE step, one SAE at a time (" + name + "), batch " + batch;
        }

        public long training() {
            return parameters * Float.BYTES + arrays.bytes(batch, dIn, dSae) + (long) batch * dIn * Float.BYTES * trainerInputs;
        }

        public long evaluation() {
            return 0;
        }
    }

    /**
     * Evaluating one SAE on one held-out batch (Evaluation, Qwen3Model.losses): the activation at
     * the hook, its zeroed copy, encoding and decoding it (SaeArchitecture.encodeDecodeArrays)
     * with the reconstruction error, its square, x² and the firing mask; the residual stream and
     * the three spliced outputs; the logits, LOGITS_CHUNK_ELEMENTS at a time, in the forward's
     * precision and as five float32 arrays (log-softmax of the clean and spliced run, their
     * exponent, difference and product).
     */
    public record SaeEvaluation(String name, int tokens, int dIn, int dSae, RowArrays arrays, Precision precision,
                                int hidden) implements Part {
        public String what() {
            return "evaluation, one SAE at a time (" + name + "), " + tokens + " held-out tokens";
        }

        public long training() {
            return 0;
        }

        public long evaluation() {
            long hookRows = (long) tokens * dIn * Float.BYTES * (2 + 3) + (long) tokens * dSae;
            long streams = 4L * tokens * hidden * precision.bytes;
            long logits = Qwen3Model.LOGITS_CHUNK_ELEMENTS * (5L * Float.BYTES + precision.bytes);
            return arrays.bytes(tokens, dIn, dSae) + hookRows + streams + logits;
        }
    }

    /** What the driver and CUDA take before the first tensor: {@link #CUDA_RUNTIME_BYTES}. */
    public record CudaRuntime() implements Part {
        public String what() {
            return "CUDA context and driver reserve";
        }

        public long training() {
            return CUDA_RUNTIME_BYTES;
        }

        public long evaluation() {
            return CUDA_RUNTIME_BYTES;
        }
    }

    /** Bytes while training: the sum of every part's. */
    public long training() {
        return parts.stream().mapToLong(Part::training).sum();
    }

    /** Bytes while an evaluation runs. */
    public long evaluation() {
        return parts.stream().mapToLong(Part::evaluation).sum();
    }

    /** The larger of the two. */
    public long peak() {
        return Math.max(training(), evaluation());
    }

    /**
     * The estimate for a language-model run's valid spec and SAEs, with the model's shape where
     * it is known. Without it the model's parts are left out, and an SAE (and its buffer) whose
     * width its sae.dIn does not give.
     */
    public static MemoryEstimate of(TrainingRunSpec spec, List<SaeDefinition> saes, ModelShapes.Shape shape) {
        List<Part> parts = new ArrayList<>();
        List<String> leftOut = new ArrayList<>();
        Qwen3Config config = shape.config();
        Precision precision = null;
        int tokens = spec.dataset.storeBatchSizePrompts * spec.dataset.contextSize;
        if (config != null) {
            precision = spec.model.dtype != null ? Precision.parse(spec.model.dtype.name()) : Qwen3Model.checkpointPrecision(config);
            int deepest = saes.stream().mapToInt(sae -> HookPoint.parse(sae.hook()).layer()).max().orElseThrow();
            parts.add(new ModelWeights(spec.model.name, precision, deepest, config));
            parts.add(new ForwardPass(precision, tokens, config));
        } else {
            leftOut.add("the language model: " + shape.source());
        }
        Map<String, Integer> widths = new LinkedHashMap<>();
        List<SaeStep> steps = new ArrayList<>();
        List<SaeEvaluation> evaluations = new ArrayList<>();
        List<Part> states = new ArrayList<>();
        for (SaeDefinition sae : saes) {
            Integer dIn = config != null ? Integer.valueOf(HookPoint.parse(sae.hook()).width(config)) : sae.sae().dIn;
            if (dIn == null) {
                leftOut.add("SAE " + sae.name() + ": the width of " + sae.hook() + " (the model's shape is unknown and "
                        + sae.saePath() + ".dIn is not set)");
                continue;
            }
            widths.putIfAbsent(sae.hook(), dIn);
            SaeArchitecture architecture = SaeArchitectures.of(sae.sae().architecture);
            int dSae = architecture.dSae(sae.sae(), dIn);
            long parameters = architecture.parameters(sae.sae(), dIn);
            states.add(new SaeState(sae.name(), dIn, dSae, parameters));
            int trainerInputs = 1 + (sae.sae().normalizeActivations == SaeSpec.ActivationNormalization.NONE ? 0 : 1);
            steps.add(new SaeStep(sae.name(), spec.training.batchSizeTokens, dIn, dSae, parameters,
                    architecture.stepArrays(sae.sae(), dIn), trainerInputs));
            if (config != null) {
                evaluations.add(new SaeEvaluation(sae.name(), tokens, dIn, dSae, architecture.encodeDecodeArrays(sae.sae(), dIn), precision,
                        config.hiddenSize()));
            }
        }
        // The buffer holds kept positions only (spec.dataset.seqposSlice), as the stream sizes it.
        long bufferRows = spec.dataset.bufferRows();
        widths.forEach((hook, width) -> parts.add(new MixingBuffer(hook, width, bufferRows)));
        parts.addAll(states);
        // SAEs step and evaluate one after another: the largest of each is what is alive at once.
        steps.stream().max(Comparator.comparingLong(SaeStep::training)).ifPresent(parts::add);
        evaluations.stream().max(Comparator.comparingLong(SaeEvaluation::evaluation)).ifPresent(parts::add);
        parts.add(new CudaRuntime());
        return new MemoryEstimate(List.copyOf(parts), List.copyOf(leftOut));
    }
}
