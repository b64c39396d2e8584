package dev.saeforge.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A Hugging Face Qwen3 causal language model on DJL, computing what transformers computes
 * (reference/saelens-qwen3.md §6) in float32 (or float16 when asked), with TransformerLens hook
 * points (§7).
 *
 * <p>Layers load on first use: a forward pass to {@code blocks.L} reads layers 0..L only, and
 * lm_head and the final norm are read only when logits are asked for. Token windows are int64
 * [B, T]; every position attends causally within its own window, positions start at 0.
 * Results are placed in the tokens' manager (and the caller's {@link NDScope}, if one is open).
 * Forward passes may run on several threads at once: the weights are only read, and loading them
 * on first use is synchronized.
 */
public final class Qwen3Model implements AutoCloseable {
    private final String name;
    private final Qwen3Config config;
    private final Qwen3Weights weights;
    private final NDManager manager;
    private final DataType dtype;
    private final Rope rope;
    private final List<DecoderLayer> layers;
    private final Map<Integer, NDArray> masks = new HashMap<>();
    private NDArray embedding;
    private RmsNorm finalNorm;
    private Linear lmHead;

    private Qwen3Model(String name, Qwen3Config config, Qwen3Weights weights, NDManager manager, DataType dtype) {
        this.name = name;
        this.config = config;
        this.weights = weights;
        this.manager = manager;
        this.dtype = dtype;
        this.rope = new Rope(manager, config.headDim(), config.ropeTheta(), dtype);
        this.layers = new ArrayList<>(Collections.nCopies(config.numLayers(), null));
    }

    /**
     * Opens the checkpoint in {@code dir} (config.json and safetensors weights, checked up front)
     * to compute on {@code device} in {@code dtype}, FLOAT32 or FLOAT16.
     */
    public static Qwen3Model load(Path dir, Device device, DataType dtype) throws IOException {
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16) {
            throw new IllegalArgumentException("Qwen3 computes in FLOAT32 or FLOAT16, not " + dtype
                    + " (bfloat16 crashes DJL; bf16 weights are widened on load)");
        }
        Qwen3Config config = Qwen3Config.read(dir);
        Qwen3Weights weights = Qwen3Weights.open(dir, config);
        return new Qwen3Model(dir.toString(), config, weights, Torch.engine().newBaseManager(device), dtype);
    }

    public Qwen3Config config() {
        return config;
    }

    public DataType dtype() {
        return dtype;
    }

    public Device device() {
        return manager.getDevice();
    }

    /** How many decoder layers are in memory. */
    public synchronized int loadedLayers() {
        return (int) layers.stream().filter(l -> l != null).count();
    }

    /**
     * Runs the windows {@code tokens} (int64 [B, T]) up to {@code hook} and returns its
     * activations as float32 [B*T, width], row b*T + t for window b, position t. Layers after
     * the hook's are not computed (nor loaded).
     */
    public NDArray activations(NDArray tokens, HookPoint hook) {
        hook.checkAgainst(config, name);
        Tap tap = Tap.record(hook.site());
        return run(tokens, hook.layer(), hook.layer(), tap, false);
    }

    /** The logits, float32 [B, T, vocab_size], of the whole model. */
    public NDArray logits(NDArray tokens) {
        return run(tokens, config.numLayers() - 1, -1, Tap.NONE, true);
    }

    /**
     * The logits with the activation at {@code hook} replaced: {@code replacement} gets it as
     * float32 [B*T, width] (as {@link #activations} returns it) and returns the same shape, e.g.
     * an SAE's reconstruction or zeros for ablation.
     */
    public NDArray logits(NDArray tokens, HookPoint hook, UnaryOperator<NDArray> replacement) {
        hook.checkAgainst(config, name);
        return run(tokens, config.numLayers() - 1, hook.layer(), Tap.replace(hook.site(), replacement), true);
    }

    private NDArray run(NDArray tokens, int lastLayer, int tapLayer, Tap tap, boolean toLogits) {
        checkTokens(tokens);
        int length = (int) tokens.getShape().get(1);
        // Load outside the scope below: weights outlive every forward pass.
        for (int l = 0; l <= lastLayer; l++) {
            layer(l);
        }
        NDArray mask = causalMask(length);
        Rope.Tables tables = rope.tables(length);
        if (toLogits) {
            loadHead();
        }
        NDArray result;
        try (NDScope scope = new NDScope()) {
            NDArray h = embedding().get(tokens.toDevice(manager.getDevice(), false));
            for (int l = 0; l <= lastLayer; l++) {
                Tap layerTap = l == tapLayer ? tap : Tap.NONE;
                h = layers.get(l).forward(h, tables, mask, layerTap);
                if (layerTap.done()) {
                    break;
                }
            }
            result = toLogits
                    ? lmHead.forward(finalNorm.forward(h)).toType(DataType.FLOAT32, false)
                    : tap.recorded();
            result = result.toDevice(tokens.getDevice(), false);
            NDScope.unregister(result);
        }
        // Hand the result to the caller as if its own op had made it.
        result.attach(tokens.getManager());
        NDScope.register(result);
        return result;
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

    private synchronized DecoderLayer layer(int index) {
        DecoderLayer layer = layers.get(index);
        if (layer == null) {
            double eps = config.rmsNormEps();
            Attention attention = new Attention(
                    stacked(Qwen3Weights.layerKey(index, "self_attn.q_proj"), Qwen3Weights.layerKey(index, "self_attn.k_proj"),
                            Qwen3Weights.layerKey(index, "self_attn.v_proj")),
                    linear(Qwen3Weights.layerKey(index, "self_attn.o_proj")),
                    new RmsNorm(headNorms(index), eps),
                    config);
            Mlp mlp = new Mlp(
                    stacked(Qwen3Weights.layerKey(index, "mlp.gate_proj"), Qwen3Weights.layerKey(index, "mlp.up_proj")),
                    linear(Qwen3Weights.layerKey(index, "mlp.down_proj")));
            layer = new DecoderLayer(
                    new RmsNorm(tensor(Qwen3Weights.layerKey(index, "input_layernorm")), eps),
                    attention,
                    new RmsNorm(tensor(Qwen3Weights.layerKey(index, "post_attention_layernorm")), eps),
                    mlp);
            layers.set(index, layer);
        }
        return layer;
    }

    private synchronized NDArray embedding() {
        if (embedding == null) {
            embedding = tensor(Qwen3Weights.EMBEDDING);
        }
        return embedding;
    }

    private synchronized void loadHead() {
        if (lmHead == null) {
            finalNorm = new RmsNorm(tensor(Qwen3Weights.FINAL_NORM), config.rmsNormEps());
            lmHead = new Linear(config.tieWordEmbeddings() ? embedding() : tensor(Qwen3Weights.LM_HEAD));
        }
    }

    /** [T, T] additive causal mask: 0 where query t may see key s (s <= t), -inf after. */
    private synchronized NDArray causalMask(int length) {
        return masks.computeIfAbsent(length, t -> {
            float[] values = new float[t * t];
            for (int q = 0; q < t; q++) {
                Arrays.fill(values, q * t + q + 1, (q + 1) * t, Float.NEGATIVE_INFINITY);
            }
            try (NDScope scope = new NDScope()) {
                NDArray mask = manager.create(values, new Shape(t, t)).toType(dtype, false);
                NDScope.unregister(mask);
                return mask;
            }
        });
    }

    private Linear linear(String key) {
        return new Linear(tensor(key));
    }

    /** Projections stacked along their output axis: one matrix product instead of several. */
    private Linear stacked(String... keys) {
        NDList parts = new NDList();
        for (String key : keys) {
            parts.add(tensor(key));
        }
        try (NDScope scope = new NDScope()) {
            NDArray weight = NDArrays.concat(parts, 0);
            NDScope.unregister(weight);
            parts.close();
            return new Linear(weight);
        }
    }

    /** q_norm's weight (times 1/sqrt(hd)) for each query head, then k_norm's for each kv head: [heads + kv heads, hd]. */
    private NDArray headNorms(int layer) {
        NDArray q = tensor(Qwen3Weights.layerKey(layer, "self_attn.q_norm"));
        NDArray k = tensor(Qwen3Weights.layerKey(layer, "self_attn.k_norm"));
        try (NDScope scope = new NDScope()) {
            NDArray rows = q.mul((float) (1 / Math.sqrt(config.headDim()))).reshape(1, -1).repeat(0, config.numHeads())
                    .concat(k.reshape(1, -1).repeat(0, config.numKvHeads()), 0);
            NDScope.unregister(rows);
            q.close();
            k.close();
            return rows;
        }
    }

    private NDArray tensor(String key) {
        try {
            return weights.load(key, manager, dtype);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + key + " from " + weights.dir(), e);
        }
    }

    @Override
    public void close() throws IOException {
        manager.close();
        weights.close();
    }
}
