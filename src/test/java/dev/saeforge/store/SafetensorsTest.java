package dev.saeforge.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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

    @Test
    void tensorsBeyondTwoGibibytesAreMappedOneByOne() throws IOException {
        // A sparse file: a 2.5 GiB tensor, then a small one that starts past the 2 GiB mark.
        long big = 5L << 29;
        String json = "{\"big\":{\"dtype\":\"I64\",\"shape\":[" + big / 8 + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + big + "," + (big + 8) + "]}}";
        Path file = dir.resolve("large.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            ByteBuffer head = ByteBuffer.allocate(8 + json.length()).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(json.length()).put(json.getBytes(StandardCharsets.UTF_8));
            raf.write(head.array());
            raf.seek(8 + json.length() + big);
            ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0.5f).putFloat(-4f);
            raf.write(tail.array());
        }

        try (Safetensors.Reader reader = Safetensors.read(file)) {
            assertThat(reader.floats("tail")).containsExactly(0.5f, -4f);
            assertThatThrownBy(() -> reader.bytes("big")).hasMessageContaining("tensor big I64[" + big / 8 + "]")
                    .hasMessageContaining("over the 2 GiB a buffer holds");
        }
    }

    @Test
    void corruptFilesAreRefusedWithWhatIsWrong() throws IOException {
        assertCorrupt(new byte[]{1, 2, 3}, "is 3 bytes long, too short for a safetensors header");
        assertCorrupt(header(1000, "{}"), "declares a header of 1000 bytes in a file of 10 bytes");
        assertCorrupt(header(2, "[]"), "has a header that is not a JSON object");
        assertCorrupt(withData("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "tensor w has dtype \"Q4\"; expected one of [F32, F16, BF16, I64]");
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8),
                "tensor w claims bytes [0, 16) of a data section of 8 bytes");
        assertCorrupt(withData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8),
                "tensor w F32[3] needs 12 bytes but has 8");
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
                .hasMessage(file + " is not a valid safetensors file: it " + expected);
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
