package dev.saeforge.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void tensorsRoundTripInEveryDtype() throws IOException {
        Path file = dir.resolve("t.safetensors");
        float[] values = {1.5f, -2f, 3.140625f, 0f, 7f, 8f};
        Safetensors.writer()
                .addFloats("f32", Safetensors.Dtype.F32, new long[]{2, 3}, values)
                .addFloats("f16", Safetensors.Dtype.F16, new long[]{6}, values)
                .addFloats("bf16", Safetensors.Dtype.BF16, new long[]{3, 2}, values)
                .addLongs("ids", new long[]{3}, new long[]{151643, -1, 7})
                .metadata("format", "pt")
                .write(file);

        try (Safetensors.Reader reader = Safetensors.read(file)) {
            assertThat(reader.tensors().keySet()).containsExactly("f32", "f16", "bf16", "ids");
            assertThat(reader.tensor("bf16").shape()).containsExactly(3, 2);
            assertThat(reader.floats("f32")).containsExactly(values);
            assertThat(reader.floats("f16")).containsExactly(values);
            assertThat(reader.floats("bf16")).containsExactly(values);
            assertThat(reader.longs("ids")).containsExactly(151643, -1, 7);
            assertThat(reader.metadata()).containsEntry("format", "pt");
        }
    }

    @Test
    void theFileIsLaidOutAsTheFormatSpecifies() throws IOException {
        Path file = dir.resolve("t.safetensors");
        Safetensors.writer().addFloats("a", Safetensors.Dtype.F32, new long[]{2}, new float[]{1f, 2f})
                .addLongs("b", new long[]{1}, new long[]{5}).write(file);

        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = bytes.getLong(0);
        assertThat(headerLength % 8).as("data is 8-byte aligned").isZero();
        JsonNode header = new ObjectMapper().readTree(new String(bytes.array(), 8, (int) headerLength, StandardCharsets.UTF_8));
        assertThat(header.get("a").toString()).isEqualTo("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}");
        assertThat(header.get("b").toString()).isEqualTo("{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]}");
        int data = 8 + (int) headerLength;
        assertThat(bytes.getFloat(data)).isEqualTo(1f);
        assertThat(bytes.getFloat(data + 4)).isEqualTo(2f);
        assertThat(bytes.getLong(data + 8)).isEqualTo(5L);
        assertThat(bytes.capacity()).isEqualTo(data + 16);
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        assertThat(Float.intBitsToFloat(Safetensors.toBfloat16(1e-3f) << 16)).isEqualTo(9.9945068E-4f);
        // 1 + 2^-8 is halfway between two bf16 values; ties go to the even one (1.0).
        assertThat(Float.intBitsToFloat(Safetensors.toBfloat16(1f + 0x1p-8f) << 16)).isEqualTo(1f);
        assertThat(Float.intBitsToFloat(Safetensors.toBfloat16(1f + 0x1p-8f + 0x1p-16f) << 16)).isEqualTo(1f + 0x1p-7f);
        assertThat(Float.isNaN(Float.intBitsToFloat(Safetensors.toBfloat16(Float.NaN) << 16))).isTrue();
    }

    /** Elements between the non-zero samples of {@link #pattern}: one float32 per MiB. */
    private static final int SAMPLE_EVERY = 1 << 18;

    /** A generated tensor: element i is i / SAMPLE_EVERY + 1 where i is a multiple of SAMPLE_EVERY, else 0. */
    private static Safetensors.Data pattern(long elements) {
        return new Safetensors.Data() {
            public long bytes() {
                return elements * Float.BYTES;
            }

            public void writeTo(WritableByteChannel out) throws IOException {
                ByteBuffer block = ByteBuffer.allocate(SAMPLE_EVERY * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                for (long first = 0; first < elements; first += SAMPLE_EVERY) {
                    int count = (int) Math.min(SAMPLE_EVERY, elements - first);
                    block.clear().putFloat(0, first / SAMPLE_EVERY + 1).limit(count * Float.BYTES);
                    Safetensors.writeFully(out, block);
                }
            }
        };
    }

    @Test
    void aTensorOverTwoGibibytesStreamsOutAndReadsBackBlockByBlock() throws IOException {
        // Qwen3-8B's W_enc at 134,144 latents: 2.05 GiB, generated on the fly and written sparsely.
        long[] shape = {4096, 134_144};
        long elements = shape[0] * shape[1];
        Path file = dir.resolve("large.safetensors");
        try (SparseFile out = new SparseFile(file)) {
            Safetensors.writer().add("W_enc", Safetensors.Dtype.F32, shape, pattern(elements))
                    .addFloats("b_dec", Safetensors.Dtype.F32, new long[]{3}, new float[]{0.5f, -4f, 7f})
                    .metadata("format", "pt").write(out);
        }
        assertThat(elements * Float.BYTES).isGreaterThan(Integer.MAX_VALUE);

        try (Safetensors.Reader reader = Safetensors.read(file)) {
            assertThat(reader.tensor("W_enc").length()).isEqualTo(elements * Float.BYTES);
            assertThat(reader.tensor("b_dec").offset()).as("past the 2 GiB mark").isEqualTo(elements * Float.BYTES);
            assertThat(reader.floats("b_dec")).containsExactly(0.5f, -4f, 7f);
            int blockElements = 8 << 20;
            ByteBuffer block = ByteBuffer.allocateDirect(blockElements * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer zeros = ByteBuffer.allocateDirect(block.capacity());
            long samples = 0;
            for (long first = 0; first < elements; first += blockElements) {
                int count = (int) Math.min(blockElements, elements - first);
                reader.readFloats("W_enc", first, count, block);
                for (long i = (first + SAMPLE_EVERY - 1) / SAMPLE_EVERY * SAMPLE_EVERY; i < first + count; i += SAMPLE_EVERY) {
                    int at = (int) (i - first) * Float.BYTES;
                    assertThat(block.getFloat(at)).as("element %d", i).isEqualTo(i / SAMPLE_EVERY + 1);
                    block.putFloat(at, 0f);
                    samples++;
                }
                assertThat(block.slice(0, count * Float.BYTES).mismatch(zeros.slice(0, count * Float.BYTES)))
                        .as("block from element %d is zero between its samples", first).isEqualTo(-1);
            }
            assertThat(samples).isEqualTo((elements + SAMPLE_EVERY - 1) / SAMPLE_EVERY);
        }
    }

    @Test
    void corruptFilesAreRefusedWithWhatIsWrong() throws IOException {
        assertCorrupt(new byte[]{1, 2, 3}, "it is 3 bytes long, too short for a safetensors header");
        assertCorrupt(header(2, "[]"), "it has a header that is not a JSON object");
        assertCorrupt(withData("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "tensor w has dtype \"Q4\"; expected one of [F32, F16, BF16, I64]");
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8),
                "tensor w F32[3] needs 12 bytes but has 8");
    }

    @Test
    void aShapeWhoseElementCountOverflowsIsRefused() throws IOException {
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8),
                "tensor w F32[4294967296, 4294967296] has more values than a 64-bit byte count holds; expected its 8 bytes of F32 values");
    }

    @Test
    void aSizeThatWrapsToTheDeclaredBytesIsRefused() throws IOException {
        // 2^62 F32 values are 2^64 bytes, which wraps to 0 in 64 bits: an empty byte range must not pass for it.
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0),
                "tensor w F32[4611686018427387904] has more values than a 64-bit byte count holds; expected its 0 bytes of F32 values");
    }

    @Test
    void aDtypeWhoseSizeDisagreesWithTheByteRangeIsRefused() throws IOException {
        assertCorrupt(withData("{\"w\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16),
                "tensor w BF16[4] needs 8 bytes but has 16");
    }

    @Test
    void overlappingTensorsAreRefused() throws IOException {
        assertCorrupt(withData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
                "tensor b at bytes [4, 12) overlaps tensor a at [0, 8)");
    }

    @Test
    void gappedTensorsAreRefused() throws IOException {
        assertCorrupt(withData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12),
                "bytes [4, 8) of its data belong to no tensor (after a); expected tensor b to start at 4");
        assertCorrupt(withData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12),
                "its data section is 12 bytes but its tensors end at byte 4; expected no bytes after the last tensor");
    }

    @Test
    void offsetsBeyondTheFileAreRefused() throws IOException {
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8),
                "tensor w claims bytes [0, 16) of a data section of 8 bytes");
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[9223372036854775800,9223372036854775807]}}", 8),
                "tensor w claims bytes [9223372036854775800, 9223372036854775807) of a data section of 8 bytes");
        // Past a long, where a lenient reader would keep the low 64 bits (here -1).
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551615]}}", 8),
                "tensor w has data_offsets [0,18446744073709551615]; expected whole numbers from 0 to 9223372036854775807");
    }

    @Test
    void anAbsurdHeaderLengthIsRefusedBeforeItIsRead() throws IOException {
        Path file = dir.resolve("corrupt.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(header(200L << 20, "{}"));
            raf.setLength(300L << 20);   // sparse: the 200 MiB "header" is never allocated or read
        }
        assertThatThrownBy(() -> Safetensors.read(file).close()).isInstanceOf(IOException.class)
                .hasMessage(file + " is not a valid safetensors file: it declares a header of 209715200 bytes in a file of 314572800 bytes;"
                        + " expected at least 1 byte, at most 104857600");
        assertCorrupt(header(1000, "{}"), "it declares a header of 1000 bytes in a file of 10 bytes; expected at least 1 byte, at most 2");
        assertCorrupt(header(-8, "{}"), "it declares a header of -8 bytes in a file of 10 bytes; expected at least 1 byte, at most 2");
    }

    @Test
    void negativeOrFractionalDimensionsAreRefused() throws IOException {
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1,-4],\"data_offsets\":[0,16]}}", 16),
                "tensor w has shape [-1,-4]; expected whole numbers from 0 to 9223372036854775807");
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4),
                "tensor w has shape [1.5]; expected whole numbers from 0 to 9223372036854775807");
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"4\"],\"data_offsets\":[0,16]}}", 16),
                "tensor w has shape [\"4\"]; expected whole numbers from 0 to 9223372036854775807");
    }

    @Test
    void aHeaderThatIsNotOneJsonObjectIsRefused() throws IOException {
        assertCorrupt(header(6, "{\"w\": "), "it has a header that is not JSON: Unexpected end-of-input within/between Object entries");
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} {}", 4),
                "it has a header that is not one JSON object: more follows it from byte 63");
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
                "it has a header that is not JSON: Duplicate field 'w'");
        assertCorrupt(withData("{\"__metadata__\":{\"format\":{\"pt\":1}}}", 0),
                "its __metadata__ key \"format\" is {\"pt\":1}; expected a string");
    }

    @Test
    void askingForAMissingTensorNamesWhatIsThere() throws IOException {
        Path file = dir.resolve("t.safetensors");
        Safetensors.writer().addFloats("W_enc", Safetensors.Dtype.F32, new long[]{1}, new float[]{1}).write(file);
        try (Safetensors.Reader reader = Safetensors.read(file)) {
            assertThatThrownBy(() -> reader.floats("W_dec")).hasMessage(file + ": no tensor named W_dec; it holds [W_enc]");
        }
    }

    @Test
    void theHeaderAloneReadsFromAStreamWithoutTheData() throws IOException {
        Path file = dir.resolve("t.safetensors");
        Safetensors.writer().addFloats("W_enc", Safetensors.Dtype.F32, new long[]{4, 8}, new float[32])
                .addLongs("n", new long[]{}, new long[]{7}).metadata("format", "pt").write(file);
        byte[] bytes = Files.readAllBytes(file);

        Safetensors.Header header = Safetensors.readHeader(new java.io.ByteArrayInputStream(bytes), bytes.length, "s3://b/t.safetensors");

        try (Safetensors.Reader reader = Safetensors.read(file)) {
            assertThat(header.tensors().keySet()).containsExactlyElementsOf(reader.tensors().keySet());
            assertThat(header.tensors().get("W_enc").shape()).containsExactly(4, 8);
            assertThat(header.tensors().get("n").dtype()).isEqualTo(Safetensors.Dtype.I64);
            assertThat(header.metadata()).isEqualTo(reader.metadata());
        }
        byte[] cut = java.util.Arrays.copyOf(bytes, 20);
        assertThatThrownBy(() -> Safetensors.readHeader(new java.io.ByteArrayInputStream(cut), bytes.length, "s3://b/t.safetensors"))
                .hasMessageStartingWith("s3://b/t.safetensors is not a valid safetensors file: it ends inside its ");
    }

    private void assertCorrupt(byte[] content, String expected) throws IOException {
        Path file = dir.resolve("corrupt.safetensors");
        Files.write(file, content);
        assertThatThrownBy(() -> Safetensors.read(file).close())
                .isInstanceOf(IOException.class)
                .hasMessage(file + " is not a valid safetensors file: " + expected);
    }

    private static byte[] header(long declared, String json) {
        ByteBuffer b = ByteBuffer.allocate(8 + json.length()).order(ByteOrder.LITTLE_ENDIAN);
        return b.putLong(declared).put(json.getBytes(StandardCharsets.UTF_8)).array();
    }

    private static byte[] withData(String json, int dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(8 + json.length() + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        return b.putLong(json.length()).put(json.getBytes(StandardCharsets.UTF_8)).array();
    }
}
