package dev.saeforge.store;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian, row-major data.
 *
 * <p>Tensors of any size stream in and out in bounded blocks: the writer asks each tensor's
 * {@link Data} for its bytes in order, and the reader reads any range of a tensor's elements
 * through the file channel, so neither needs a Java buffer (at most 2 GiB) holding a whole tensor.
 * A Qwen3-8B SAE of 131,072 latents has a W_enc of exactly 2 GiB.
 *
 * <p>Every file read is untrusted: its header is checked in full before any tensor is read (sizes
 * that overflow, byte ranges outside the data, overlapping or gapped tensors), and a bad one is
 * refused naming the file, the tensor and what was expected.
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final long MAX_HEADER_BYTES = 100L << 20;
    /** Elements converted at a time where a tensor is encoded or widened in Java. */
    private static final int BLOCK_ELEMENTS = 1 << 20;

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
            return Safetensors.elements(shape);
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape);
        }
    }

    /** Values in a tensor of {@code shape}; ArithmeticException when that overflows a long. */
    public static long elements(long[] shape) {
        return Arrays.stream(shape).reduce(1, Math::multiplyExact);
    }

    /**
     * The bytes a tensor of {@code dtype} and {@code shape} takes in a file, or -1 when a file
     * cannot hold it (its size does not fit a long, the limit of data_offsets here).
     */
    public static long byteSize(Dtype dtype, long[] shape) {
        if (Arrays.stream(shape).anyMatch(d -> d < 0)) {
            return -1;
        }
        try {
            return Math.multiplyExact(elements(shape), dtype.bytes);
        } catch (ArithmeticException e) {
            return -1;
        }
    }

    /**
     * A tensor's bytes for the writer, produced on demand: {@link #writeTo} writes exactly
     * {@link #bytes} bytes, little-endian and row-major, in pieces of any size.
     */
    public interface Data {
        long bytes();

        void writeTo(WritableByteChannel out) throws IOException;
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
            throw corrupt(source, "it ends after " + lengthBytes.length + " bytes, too short for a safetensors header");
        }
        long headerLength = checkHeaderLength(source, ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN), fileSize);
        byte[] json = in.readNBytes((int) headerLength);
        if (json.length < headerLength) {
            throw corrupt(source, "it ends inside its " + headerLength + "-byte header");
        }
        return parseHeader(source, json, fileSize - 8 - headerLength);
    }

    private static long checkHeaderLength(String source, ByteBuffer lengthBytes, long size) throws IOException {
        if (size < 8) {
            throw corrupt(source, "it is " + size + " bytes long, too short for a safetensors header");
        }
        long headerLength = lengthBytes.getLong(0);
        if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
            throw corrupt(source, "it declares a header of " + headerLength + " bytes in a file of " + size
                    + " bytes; expected at least 1 byte, at most " + Math.min(MAX_HEADER_BYTES, size - 8));
        }
        return headerLength;
    }

    private static Header parseHeader(String source, byte[] json, long dataSize) throws IOException {
        JsonNode root;
        try (JsonParser parser = JSON.createParser(json)) {
            root = JSON.readTree(parser);
            if (root != null && parser.nextToken() != null) {
                throw corrupt(source, "it has a header that is not one JSON object: more follows it from byte "
                        + (8 + parser.currentTokenLocation().getByteOffset()));
            }
        } catch (JsonProcessingException e) {
            throw corrupt(source, "it has a header that is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw corrupt(source, "it has a header that is not a JSON object");
        }
        Map<String, Tensor> byName = new LinkedHashMap<>();
        Map<String, String> meta = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (entry.getKey().equals("__metadata__")) {
                parseMetadata(source, entry.getValue(), meta);
            } else {
                byName.put(entry.getKey(), parseEntry(source, entry.getKey(), entry.getValue(), dataSize));
            }
        }
        checkLayout(source, byName.values(), dataSize);
        return new Header(Collections.unmodifiableMap(byName), Collections.unmodifiableMap(meta));
    }

    private static void parseMetadata(String source, JsonNode node, Map<String, String> meta) throws IOException {
        if (!node.isObject()) {
            throw corrupt(source, "its __metadata__ is " + node.getNodeType().name().toLowerCase(Locale.ROOT)
                    + "; expected an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            if (!m.getValue().isTextual()) {
                throw corrupt(source, "its __metadata__ key \"" + m.getKey() + "\" is " + m.getValue() + "; expected a string");
            }
            meta.put(m.getKey(), m.getValue().asText());
        }
    }

    private static Tensor parseEntry(String source, String name, JsonNode entry, long dataSize) throws IOException {
        if (!entry.isObject()) {
            throw corrupt(source, "tensor " + name + " is " + entry + "; expected {\"dtype\", \"shape\", \"data_offsets\"}");
        }
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
            shape[i] = count(shapeNode.get(i));
            if (shape[i] < 0) {
                throw corrupt(source, "tensor " + name + " has shape " + shapeNode + "; expected whole numbers from 0 to " + Long.MAX_VALUE);
            }
        }
        long begin = count(offsets.get(0));
        long end = count(offsets.get(1));
        if (begin < 0 || end < 0) {
            throw corrupt(source, "tensor " + name + " has data_offsets " + offsets + "; expected whole numbers from 0 to " + Long.MAX_VALUE);
        }
        if (end < begin || end > dataSize) {
            throw corrupt(source, "tensor " + name + " claims bytes [" + begin + ", " + end + ") of a data section of " + dataSize + " bytes");
        }
        Tensor tensor = new Tensor(name, dtype, shape, begin, end - begin);
        long needs = byteSize(dtype, shape);
        if (needs < 0) {
            throw corrupt(source, "tensor " + tensor + " has more values than a 64-bit byte count holds; expected its "
                    + (end - begin) + " bytes of " + dtype + " values");
        }
        if (needs != tensor.length()) {
            throw corrupt(source, "tensor " + tensor + " needs " + needs + " bytes but has " + tensor.length());
        }
        return tensor;
    }

    /** A JSON whole number from 0 to Long.MAX_VALUE, or -1 for anything else (negative, fractional, too large, not a number). */
    private static long count(JsonNode node) {
        return node.isIntegralNumber() && node.canConvertToLong() && node.asLong() >= 0 ? node.asLong() : -1;
    }

    /** The tensors must tile the data section exactly, as the reference reader requires: no overlaps, gaps or trailing bytes. */
    private static void checkLayout(String source, Collection<Tensor> tensors, long dataSize) throws IOException {
        List<Tensor> inOrder = tensors.stream()
                .sorted(Comparator.comparingLong(Tensor::offset).thenComparingLong(Tensor::length)).toList();
        long expected = 0;
        Tensor previous = null;
        for (Tensor tensor : inOrder) {
            if (tensor.offset() < expected) {
                throw corrupt(source, "tensor " + tensor.name() + " at bytes [" + tensor.offset() + ", " + (tensor.offset() + tensor.length())
                        + ") overlaps tensor " + previous.name() + " at [" + previous.offset() + ", " + expected + ")");
            }
            if (tensor.offset() > expected) {
                throw corrupt(source, "bytes [" + expected + ", " + tensor.offset() + ") of its data belong to no tensor"
                        + (previous == null ? "" : " (after " + previous.name() + ")") + "; expected tensor " + tensor.name()
                        + " to start at " + expected);
            }
            expected = tensor.offset() + tensor.length();
            previous = tensor;
        }
        if (expected != dataSize) {
            throw corrupt(source, "its data section is " + dataSize + " bytes but its tensors end at byte " + expected
                    + "; expected no bytes after the last tensor");
        }
    }

    private static IOException corrupt(String source, String what) {
        return new IOException(source + " is not a valid safetensors file: " + what);
    }

    /** An open safetensors file. Close it to release the file. */
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
                if (size >= lengthBytes.capacity()) {
                    readFully(lengthBytes, 0);
                }
                long headerLength = checkHeaderLength(file.toString(), lengthBytes, size);
                ByteBuffer header = ByteBuffer.allocate((int) headerLength);
                readFully(header, 8);
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

        /**
         * Reads {@code count} elements of float tensor {@code name}, from element {@code first}
         * (row-major) on, as float32 into {@code out} (little-endian) from index 0; F16 and BF16
         * are widened exactly. A direct {@code out} is filled straight from the file.
         */
        public void readFloats(String name, long first, int count, ByteBuffer out) throws IOException {
            Tensor tensor = tensor(name);
            if (tensor.dtype() == Dtype.I64) {
                throw new IllegalArgumentException(file + ": tensor " + tensor + " holds integers, not floats");
            }
            if (first < 0 || count < 0 || first > tensor.elements() - count || (long) count * Float.BYTES > out.capacity()
                    || out.order() != ByteOrder.LITTLE_ENDIAN) {
                throw new IllegalArgumentException(file + ": cannot read elements [" + first + ", " + (first + count) + ") of tensor "
                        + tensor + " into a " + out.order() + " buffer of " + out.capacity() + " bytes");
            }
            int width = tensor.dtype().bytes;
            // 16-bit values land in the upper half of out and are widened upwards from index 0: the
            // float written for element i ends at 4i + 4, never past the half-width value of element i + 1.
            int rawStart = count * (Float.BYTES - width);
            readFully(out.duplicate().clear().position(rawStart).limit(count * Float.BYTES), dataStart + tensor.offset() + first * width);
            switch (tensor.dtype()) {
                case F32 -> {
                }
                case F16 -> {
                    for (int i = 0; i < count; i++) {
                        out.putFloat(4 * i, Float.float16ToFloat(out.getShort(rawStart + 2 * i)));
                    }
                }
                case BF16 -> {
                    for (int i = 0; i < count; i++) {
                        out.putFloat(4 * i, Float.intBitsToFloat((out.getShort(rawStart + 2 * i) & 0xffff) << 16));
                    }
                }
                case I64 -> throw new IllegalStateException("refused above");
            }
        }

        /** A whole (small) tensor as float32 values, read a block at a time. */
        public float[] floats(String name) throws IOException {
            Tensor tensor = tensor(name);
            float[] out = new float[arrayLength(tensor)];
            ByteBuffer block = ByteBuffer.allocate(Math.min(out.length, BLOCK_ELEMENTS) * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (int done = 0; done < out.length; done += BLOCK_ELEMENTS) {
                int count = Math.min(BLOCK_ELEMENTS, out.length - done);
                readFloats(name, done, count, block);
                block.asFloatBuffer().get(out, done, count);
            }
            return out;
        }

        /** A whole (small) tensor as int64 values. */
        public long[] longs(String name) throws IOException {
            Tensor tensor = tensor(name);
            if (tensor.dtype() != Dtype.I64) {
                throw new IllegalArgumentException(file + ": tensor " + tensor + " is not I64");
            }
            long[] out = new long[arrayLength(tensor)];
            ByteBuffer bytes = ByteBuffer.allocate(Math.multiplyExact(out.length, Long.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(bytes, dataStart + tensor.offset());
            bytes.flip().asLongBuffer().get(out);
            return out;
        }

        private int arrayLength(Tensor tensor) {
            if (tensor.elements() > Integer.MAX_VALUE / Long.BYTES) {
                throw new IllegalArgumentException(file + ": tensor " + tensor + " has " + tensor.elements()
                        + " values, too many for one Java array; read it in blocks with readFloats");
            }
            return (int) tensor.elements();
        }

        private void readFully(ByteBuffer into, long position) throws IOException {
            long at = position;
            while (into.hasRemaining()) {
                int n = channel.read(into, at);
                if (n < 0) {
                    throw new EOFException(file + " ends at byte " + at + ", inside the bytes its header describes; was it truncated while open?");
                }
                at += n;
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** Collects tensors, then writes them in the order added. */
    public static final class Writer {
        private record Entry(String name, Dtype dtype, long[] shape, Data data) {
        }

        private final List<Entry> entries = new ArrayList<>();
        private final Map<String, String> metadata = new TreeMap<>();

        private Writer() {
        }

        /** Adds a tensor whose bytes {@code data} produces when the file is written (it must stay readable until then). */
        public Writer add(String name, Dtype dtype, long[] shape, Data data) {
            long needs = byteSize(dtype, shape);
            if (needs < 0) {
                throw new IllegalArgumentException("tensor " + name + " " + dtype + Arrays.toString(shape)
                        + " cannot be written: its size in bytes does not fit a 64-bit count");
            }
            if (needs != data.bytes()) {
                throw new IllegalArgumentException("tensor " + name + " " + dtype + Arrays.toString(shape) + " needs "
                        + needs + " bytes, got " + data.bytes());
            }
            if (name.equals("__metadata__") || entries.stream().anyMatch(e -> e.name().equals(name))) {
                throw new IllegalArgumentException("tensor name " + name + " is reserved or already used");
            }
            entries.add(new Entry(name, dtype, shape.clone(), data));
            return this;
        }

        /** Adds raw little-endian bytes of {@code dtype}; the buffer is read from its position. */
        public Writer add(String name, Dtype dtype, long[] shape, ByteBuffer data) {
            ByteBuffer bytes = data.slice();
            return add(name, dtype, shape, new Data() {
                public long bytes() {
                    return bytes.remaining();
                }

                public void writeTo(WritableByteChannel out) throws IOException {
                    writeFully(out, bytes.duplicate());
                }
            });
        }

        /** Adds float32 values, stored as {@code dtype} (F32, F16 or BF16, rounding to nearest even). */
        public Writer addFloats(String name, Dtype dtype, long[] shape, float[] values) {
            if (dtype == Dtype.I64) {
                throw new IllegalArgumentException("tensor " + name + ": floats cannot be stored as I64");
            }
            return add(name, dtype, shape, new Encoded(values.length, dtype.bytes) {
                void encode(int from, ByteBuffer into) {
                    for (int i = from; into.hasRemaining(); i++) {
                        switch (dtype) {
                            case F32 -> into.putFloat(values[i]);
                            case F16 -> into.putShort(Float.floatToFloat16(values[i]));
                            default -> into.putShort(toBfloat16(values[i]));
                        }
                    }
                }
            });
        }

        public Writer addLongs(String name, long[] shape, long[] values) {
            return add(name, Dtype.I64, shape, new Encoded(values.length, Long.BYTES) {
                void encode(int from, ByteBuffer into) {
                    into.asLongBuffer().put(values, from, into.remaining() / Long.BYTES);
                    into.position(into.limit());
                }
            });
        }

        public Writer metadata(String key, String value) {
            metadata.put(key, value);
            return this;
        }

        /** Writes the file (replacing it); callers that need atomicity write to a temporary path first. */
        public void write(Path file) throws IOException {
            try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                write(out);
            }
        }

        public void write(OutputStream out) throws IOException {
            write(Channels.newChannel(out));
        }

        /** Writes the file to {@code out}, each tensor streamed from its {@link Data}; does not close {@code out}. */
        public void write(WritableByteChannel out) throws IOException {
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
                long end = Math.addExact(offset, entry.data().bytes());
                tensor.putArray("data_offsets").add(offset).add(end);
                offset = end;
            }
            byte[] json = JSON.writeValueAsBytes(header);
            // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
            int padded = (json.length + 7) / 8 * 8;
            ByteBuffer start = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(json);
            while (start.hasRemaining()) {
                start.put((byte) ' ');
            }
            writeFully(out, start.flip());
            for (Entry entry : entries) {
                CountingChannel counted = new CountingChannel(out);
                entry.data().writeTo(counted);
                if (counted.written != entry.data().bytes()) {
                    throw new IOException("tensor " + entry.name() + " produced " + counted.written + " bytes; its header says "
                            + entry.data().bytes());
                }
            }
        }
    }

    /** Writes all of {@code bytes}, however many calls the channel takes. */
    public static void writeFully(WritableByteChannel out, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
    }

    /** Java values encoded into little-endian bytes a block at a time, so a large array is never copied whole. */
    private abstract static class Encoded implements Data {
        private final int length;
        private final int width;

        Encoded(int length, int width) {
            this.length = length;
            this.width = width;
        }

        /** Fills {@code into} (little-endian, position 0) with the values from index {@code from} on. */
        abstract void encode(int from, ByteBuffer into);

        public long bytes() {
            return (long) length * width;
        }

        public void writeTo(WritableByteChannel out) throws IOException {
            ByteBuffer block = ByteBuffer.allocate(Math.min(length, BLOCK_ELEMENTS) * width).order(ByteOrder.LITTLE_ENDIAN);
            for (int from = 0; from < length; from += BLOCK_ELEMENTS) {
                block.clear().limit(Math.min(BLOCK_ELEMENTS, length - from) * width);
                encode(from, block);
                writeFully(out, block.flip());
            }
        }
    }

    /** Counts what a tensor's {@link Data} writes, so that a short or long one cannot shift the tensors after it unnoticed. */
    private static final class CountingChannel implements WritableByteChannel {
        private final WritableByteChannel out;
        long written;

        CountingChannel(WritableByteChannel out) {
            this.out = out;
        }

        public int write(ByteBuffer src) throws IOException {
            int n = out.write(src);
            written += n;
            return n;
        }

        public boolean isOpen() {
            return out.isOpen();
        }

        public void close() {
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
