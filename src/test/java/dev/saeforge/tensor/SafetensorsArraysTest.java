package dev.saeforge.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.store.Safetensors;
import dev.saeforge.store.SparseFile;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Arrays go to safetensors files and come back a block at a time, whatever their size. */
class SafetensorsArraysTest {
    @TempDir
    Path dir;
    @AutoClose
    final NDManager manager = Torch.engine().newBaseManager(Device.cpu());

    private static ByteBuffer staging(int floats) {
        return ByteBuffer.allocateDirect(floats * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void arraysRoundTripInBlocksSmallerThanThemselves() throws IOException {
        NDArray matrix = manager.arange(0f, 35f).reshape(5, 7).mul(0.5f);
        NDArray transposed = manager.arange(0f, 35f).reshape(5, 7).transpose();   // not contiguous
        NDArray scalar = manager.create(3.25f);
        Path file = dir.resolve("t.safetensors");
        // Blocks of 4 elements: 9 for 35 values, the last of 3.
        Safetensors.writer()
                .add("matrix", Safetensors.Dtype.F32, matrix.getShape().getShape(), SafetensorsArrays.float32(matrix, 4))
                .add("transposed", Safetensors.Dtype.F32, transposed.getShape().getShape(), SafetensorsArrays.float32(transposed, 4))
                .add("scalar", Safetensors.Dtype.F32, scalar.getShape().getShape(), SafetensorsArrays.float32(scalar, 4))
                .write(file);

        try (Safetensors.Reader reader = Safetensors.read(file)) {
            assertThat(reader.floats("matrix")).containsExactly(matrix.toFloatArray());
            assertThat(reader.floats("transposed")).containsExactly(transposed.toFloatArray());
            for (String name : new String[]{"matrix", "transposed", "scalar"}) {
                NDArray original = name.equals("matrix") ? matrix : name.equals("transposed") ? transposed : scalar;
                try (NDArray read = SafetensorsArrays.readFloat32(reader, name, manager, staging(3))) {
                    assertThat(read.getShape()).as(name).isEqualTo(original.getShape());
                    assertThat(read.toFloatArray()).as(name).containsExactly(original.toFloatArray());
                }
            }
        }
    }

    @Test
    void halfWidthTensorsWidenExactlyBlockByBlock() throws IOException {
        float[] values = new float[23];
        for (int i = 0; i < values.length; i++) {
            values[i] = (i - 11) * 0.375f;   // exact in float16 and bfloat16
        }
        Path file = dir.resolve("t.safetensors");
        Safetensors.writer().addFloats("bf16", Safetensors.Dtype.BF16, new long[]{23}, values)
                .addFloats("f16", Safetensors.Dtype.F16, new long[]{23, 1}, values).write(file);

        try (Safetensors.Reader reader = Safetensors.read(file)) {
            for (String name : new String[]{"bf16", "f16"}) {
                try (NDArray read = SafetensorsArrays.readFloat32(reader, name, manager, staging(5))) {
                    assertThat(read.getDataType()).isEqualTo(DataType.FLOAT32);
                    assertThat(read.toFloatArray()).as(name).containsExactly(values);
                }
            }
        }
    }

    @Test
    void writingLeavesNoArraysBehind() throws IOException {
        try (NDManager owner = manager.newSubManager()) {
            NDArray matrix = owner.arange(0f, 35f).reshape(5, 7);
            int before = owner.getManagedArrays().size();
            Safetensors.writer().add("m", Safetensors.Dtype.F32, new long[]{5, 7}, SafetensorsArrays.float32(matrix, 4))
                    .write(dir.resolve("t.safetensors"));
            assertThat(owner.getManagedArrays()).as("the flat view, slices and host copies are closed").hasSize(before);
        }
    }

    /**
     * A real Qwen3-8B W_enc of 131,072 latents, exactly 2 GiB, through the checkpoint's write and
     * read path on the GPU if there is one: needs 4 GiB of (GPU) memory, so it runs only when asked
     * for with -Dsaeforge.largeArrays=true. The file is sparse: the array is zero but for a few values.
     */
    @Test
    @EnabledIfSystemProperty(named = "saeforge.largeArrays", matches = "true")
    void aTwoGibibyteArrayRoundTrips() throws IOException {
        try (NDManager device = Torch.engine().newBaseManager(Torch.device(true))) {
            NDArray weights = device.zeros(new Shape(4096, 131_072));
            long[][] samples = {{0, 0}, {1, 7}, {2048, 65_536}, {4095, 131_071}};
            for (int i = 0; i < samples.length; i++) {
                weights.set(new NDIndex(samples[i][0], samples[i][1]), i + 1f);
            }
            Path file = dir.resolve("large.safetensors");
            try (SparseFile out = new SparseFile(file)) {
                Safetensors.writer().add("W_enc", Safetensors.Dtype.F32, new long[]{4096, 131_072}, SafetensorsArrays.float32(weights))
                        .write(out);
            }
            try (Safetensors.Reader reader = Safetensors.read(file); NDArray read = SafetensorsArrays.readFloat32(reader, "W_enc", device)) {
                assertThat(reader.tensor("W_enc").length()).isEqualTo(2L << 30);
                assertThat(read.getDevice()).isEqualTo(weights.getDevice());
                assertThat(read.eq(weights).all().getBoolean()).isTrue();
                for (int i = 0; i < samples.length; i++) {
                    assertThat(read.getFloat(samples[i])).isEqualTo(i + 1f);
                }
            }
        }
    }
}
