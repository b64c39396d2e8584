package dev.saeforge.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.AnyDtype;
import dev.saeforge.tensor.Precision;
import dev.saeforge.tensor.SafetensorsArrays;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The weights of a Qwen3 checkpoint directory: {@code model.safetensors}, or the shards named by
 * {@code model.safetensors.index.json}. Opening reads only the headers and checks every tensor
 * the config implies (name, shape, dtype) so a bad checkpoint fails before any compute; the data
 * is read tensor by tensor when {@link #load} asks for it and converted to the compute precision
 * on the device, a block of rows at a time.
 */
public final class Qwen3Weights implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String EMBEDDING = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Map<String, Safetensors.Reader> readerOf;
    private final List<Safetensors.Reader> readers;
    private ByteBuffer staging;

    private Qwen3Weights(Path dir, Map<String, Safetensors.Reader> readerOf, List<Safetensors.Reader> readers) {
        this.dir = dir;
        this.readerOf = readerOf;
        this.readers = readers;
    }

    /** The safetensors key of a decoder-layer tensor, e.g. {@code model.layers.3.mlp.up_proj.weight}. */
    public static String layerKey(int layer, String name) {
        return "model.layers." + layer + "." + name + ".weight";
    }

    /** Every tensor the config implies, with its shape and where its dimensions come from. */
    static Map<String, Expected> expectedTensors(Qwen3Config c) {
        Map<String, Expected> expected = new LinkedHashMap<>();
        String vh = "[vocab_size, hidden_size]";
        expected.put(EMBEDDING, new Expected(vh, c.vocabSize(), c.hiddenSize()));
        for (int i = 0; i < c.numLayers(); i++) {
            expected.put(layerKey(i, "input_layernorm"), new Expected("[hidden_size]", c.hiddenSize()));
            expected.put(layerKey(i, "self_attn.q_proj"), new Expected("[num_attention_heads*head_dim, hidden_size]", c.queryWidth(), c.hiddenSize()));
            expected.put(layerKey(i, "self_attn.k_proj"), new Expected("[num_key_value_heads*head_dim, hidden_size]", c.kvWidth(), c.hiddenSize()));
            expected.put(layerKey(i, "self_attn.v_proj"), new Expected("[num_key_value_heads*head_dim, hidden_size]", c.kvWidth(), c.hiddenSize()));
            expected.put(layerKey(i, "self_attn.o_proj"), new Expected("[hidden_size, num_attention_heads*head_dim]", c.hiddenSize(), c.queryWidth()));
            expected.put(layerKey(i, "self_attn.q_norm"), new Expected("[head_dim]", c.headDim()));
            expected.put(layerKey(i, "self_attn.k_norm"), new Expected("[head_dim]", c.headDim()));
            expected.put(layerKey(i, "post_attention_layernorm"), new Expected("[hidden_size]", c.hiddenSize()));
            expected.put(layerKey(i, "mlp.gate_proj"), new Expected("[intermediate_size, hidden_size]", c.intermediateSize(), c.hiddenSize()));
            expected.put(layerKey(i, "mlp.up_proj"), new Expected("[intermediate_size, hidden_size]", c.intermediateSize(), c.hiddenSize()));
            expected.put(layerKey(i, "mlp.down_proj"), new Expected("[hidden_size, intermediate_size]", c.hiddenSize(), c.intermediateSize()));
        }
        expected.put(FINAL_NORM, new Expected("[hidden_size]", c.hiddenSize()));
        if (!c.tieWordEmbeddings()) {
            expected.put(LM_HEAD, new Expected(vh + " (tie_word_embeddings is false)", c.vocabSize(), c.hiddenSize()));
        }
        return expected;
    }

    /** A tensor's shape as config.json implies it; {@code formula} says from which keys. */
    record Expected(String formula, long... shape) {
    }

    /** Opens the checkpoint in {@code dir} and checks it against {@code config}. */
    public static Qwen3Weights open(Path dir, Qwen3Config config) throws IOException {
        Map<String, Path> fileOf = locateTensors(dir);
        Map<Path, Safetensors.Reader> byFile = new LinkedHashMap<>();
        try {
            Map<String, Safetensors.Reader> readerOf = new LinkedHashMap<>();
            for (Map.Entry<String, Path> entry : fileOf.entrySet()) {
                Safetensors.Reader reader = byFile.get(entry.getValue());
                if (reader == null) {
                    reader = Safetensors.read(entry.getValue());
                    byFile.put(entry.getValue(), reader);
                }
                readerOf.put(entry.getKey(), reader);
            }
            Qwen3Weights weights = new Qwen3Weights(dir, readerOf, new ArrayList<>(byFile.values()));
            weights.check(config);
            return weights;
        } catch (IOException | RuntimeException e) {
            for (Safetensors.Reader reader : byFile.values()) {
                reader.close();
            }
            throw e;
        }
    }

    /** Which file holds each tensor: from the index of a sharded checkpoint, or the one file. */
    private static Map<String, Path> locateTensors(Path dir) throws IOException {
        Path index = dir.resolve(INDEX_FILE);
        Path single = dir.resolve(SINGLE_FILE);
        Map<String, Path> fileOf = new TreeMap<>();
        if (Files.isRegularFile(index)) {
            JsonNode weightMap;
            try {
                weightMap = JSON.readTree(ModelText.read(index, ModelText.SMALL_FILE_BYTES)).path("weight_map");
            } catch (JsonProcessingException e) {
                throw new InvalidModelException(index + " is not JSON: " + e.getOriginalMessage());
            }
            if (!weightMap.isObject() || weightMap.isEmpty()) {
                throw new InvalidModelException(index + " has no \"weight_map\" object mapping tensor names to shard files");
            }
            Map<String, List<String>> tensorsOfShard = new TreeMap<>();
            weightMap.fields().forEachRemaining(e -> tensorsOfShard.computeIfAbsent(e.getValue().asText(), k -> new ArrayList<>()).add(e.getKey()));
            for (Map.Entry<String, List<String>> shard : tensorsOfShard.entrySet()) {
                Path file = dir.resolve(shard.getKey()).normalize();
                if (!file.startsWith(dir.normalize()) || !Files.isRegularFile(file)) {
                    throw new InvalidModelException(index + " maps " + shard.getValue().size() + " tensors (e.g. "
                            + shard.getValue().get(0) + ") to shard " + shard.getKey() + ", which is missing from " + dir);
                }
                shard.getValue().forEach(tensor -> fileOf.put(tensor, file));
            }
            return fileOf;
        }
        if (Files.isRegularFile(single)) {
            try (Safetensors.Reader reader = Safetensors.read(single)) {
                reader.tensors().keySet().forEach(tensor -> fileOf.put(tensor, single));
            }
            return fileOf;
        }
        List<String> present;
        try (Stream<Path> files = Files.list(dir)) {
            present = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        throw new InvalidModelException(dir + " has neither " + SINGLE_FILE + " nor " + INDEX_FILE
                + " (only safetensors checkpoints are read); it holds " + present);
    }

    /** Every tensor the config implies must be there, with that shape and a float dtype. */
    private void check(Qwen3Config config) {
        for (Map.Entry<String, Expected> entry : expectedTensors(config).entrySet()) {
            String name = entry.getKey();
            Expected expected = entry.getValue();
            Safetensors.Reader reader = readerOf.get(name);
            if (reader == null) {
                throw new InvalidModelException(dir + ": no tensor " + name + " in " + sourceFiles()
                        + "; config.json implies it with shape " + Arrays.toString(expected.shape()) + " " + expected.formula());
            }
            Safetensors.Tensor tensor = reader.tensors().get(name);
            if (tensor == null) {
                throw new InvalidModelException(reader.file() + ": no tensor " + name + ", though " + INDEX_FILE + " maps it to this shard");
            }
            if (!Arrays.equals(tensor.shape(), expected.shape())) {
                throw new InvalidModelException(reader.file() + ": tensor " + name + " has shape " + Arrays.toString(tensor.shape())
                        + "; config.json implies " + Arrays.toString(expected.shape()) + " " + expected.formula());
            }
            if (tensor.dtype() == Safetensors.Dtype.I64) {
                throw new InvalidModelException(reader.file() + ": tensor " + name + " is I64; expected F32, F16 or BF16");
            }
        }
    }

    private String sourceFiles() {
        return readers.size() == 1 ? readers.get(0).file().getFileName().toString()
                : "the " + readers.size() + " shards of " + INDEX_FILE;
    }

    public Path dir() {
        return dir;
    }

    /**
     * Reads tensor {@code name} into a new array of {@code manager}, on its device, in
     * {@code precision}. bfloat16 weights stay bfloat16 when that is the precision: nothing of
     * the checkpoint ever exists in float32 but the block being copied.
     */
    public NDArray load(String name, NDManager manager, Precision precision) throws IOException {
        NDArray array = loadStacked(List.of(name), manager, precision);
        array.setName(name);
        return array;
    }

    /**
     * Reads the tensors {@code names} into one new array, stacked along their first axis in that
     * order (their other dimensions must match): q, k and v projections as one matrix, for one
     * product instead of three. Each is copied straight into its rows, as {@link #load} copies one.
     */
    public NDArray loadStacked(List<String> names, NDManager manager, Precision precision) throws IOException {
        long[] shape = tensor(names.get(0)).shape().clone();
        for (String name : names.subList(1, names.size())) {
            shape[0] += tensor(name).shape()[0];
        }
        NDArray target = AnyDtype.empty(shape, precision, manager.getDevice(), manager);
        try {
            long row = 0;
            for (String name : names) {
                copyInto(name, target, row);
                row += tensor(name).shape()[0];
            }
            return target;
        } catch (IOException | RuntimeException e) {
            target.close();
            throw e;
        }
    }

    /**
     * Copies tensor {@code name} into the rows of {@code target} from {@code firstRow} on (its
     * other dimensions must match), converting to the target's dtype on the target's device,
     * a block at a time through a reused staging buffer: a copy costs a fixed 32 MiB beside the
     * target, whatever the tensor's size.
     */
    private synchronized void copyInto(String name, NDArray target, long firstRow) throws IOException {
        long[] shape = tensor(name).shape();
        long rowElements = 1;
        for (int d = 1; d < shape.length; d++) {
            rowElements *= shape[d];
        }
        if (staging == null) {
            staging = ByteBuffer.allocateDirect(SafetensorsArrays.BLOCK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        }
        SafetensorsArrays.copyInto(readerOf.get(name), name, target, firstRow * rowElements, staging);
    }

    private Safetensors.Tensor tensor(String name) throws IOException {
        Safetensors.Reader reader = readerOf.get(name);
        if (reader == null) {
            throw new InvalidModelException(dir + ": no tensor " + name + " in " + sourceFiles());
        }
        return reader.tensor(name);
    }

    @Override
    public synchronized void close() throws IOException {
        IOException failure = null;
        for (Safetensors.Reader reader : readers) {
            try {
                reader.close();
            } catch (IOException e) {
                failure = e;
            }
        }
        staging = null;
        if (failure != null) {
            throw failure;
        }
    }
}
