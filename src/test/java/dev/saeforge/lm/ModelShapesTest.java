package dev.saeforge.lm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** What validate knows of a model's shape without downloading it. */
class ModelShapesTest {

    @Test
    void thePublished0_6BIsItsConfigJson() {
        assertThat(ModelShapes.of("hf://Qwen/Qwen3-0.6B").config()).isEqualTo(Qwen3ConfigTest.readQwen3_0_6BConfig());
    }

    /** Qwen's model cards give each model's parameters, and those without the embeddings (and lm_head). */
    @ParameterizedTest(name = "{0}: {1}B parameters, {2}B without the embeddings")
    @CsvSource({"Qwen3-0.6B, 0.6, 0.44", "Qwen3-1.7B, 1.7, 1.4", "Qwen3-4B, 4.0, 3.6", "Qwen3-8B, 8.2, 6.95",
            "Qwen3-14B, 14.8, 13.2", "Qwen3-32B, 32.8, 31.2"})
    void thePublishedShapesHaveTheParametersOfTheModelCards(String name, double billions, double nonEmbedding) {
        Qwen3Config config = ModelShapes.of("hf://Qwen/" + name).config();
        long embeddings = (config.tieWordEmbeddings() ? 1L : 2L) * config.vocabSize() * config.hiddenSize();

        assertThat(config.parameters() / 1e9).isCloseTo(billions, within(0.05));
        assertThat((config.parameters() - embeddings) / 1e9).isCloseTo(nonEmbedding, within(0.05));
    }

    @Test
    void aRevisionDoesNotChangeTheShape() {
        assertThat(ModelShapes.of("hf://Qwen/Qwen3-8B@main").config()).isEqualTo(ModelShapes.of("hf://Qwen/Qwen3-8B").config());
        assertThat(ModelShapes.of("hf://Qwen/Qwen3-8B").source()).isEqualTo("Qwen/Qwen3-8B as published");
    }

    @Test
    void aLocalCheckpointIsReadFromItsConfigJson(@TempDir Path dir) throws Exception {
        TinyQwen3.Options options = TinyQwen3.Options.defaults().withTied(false);
        Files.writeString(dir.resolve(Qwen3Config.FILE), options.config().toJson());

        assertThat(ModelShapes.of(dir.toString()).config()).isEqualTo(options.config());
        assertThat(ModelShapes.of("file://" + dir).config()).isEqualTo(options.config());
        assertThat(ModelShapes.of("tiny://qwen3").config()).isEqualTo(TinyQwen3.Options.defaults().config());
    }

    @Test
    void whatIsNotHereIsUnknownAndSaysWhy(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve(Qwen3Config.FILE), "{\"model_type\": \"llama\"}");

        assertThat(ModelShapes.of("hf://meta-llama/Llama-3.1-8B")).satisfies(shape -> {
            assertThat(shape.known()).isFalse();
            assertThat(shape.source()).isEqualTo("hf://meta-llama/Llama-3.1-8B is not a model whose shape is known here; "
                    + "its config.json is read when the run starts");
        });
        assertThat(ModelShapes.of("s3://models/qwen3-8b").source()).startsWith("s3://models/qwen3-8b is not read before the run");
        assertThat(ModelShapes.of("/no/such/model").source()).isEqualTo("/no/such/model has no config.json on this machine; "
                + "it is read when the run starts");
        assertThat(ModelShapes.of(dir.toString())).satisfies(shape -> {
            assertThat(shape.known()).isFalse();
            assertThat(shape.source()).contains("model_type", "llama");
        });
    }
}
