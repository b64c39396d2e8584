package dev.saeforge.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian, row-major data.
 *
 * <p>Reading maps each tensor's bytes on demand, so a multi-gigabyte shard costs only the pages
 * of the tensors actually used. A single tensor must be under 2 GiB (a Java buffer's limit;
 * the largest Qwen3-8B tensor, the embedding in bf16, is 1.2 GiB).
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER_BYTES = 100L << 20;

    private Safetensors() {
    }

    /** The element types SAE Forge reads and writes. */
    public enum Dtype {
        F32(4), F16(2), BF16(2), I64(8);

        public final int bytes;

        Dtype(int bytes) {
            this.bytes = bytes;
        }
    }

    /** One tensor's entry in the header; {@code offset} is relative to the start of the data. */
    public record Tensor(String name, Dtype dtype, long[] shape, long offset, long length) {
        public long elements() {
            return Arrays.stream(shape).reduce(1, Math::multiplyExact);
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape);
        }
    }

    public static Reader read(Path file) throws IOException {
        return new Reader(file);
    }

    public static Writer writer() {
        return new Writer();
    }

    /** A file's header: its tensors in file order and its {@code __metadata__} strings. */
    public record Header(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    /**
     * Reads only the header of a safetensors file of {@code fileSize} bytes from a stream at its
     * start (e.g. an object in a store, without downloading the data); {@code source} names it in errors.
     */
    public static Header readHeader(InputStream in, long fileSize, String source) throws IOException {
        byte[] lengthBytes = in.readNBytes(8);
        if (lengthBytes.length < 8) {
            throw corrupt(source, "ends after " + lengthBytes.length + " bytes, too short for a safetensors header");
        }
        long headerLength = checkHeaderLength(source, ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN), fileSize);
        byte[] json = in.readNBytes((int) headerLength);
        if (json.length < headerLength) {
            throw corrupt(source, "ends inside its " + headerLength + "-byte header");
        }
        return parseHeader(source, json, fileSize - 8 - headerLength);
    }

    private static long checkHeaderLength(String source, ByteBuffer lengthBytes, long size) throws IOException {
        if (size < 8) {
            throw corrupt(source, "is " + size + " bytes long, too short for a safetensors header");
        }
        long headerLength = lengthBytes.getLong(0);
        if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
            throw corrupt(source, "declares a header of " + headerLength + " bytes in a file of " + size + " bytes");
        }
        return headerLength;
    }

    private static Header parseHeader(String source, byte[] json, long dataSize) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(new String(json, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw corrupt(source, "has a header that is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw corrupt(source, "has a header that is not a JSON object");
        }
        Map<String, Tensor> byName = new LinkedHashMap<>();
        Map<String, String> meta = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (entry.getKey().equals("__metadata__")) {
                entry.getValue().fields().forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
            } else {
                byName.put(entry.getKey(), parseEntry(source, entry.getKey(), entry.getValue(), dataSize));
            }
        }
        return new Header(Collections.unmodifiableMap(byName), Collections.unmodifiableMap(meta));
    }

    private static Tensor parseEntry(String source, String name, JsonNode entry, long dataSize) throws IOException {
        Dtype dtype;
        try {
            dtype = Dtype.valueOf(entry.path("dtype").asText());
        } catch (IllegalArgumentException e) {
            throw corrupt(source, "tensor " + name + " has dtype \"" + entry.path("dtype").asText() + "\"; expected one of "
                    + Arrays.toString(Dtype.values()));
        }
        JsonNode shapeNode = entry.path("shape");
        JsonNode offsets = entry.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw corrupt(source, "tensor " + name + " lacks a shape or data_offsets [begin, end]");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong(-1);
            if (shape[i] < 0) {
                throw corrupt(source, "tensor " + name + " has a negative or non-numeric dimension in " + shapeNode);
            }
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        Tensor tensor = new Tensor(name, dtype, shape, begin, end - begin);
        if (begin < 0 || end < begin || end > dataSize) {
            throw corrupt(source, "tensor " + name + " claims bytes [" + begin + ", " + end + ") of a data section of " + dataSize + " bytes");
        }
        if (tensor.elements() * dtype.bytes != tensor.length()) {
            throw corrupt(source, "tensor " + tensor + " needs " + tensor.elements() * dtype.bytes + " bytes but has " + tensor.length());
        }
        return tensor;
    }

    private static IOException corrupt(String source, String what) {
        return new IOException(source + " is not a valid safetensors file: it " + what);
    }

    /** An open safetensors file. Close it to release the file; mapped buffers stay valid. */
    public static final class Reader implements AutoCloseable {
        private final Path file;
        private final FileChannel channel;
        private final long dataStart;
        private final Map<String, Tensor> tensors;
        private final Map<String, String> metadata;

        private Reader(Path file) throws IOException {
            this.file = file;
            this.channel = FileChannel.open(file, StandardOpenOption.READ);
            try {
                long size = channel.size();
                ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                channel.read(lengthBytes, 0);
                long headerLength = checkHeaderLength(file.toString(), lengthBytes, size);
                ByteBuffer header = ByteBuffer.allocate((int) headerLength);
                channel.read(header, 8);
                this.dataStart = 8 + headerLength;
                Header parsed = parseHeader(file.toString(), header.array(), size - dataStart);
                this.tensors = parsed.tensors();
                this.metadata = parsed.metadata();
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        }

        public Path file() {
            return file;
        }

        /** The tensors in header order. */
        public Map<String, Tensor> tensors() {
            return tensors;
        }

        /** The header's {@code __metadata__} strings. */
        public Map<String, String> metadata() {
            return metadata;
        }

        public Tensor tensor(String name) {
            Tensor tensor = tensors.get(name);
            if (tensor == null) {
                throw new IllegalArgumentException(file + ": no tensor named " + name + "; it holds " + tensors.keySet());
            }
            return tensor;
        }

        /** The tensor's raw bytes, little-endian, mapped from the file (read-only). */
        public ByteBuffer bytes(String name) throws IOException {
            Tensor tensor = tensor(name);
            if (tensor.length() > Integer.MAX_VALUE) {
                throw new IOException(file + ": tensor " + tensor + " is " + tensor.length() + " bytes, over the 2 GiB a buffer holds");
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + tensor.offset(), tensor.length())
                    .order(ByteOrder.LITTLE_ENDIAN);
        }

        /** The tensor as float32 values; F16 and BF16 are widened exactly. */
        public float[] floats(String name) throws IOException {
            Tensor tensor = tensor(name);
            ByteBuffer bytes = bytes(name);
            float[] out = new float[Math.toIntExact(tensor.elements())];
            switch (tensor.dtype()) {
                case F32 -> bytes.asFloatBuffer().get(out);
                case F16 -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Float.float16ToFloat(bytes.getShort(2 * i));
                    }
                }
                case BF16 -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Float.intBitsToFloat((bytes.getShort(2 * i) & 0xffff) << 16);
                    }
                }
                case I64 -> throw new IllegalArgumentException(file + ": tensor " + tensor + " holds integers, not floats");
            }
            return out;
        }

        /** The tensor as int64 values. */
        public long[] longs(String name) throws IOException {
            Tensor tensor = tensor(name);
            if (tensor.dtype() != Dtype.I64) {
                throw new IllegalArgumentException(file + ": tensor " + tensor + " is not I64");
            }
            long[] out = new long[Math.toIntExact(tensor.elements())];
            bytes(name).asLongBuffer().get(out);
            return out;
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** Collects tensors, then writes them in the order added. */
    public static final class Writer {
        private record Entry(String name, Dtype dtype, long[] shape, ByteBuffer data) {
        }

        private final List<Entry> entries = new ArrayList<>();
        private final Map<String, String> metadata = new TreeMap<>();

        private Writer() {
        }

        /** Adds raw little-endian bytes of {@code dtype}; the buffer is read from its position. */
        public Writer add(String name, Dtype dtype, long[] shape, ByteBuffer data) {
            long elements = Arrays.stream(shape).reduce(1, Math::multiplyExact);
            if (elements * dtype.bytes != data.remaining()) {
                throw new IllegalArgumentException("tensor " + name + " " + dtype + Arrays.toString(shape) + " needs "
                        + elements * dtype.bytes + " bytes, got " + data.remaining());
            }
            if (name.equals("__metadata__") || entries.stream().anyMatch(e -> e.name().equals(name))) {
                throw new IllegalArgumentException("tensor name " + name + " is reserved or already used");
            }
            entries.add(new Entry(name, dtype, shape.clone(), data.slice().order(ByteOrder.LITTLE_ENDIAN)));
            return this;
        }

        /** Adds float32 values, stored as {@code dtype} (F32, F16 or BF16, rounding to nearest even). */
        public Writer addFloats(String name, Dtype dtype, long[] shape, float[] values) {
            ByteBuffer data = ByteBuffer.allocate(values.length * dtype.bytes).order(ByteOrder.LITTLE_ENDIAN);
            switch (dtype) {
                case F32 -> data.asFloatBuffer().put(values);
                case F16 -> {
                    for (float v : values) {
                        data.putShort(Float.floatToFloat16(v));
                    }
                }
                case BF16 -> {
                    for (float v : values) {
                        data.putShort(toBfloat16(v));
                    }
                }
                case I64 -> throw new IllegalArgumentException("tensor " + name + ": floats cannot be stored as I64");
            }
            return add(name, dtype, shape, data.rewind());
        }

        public Writer addLongs(String name, long[] shape, long[] values) {
            ByteBuffer data = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            data.asLongBuffer().put(values);
            return add(name, Dtype.I64, shape, data);
        }

        public Writer metadata(String key, String value) {
            metadata.put(key, value);
            return this;
        }

        /** Writes the file (replacing it); callers that need atomicity write to a temporary path first. */
        public void write(Path file) throws IOException {
            try (OutputStream out = Files.newOutputStream(file)) {
                write(out);
            }
        }

        public void write(OutputStream out) throws IOException {
            ObjectNode header = JSON.createObjectNode();
            if (!metadata.isEmpty()) {
                ObjectNode meta = header.putObject("__metadata__");
                metadata.forEach(meta::put);
            }
            long offset = 0;
            for (Entry entry : entries) {
                ObjectNode tensor = header.putObject(entry.name());
                tensor.put("dtype", entry.dtype().name());
                Arrays.stream(entry.shape()).forEach(tensor.putArray("shape")::add);
                long length = entry.data().remaining();
                tensor.putArray("data_offsets").add(offset).add(offset + length);
                offset += length;
            }
            byte[] json = JSON.writeValueAsBytes(header);
            // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
            int padded = (json.length + 7) / 8 * 8;
            byte[] headerBytes = Arrays.copyOf(json, padded);
            Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(length.array());
            out.write(headerBytes);
            byte[] chunk = new byte[1 << 16];
            for (Entry entry : entries) {
                ByteBuffer data = entry.data().duplicate();
                while (data.hasRemaining()) {
                    int n = Math.min(chunk.length, data.remaining());
                    data.get(chunk, 0, n);
                    out.write(chunk, 0, n);
                }
            }
        }
    }

    /** float32 to bfloat16 bits, rounding to nearest even; NaN stays NaN. */
    static short toBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
