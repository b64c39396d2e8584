package dev.saeforge.lm;

import dev.saeforge.store.Safetensors;

import java.io.IOException;
import java.nio.file.Path;

/** Changes to checkpoints written by {@link TinyQwen3}, for tests that need a model to misbehave. */
public final class TinyCheckpoints {
    private TinyCheckpoints() {
    }

    /** Rewrites {@code file} (float32 tensors) with tensor {@code name} multiplied by {@code factor}. */
    public static void scaleTensor(Path file, String name, float factor) throws IOException {
        Safetensors.Writer writer = Safetensors.writer();
        try (Safetensors.Reader reader = Safetensors.read(file)) {
            for (Safetensors.Tensor tensor : reader.tensors().values()) {
                float[] values = reader.floats(tensor.name());
                if (tensor.name().equals(name)) {
                    for (int i = 0; i < values.length; i++) {
                        values[i] *= factor;
                    }
                }
                writer.addFloats(tensor.name(), Safetensors.Dtype.F32, tensor.shape(), values);
            }
            reader.metadata().forEach(writer::metadata);
        }
        writer.write(file);
    }
}
