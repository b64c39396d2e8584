package dev.saeforge.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.tensor.Precision;
import dev.saeforge.tensor.Torch;
import dev.saeforge.tensor.TorchScript;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A Hugging Face Qwen3 causal language model: the Java side of the TorchScript program
 * {@code dev/saeforge/lm/qwen3.py}, which computes what transformers computes
 * (reference/saelens-qwen3.md §6) in bfloat16, float16 or float32, with TransformerLens hook
 * points (§7). This class reads the weights, places them on the device in the compute precision
 * and calls the program.
 *
 * <p>Layers load on first use: a forward pass to {@code blocks.L} reads layers 0..L only, and
 * lm_head and the final norm are read only when logits are asked for; {@link #releaseLayersAfter}
 * hands the later ones back. Token windows are int64 [B, T]; every position attends causally
 * within its own window, positions start at 0. Results are float32, on the tokens' device, in the
 * tokens' manager (and the caller's {@link NDScope}, if one is open). Forward passes may run on
 * several threads at once: the weights are only read, and loading them is synchronized.
 */
public final class Qwen3Model implements AutoCloseable {
    /** The program's source, a class-path resource. */
    public static final String PROGRAM = "dev/saeforge/lm/qwen3.py";
    /** Logit elements that {@link #losses} holds at once per run compared (64 MiB of float32). */
    public static final long LOGITS_CHUNK_ELEMENTS = 1L << 24;

    private final String name;
    private final Qwen3Config config;
    private final Qwen3Weights weights;
    private final NDManager manager;
    private final Precision precision;
    private final TorchScript program;
    private final List<List<NDArray>> layers;
    private NDArray embedding;
    private NDArray finalNorm;
    private NDArray lmHead;

    private Qwen3Model(String name, Qwen3Config config, Qwen3Weights weights, NDManager manager, Precision precision,
                       TorchScript program) {
        this.name = name;
        this.config = config;
        this.weights = weights;
        this.manager = manager;
        this.precision = precision;
        this.program = program;
        this.layers = new ArrayList<>(Collections.nCopies(config.numLayers(), null));
    }

    /**
     * Opens the checkpoint in {@code dir} (config.json and safetensors weights, checked up front)
     * to compute on {@code device} in {@code precision}; null means the checkpoint's own
     * torch_dtype (bfloat16 for Qwen3), float32 when config.json names none.
     */
    public static Qwen3Model load(Path dir, Device device, Precision precision) throws IOException {
        Qwen3Config config = Qwen3Config.read(dir);
        Precision compute = precision != null ? precision : checkpointPrecision(config);
        Qwen3Weights weights = Qwen3Weights.open(dir, config);
        TorchScript program;
        try {
            program = TorchScript.load(PROGRAM, device);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
        return new Qwen3Model(dir.toString(), config, weights, Torch.engine().newBaseManager(device), compute, program);
    }

    /** The precision config.json's torch_dtype names; float32 when it names none of bfloat16, float16, float32. */
    public static Precision checkpointPrecision(Qwen3Config config) {
        Precision named = Precision.parse(config.torchDtype());
        return named != null ? named : Precision.FLOAT32;
    }

    public Qwen3Config config() {
        return config;
    }

    public Precision precision() {
        return precision;
    }

    public Device device() {
        return manager.getDevice();
    }

    /** How many decoder layers are in memory. */
    public synchronized int loadedLayers() {
        return (int) layers.stream().filter(l -> l != null).count();
    }

    /** The checkpoint's tensors, for readers of single weights (the report's logit lens). */
    public Qwen3Weights weights() {
        return weights;
    }

    /** Whether lm_head and the final norm are in memory. */
    public synchronized boolean headLoaded() {
        return finalNorm != null;
    }

    /**
     * Runs the windows {@code tokens} (int64 [B, T]) up to {@code hook} and returns its
     * activations as float32 [B*T, width], row b*T + t for window b, position t. Layers after
     * the hook's are not computed (nor loaded).
     */
    public NDArray activations(NDArray tokens, HookPoint hook) {
        return activations(tokens, List.of(hook)).get(0);
    }

    /** As {@link #activations(NDArray, HookPoint)} for several hooks from one forward pass, in the order given. */
    public List<NDArray> activations(NDArray tokens, List<HookPoint> hooks) {
        try (Pass pass = run(tokens, hooks)) {
            return pass.take(tokens);
        }
    }

    /** The logits, float32 [B, T, vocab_size], of the whole model. */
    public NDArray logits(NDArray tokens) {
        HookPoint last = new HookPoint(config.numLayers() - 1, HookPoint.Site.RESID_POST);
        return logits(tokens, last, UnaryOperator.identity());
    }

    /**
     * The logits with the activation at {@code hook} replaced: {@code replacement} gets it as
     * float32 [B*T, width] (as {@link #activations} returns it, on the model's device) and returns
     * the same shape, e.g. an SAE's reconstruction or zeros for ablation.
     */
    public NDArray logits(NDArray tokens, HookPoint hook, UnaryOperator<NDArray> replacement) {
        NDArray logits;
        try (Pass pass = run(tokens, List.of(hook)); NDScope scope = new NDScope()) {
            NDArray output = resume(pass, hook, replacement.apply(pass.activations.get(0)));
            logits = program.call("logits").tensor(output).tensor(finalNorm).tensor(lmHead).real(config.rmsNormEps())
                    .returningTensor(manager);
            NDScope.unregister(logits);
        }
        return handOver(logits, tokens);
    }

    /**
     * Next-token cross-entropy and KL divergence with the activation at {@code hook} replaced by
     * each of {@code replacements} in turn, from one forward pass to the hook: sums over the
     * windows, as {@link SplicedLosses} describes. Logits exist for a bounded number of tokens at
     * a time, whatever the batch.
     */
    public SplicedLosses losses(NDArray tokens, HookPoint hook, List<UnaryOperator<NDArray>> replacements) {
        try (Pass pass = run(tokens, List.of(hook)); NDScope scope = new NDScope()) {
            NDArray activation = pass.activations.get(0);
            List<NDArray> outputs = new ArrayList<>();
            outputs.add(resume(pass, hook, activation));
            for (UnaryOperator<NDArray> replacement : replacements) {
                outputs.add(resume(pass, hook, replacement.apply(activation)));
            }
            long chunk = Math.max(1, LOGITS_CHUNK_ELEMENTS / config.vocabSize());
            double[] sums = program.call("losses").tensor(pass.tokens).tensors(outputs).tensor(finalNorm).tensor(lmHead)
                    .real(config.rmsNormEps()).integer(chunk).returningTensor(manager).toDoubleArray();
            Shape shape = tokens.getShape();
            return new SplicedLosses(sums, shape.get(0) * (shape.get(1) - 1), shape.get(0) * shape.get(1));
        }
    }

    /**
     * Sums over the windows of a {@link #losses} call: {@code crossEntropy[0]} is the clean run's
     * next-token cross-entropy, {@code crossEntropy[i]} and {@code kl[i]} those with replacement
     * i-1 (kl[0] is 0). Cross-entropy counts {@code predictedTokens} (every position but each
     * window's last), KL {@code tokens}.
     */
    public record SplicedLosses(double[] crossEntropy, double[] kl, long predictedTokens, long tokens) {
        SplicedLosses(double[] sums, long predictedTokens, long tokens) {
            this(crossEntropies(sums), kls(sums), predictedTokens, tokens);
        }

        private static double[] crossEntropies(double[] sums) {
            double[] out = new double[(sums.length + 1) / 2];
            out[0] = sums[0];
            for (int i = 1; i < out.length; i++) {
                out[i] = sums[2 * i - 1];
            }
            return out;
        }

        private static double[] kls(double[] sums) {
            double[] out = new double[(sums.length + 1) / 2];
            for (int i = 1; i < out.length; i++) {
                out[i] = sums[2 * i];
            }
            return out;
        }
    }

    /** Frees the decoder layers after {@code layer}, lm_head and the final norm; they load again when next needed. */
    public synchronized void releaseLayersAfter(int layer) {
        for (int l = layer + 1; l < layers.size(); l++) {
            if (layers.get(l) != null) {
                layers.get(l).forEach(NDArray::close);
                layers.set(l, null);
            }
        }
        if (finalNorm != null) {
            finalNorm.close();
            if (lmHead != embedding) {
                lmHead.close();
            }
            finalNorm = null;
            lmHead = null;
        }
    }

    /**
     * One forward pass to some hooks, on the model's device: the tokens, the activations (in the
     * order asked), the residual stream to resume from. Closing frees what was not taken.
     */
    private static final class Pass implements AutoCloseable {
        final NDArray tokens;
        final List<NDArray> activations;
        final NDArray residual;
        private boolean taken;

        Pass(NDArray tokens, List<NDArray> activations, NDArray residual) {
            this.tokens = tokens;
            this.activations = activations;
            this.residual = residual;
        }

        /** The activations, handed to the caller in {@code callerTokens}' manager and device. */
        List<NDArray> take(NDArray callerTokens) {
            taken = true;
            List<NDArray> out = new ArrayList<>();
            for (NDArray a : activations) {
                out.add(handOver(a, callerTokens));
            }
            return out;
        }

        @Override
        public void close() {
            if (!taken) {
                activations.forEach(NDArray::close);
            }
            residual.close();
            tokens.close();
        }
    }

    private Pass run(NDArray tokens, List<HookPoint> hooks) {
        if (hooks.isEmpty()) {
            throw new IllegalArgumentException("no hook to run to");
        }
        checkTokens(tokens);
        List<Long> codes = new ArrayList<>();
        for (HookPoint hook : hooks) {
            hook.checkAgainst(config, name);
            codes.add(code(hook));
        }
        List<Long> ascending = codes.stream().distinct().sorted(Comparator.naturalOrder()).toList();
        List<NDArray> weightsToDeepest = layerWeights((int) (ascending.get(ascending.size() - 1) / HookPoint.Site.values().length));
        NDArray embeddingWeight = embedding();
        NDArray onDevice = tokens.toDevice(manager.getDevice(), true);
        onDevice.attach(manager);
        List<NDArray> results = program.call("hooks").tensor(onDevice).tensor(embeddingWeight).tensors(weightsToDeepest)
                .integers(dims()).real(config.rmsNormEps()).real(config.ropeTheta())
                .integers(ascending.stream().mapToLong(Long::longValue).toArray())
                .returningTensors(manager);
        for (NDArray r : results) {
            NDScope.unregister(r);
        }
        NDArray finite = results.get(results.size() - 1);
        NDArray residual = results.get(results.size() - 2);
        boolean[] layerFinite = finite.toBooleanArray();
        finite.close();
        List<NDArray> byCode = results.subList(0, ascending.size());
        for (int layer = 0; layer < layerFinite.length; layer++) {
            if (!layerFinite[layer]) {
                results.forEach(NDArray::close);
                onDevice.close();
                throw new NonFiniteActivationException(layer, hooks, precision);
            }
        }
        List<NDArray> activations = new ArrayList<>();
        for (Long code : codes) {
            NDArray activation = byCode.get(ascending.indexOf(code));
            // A hook asked for twice gets its own copy, so that each result can be closed alone.
            boolean taken = activations.stream().anyMatch(a -> a == activation);
            activations.add(taken ? withoutScope(activation.duplicate()) : activation);
        }
        return new Pass(onDevice, activations, residual);
    }

    /** The last layer's output with the activation at {@code hook} replaced by {@code replacement} [B*T, width]. */
    private NDArray resume(Pass pass, HookPoint hook, NDArray replacement) {
        List<NDArray> all = layerWeights(config.numLayers() - 1);
        loadHead();
        return program.call("resume").tensor(pass.residual).tensor(replacement.toDevice(manager.getDevice(), false))
                .integer(code(hook)).tensors(all).integers(dims()).real(config.rmsNormEps()).real(config.ropeTheta())
                .returningTensor(manager);
    }

    /**
     * Hands {@code result}, which belongs to no scope, to the caller as if its own op had made it:
     * in {@code tokens}' manager, on its device, in the caller's scope if one is open.
     */
    private static NDArray handOver(NDArray result, NDArray tokens) {
        NDArray moved = result.toDevice(tokens.getDevice(), false);
        if (moved != result) {
            result.close();
        }
        NDScope.unregister(moved);
        moved.attach(tokens.getManager());
        NDScope.register(moved);
        return moved;
    }

    private static NDArray withoutScope(NDArray array) {
        NDScope.unregister(array);
        return array;
    }

    /** The program's number for a hook point: 6 * layer + the site's place in the layer. */
    static long code(HookPoint hook) {
        return (long) HookPoint.Site.values().length * hook.layer() + hook.site().ordinal();
    }

    private long[] dims() {
        return new long[]{config.numHeads(), config.numKvHeads(), config.headDim()};
    }

    private void checkTokens(NDArray tokens) {
        Shape shape = tokens.getShape();
        if (shape.dimension() != 2 || shape.get(0) == 0 || shape.get(1) == 0) {
            throw new IllegalArgumentException("tokens must be windows [batch, length], got shape " + shape);
        }
        if (tokens.getDataType() != DataType.INT64) {
            throw new IllegalArgumentException("tokens must be INT64 ids, got " + tokens.getDataType());
        }
        try (NDScope scope = new NDScope()) {
            long min = tokens.min().getLong();
            long max = tokens.max().getLong();
            if (min < 0 || max >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + (min < 0 ? min : max) + " is outside the vocabulary of "
                        + name + " (vocab_size " + config.vocabSize() + ")");
            }
        }
    }

    /** The weights of layers 0..{@code last}, eight per layer in the program's order, loading those not yet in memory. */
    private synchronized List<NDArray> layerWeights(int last) {
        List<NDArray> all = new ArrayList<>();
        for (int l = 0; l <= last; l++) {
            if (layers.get(l) == null) {
                layers.set(l, loadLayer(l));
            }
            all.addAll(layers.get(l));
        }
        return all;
    }

    private List<NDArray> loadLayer(int l) {
        return List.of(
                weight(Qwen3Weights.layerKey(l, "input_layernorm")),
                weight(Qwen3Weights.layerKey(l, "self_attn.q_proj"), Qwen3Weights.layerKey(l, "self_attn.k_proj"),
                        Qwen3Weights.layerKey(l, "self_attn.v_proj")),
                weight(Qwen3Weights.layerKey(l, "self_attn.q_norm")),
                weight(Qwen3Weights.layerKey(l, "self_attn.k_norm")),
                weight(Qwen3Weights.layerKey(l, "self_attn.o_proj")),
                weight(Qwen3Weights.layerKey(l, "post_attention_layernorm")),
                weight(Qwen3Weights.layerKey(l, "mlp.gate_proj"), Qwen3Weights.layerKey(l, "mlp.up_proj")),
                weight(Qwen3Weights.layerKey(l, "mlp.down_proj")));
    }

    private synchronized NDArray embedding() {
        if (embedding == null) {
            embedding = weight(Qwen3Weights.EMBEDDING);
        }
        return embedding;
    }

    private synchronized void loadHead() {
        if (finalNorm == null) {
            finalNorm = weight(Qwen3Weights.FINAL_NORM);
            lmHead = config.tieWordEmbeddings() ? embedding() : weight(Qwen3Weights.LM_HEAD);
        }
    }

    /**
     * The weight {@code keys} names, on the device in the compute precision; several keys are
     * stacked along their output axis (q|k|v, gate|up), one matrix product instead of several.
     */
    private NDArray weight(String... keys) {
        try {
            NDArray array = weights.loadStacked(List.of(keys), manager, precision);
            NDScope.unregister(array);
            return array;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + String.join(", ", keys) + " from " + weights.dir(), e);
        }
    }

    @Override
    public void close() throws IOException {
        manager.close();
        program.close();
        weights.close();
    }
}
