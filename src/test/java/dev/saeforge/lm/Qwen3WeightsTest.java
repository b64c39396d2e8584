package dev.saeforge.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.saeforge.tensor.AnyDtype;
import dev.saeforge.tensor.Precision;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A checkpoint is checked against its config when it opens; each fault is named. */
class Qwen3WeightsTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Safetensors.Dtype.class, names = {"BF16", "F16", "F32"})
    void tensorsLoadExactlyInFloat32AndInTheirOwnPrecision(Safetensors.Dtype stored) throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults().withDtype(stored));
        Qwen3Config config = Qwen3Config.read(dir);
        String key = Qwen3Weights.layerKey(1, "mlp.down_proj");
        float[] expected;
        try (Safetensors.Reader reader = Safetensors.read(dir.resolve("model.safetensors"))) {
            assertThat(reader.tensor(key).dtype()).isEqualTo(stored);
            expected = reader.floats(key);
        }
        try (Qwen3Weights weights = Qwen3Weights.open(dir, config);
             NDManager manager = Torch.engine().newBaseManager(Device.cpu())) {
            NDArray array = weights.load(key, manager, Precision.FLOAT32);
            assertThat(array.getShape().getShape()).containsExactly(64, 128);
            assertThat(array.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(array.toFloatArray()).containsExactly(expected);
            // Every value of a bf16 (f16) tensor is a bf16 (f16) number: kept in that precision, none changes.
            Precision own = switch (stored) {
                case BF16 -> Precision.BFLOAT16;
                case F16 -> Precision.FLOAT16;
                default -> Precision.FLOAT32;
            };
            NDArray narrow = weights.load(key, manager, own);
            assertThat(narrow.getShape().getShape()).containsExactly(64, 128);
            assertThat(AnyDtype.cast(narrow, Precision.FLOAT32, manager).toFloatArray()).containsExactly(expected);
        }
    }

    @Test
    void aWeightOfTheWrongShapeIsNamedWithTheShapeTheConfigImplies() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults());
        Files.writeString(dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("\"intermediate_size\" : 128", "\"intermediate_size\" : 96"));

        assertThatThrownBy(() -> Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32))
                .isInstanceOf(InvalidModelException.class)
                .hasMessage(dir.resolve("model.safetensors") + ": tensor model.layers.0.mlp.gate_proj.weight has shape [128, 64]; "
                        + "config.json implies [96, 64] [intermediate_size, hidden_size]");
    }

    @Test
    void aMissingShardIsNamedWithATensorItHolds() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults().withShards(3));
        Files.delete(dir.resolve("model-00002-of-00003.safetensors"));

        assertThatThrownBy(() -> Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageStartingWith(dir.resolve("model.safetensors.index.json") + " maps ")
                .hasMessageContaining("to shard model-00002-of-00003.safetensors, which is missing from " + dir);
    }

    @Test
    void aMissingLmHeadOfAnUntiedModelIsNamed() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults());
        Files.writeString(dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("\"tie_word_embeddings\" : true", "\"tie_word_embeddings\" : false"));

        assertThatThrownBy(() -> Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32))
                .hasMessage(dir + ": no tensor lm_head.weight in model.safetensors; config.json implies it with shape [300, 64] "
                        + "[vocab_size, hidden_size] (tie_word_embeddings is false)");
    }

    @Test
    void aDirectoryWithoutSafetensorsIsRefusedSayingWhatItHolds() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults());
        Files.move(dir.resolve("model.safetensors"), dir.resolve("pytorch_model.bin"));

        assertThatThrownBy(() -> Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32))
                .hasMessage(dir + " has neither model.safetensors nor model.safetensors.index.json (only safetensors checkpoints are read); "
                        + "it holds [config.json, pytorch_model.bin, tokenizer.json, tokenizer_config.json]");
    }

    @Test
    void aDirectoryWithoutConfigIsRefused() throws IOException {
        assertThatThrownBy(() -> Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageStartingWith(dir + " has no config.json");
    }
}
