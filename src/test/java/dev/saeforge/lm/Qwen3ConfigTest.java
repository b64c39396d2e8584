package dev.saeforge.lm;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Qwen3ConfigTest {
    /** Qwen/Qwen3-0.6B's config.json as published (reference/saelens-qwen3.md §6.2). */
    static final String QWEN3_0_6B = """
            {
              "architectures": ["Qwen3ForCausalLM"],
              "attention_bias": false,
              "attention_dropout": 0.0,
              "bos_token_id": 151643,
              "eos_token_id": 151645,
              "head_dim": 128,
              "hidden_act": "silu",
              "hidden_size": 1024,
              "initializer_range": 0.02,
              "intermediate_size": 3072,
              "max_position_embeddings": 40960,
              "max_window_layers": 28,
              "model_type": "qwen3",
              "num_attention_heads": 16,
              "num_hidden_layers": 28,
              "num_key_value_heads": 8,
              "rms_norm_eps": 1e-06,
              "rope_scaling": null,
              "rope_theta": 1000000,
              "sliding_window": null,
              "tie_word_embeddings": true,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.51.0",
              "use_cache": true,
              "use_sliding_window": false,
              "vocab_size": 151936
            }
            """;

    static Qwen3Config readQwen3_0_6BConfig() {
        return Qwen3Config.parse(QWEN3_0_6B, "config.json");
    }

    @Test
    void readsQwen3_0_6B() {
        Qwen3Config config = Qwen3Config.parse(QWEN3_0_6B, "config.json");

        assertThat(config).isEqualTo(new Qwen3Config(151936, 1024, 3072, 28, 16, 8, 128, 1e6, 1e-6, true, 40960, "bfloat16"));
        assertThat(config.queryWidth()).as("q width differs from hidden_size on 0.6B").isEqualTo(2048);
        assertThat(config.kvWidth()).isEqualTo(1024);
        // 0.6B: 596M parameters counting the tied embedding once (0.44B without it).
        assertThat(config.parameters()).isEqualTo(596_049_920L);
    }

    @Test
    void readsQwen3_8BWithItsSeparateLmHead() {
        String json = QWEN3_0_6B.replace("\"hidden_size\": 1024", "\"hidden_size\": 4096")
                .replace("\"intermediate_size\": 3072", "\"intermediate_size\": 12288")
                .replace("\"num_hidden_layers\": 28", "\"num_hidden_layers\": 36")
                .replace("\"num_attention_heads\": 16", "\"num_attention_heads\": 32")
                .replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false");

        Qwen3Config config = Qwen3Config.parse(json, "config.json");

        assertThat(config.tieWordEmbeddings()).isFalse();
        assertThat(config.parameters()).isEqualTo(8_190_735_360L);
    }

    @Test
    void aForwardToAHookReadsTheEmbeddingAndTheLayersUpToIt() {
        Qwen3Config config = ModelShapes.of("hf://Qwen/Qwen3-8B").config();

        // blocks.28 of Qwen3-8B: 6.2 billion parameters, 12.4 GB in bfloat16 (README).
        assertThat(config.parametersThrough(28)).isEqualTo(151_936L * 4096 + 29 * config.layerParameters()).isEqualTo(6_217_776_384L);
        assertThat(config.parametersThrough(35) + 4096 + 151_936L * 4096).as("then the final norm and lm_head")
                .isEqualTo(config.parameters());
    }

    @Test
    void transformersV5RopeParametersAreRead() {
        String json = QWEN3_0_6B.replace("\"rope_theta\": 1000000,", "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 5000000},")
                .replace("\"rope_scaling\": null,", "");

        assertThat(Qwen3Config.parse(json, "config.json").ropeTheta()).isEqualTo(5e6);
    }

    @Test
    void theConfigWrittenForTinyModelsReadsBack() {
        Qwen3Config config = TinyQwen3.Options.defaults().config();

        assertThat(Qwen3Config.parse(config.toJson(), "config.json")).isEqualTo(config);
    }

    @Test
    void aMissingKeyIsNamed() {
        String json = QWEN3_0_6B.replace("\"num_key_value_heads\": 8,", "");

        assertThatThrownBy(() -> Qwen3Config.parse(json, "/models/q/config.json"))
                .isInstanceOf(InvalidModelException.class)
                .hasMessage("/models/q/config.json: key \"num_key_value_heads\" is missing; expected a positive integer (the number of key/value heads)");
    }

    @Test
    void aWrongTypeIsNamed() {
        String json = QWEN3_0_6B.replace("\"hidden_size\": 1024", "\"hidden_size\": \"1024\"");

        assertThatThrownBy(() -> Qwen3Config.parse(json, "config.json"))
                .hasMessage("config.json: hidden_size \"1024\" is not an integer; expected a positive integer (the residual stream width)");
    }

    @Test
    void inconsistentHeadsAreRefused() {
        String json = QWEN3_0_6B.replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 3");

        assertThatThrownBy(() -> Qwen3Config.parse(json, "config.json"))
                .hasMessage("config.json: num_key_value_heads is 3; expected > 0 and dividing num_attention_heads (16)");
    }

    @Test
    void unsupportedArchitecturesAreRefusedByName() {
        assertThatThrownBy(() -> Qwen3Config.parse(QWEN3_0_6B.replace("\"model_type\": \"qwen3\"", "\"model_type\": \"llama\"")
                .replace("Qwen3ForCausalLM", "LlamaForCausalLM"), "config.json"))
                .hasMessage("config.json: model_type \"llama\" is not supported; expected \"qwen3\" (dense Qwen3)");
        assertThatThrownBy(() -> Qwen3Config.parse(QWEN3_0_6B.replace("Qwen3ForCausalLM", "Qwen3ForSequenceClassification"), "config.json"))
                .hasMessage("config.json: architectures [\"Qwen3ForSequenceClassification\"] is not supported; expected [\"Qwen3ForCausalLM\"]");
    }

    @Test
    void mixtureOfExpertsModelsAreRefused() {
        String moe = QWEN3_0_6B.replace("\"model_type\": \"qwen3\"", "\"model_type\": \"qwen3_moe\", \"num_experts\": 128")
                .replace("Qwen3ForCausalLM", "Qwen3MoeForCausalLM");

        assertThatThrownBy(() -> Qwen3Config.parse(moe, "config.json"))
                .hasMessage("config.json: model_type \"qwen3_moe\" with num_experts 128 is a mixture-of-experts model; "
                        + "SAE Forge runs dense Qwen3 models (model_type \"qwen3\")");
    }

    @Test
    void slidingWindowAttentionIsRefused() {
        String json = QWEN3_0_6B.replace("\"use_sliding_window\": false", "\"use_sliding_window\": true");

        assertThatThrownBy(() -> Qwen3Config.parse(json, "config.json"))
                .hasMessage("config.json: use_sliding_window true is not supported: every layer here uses full causal attention");
    }

    @Test
    void ropeScalingIsRefused() {
        String json = QWEN3_0_6B.replace("\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}");

        assertThatThrownBy(() -> Qwen3Config.parse(json, "config.json"))
                .hasMessage("config.json: rope_scaling {\"rope_type\":\"yarn\",\"factor\":4.0} is not supported: "
                        + "only the default RoPE (rope_type \"default\", no scaling) is implemented");
    }

    @Test
    void notJsonIsRefused() {
        assertThatThrownBy(() -> Qwen3Config.parse("{\"hidden_size\": ", "m/config.json"))
                .isInstanceOf(InvalidModelException.class).hasMessageStartingWith("m/config.json is not JSON");
    }

    /** Counts in the billions are refused by key before any layer list or parameter count is built from them. */
    @Test
    void layerCountsAndWidthsPastAnyModelAreRefusedByKey() {
        assertThatThrownBy(() -> Qwen3Config.parse(QWEN3_0_6B.replace("\"num_hidden_layers\": 28", "\"num_hidden_layers\": 2000000000"), "config.json"))
                .isInstanceOf(InvalidModelException.class)
                .hasMessage("config.json: num_hidden_layers is 2000000000; expected > 0 and <= 10000");
        assertThatThrownBy(() -> Qwen3Config.parse(QWEN3_0_6B.replace("\"hidden_size\": 1024", "\"hidden_size\": 2000000000"), "config.json"))
                .hasMessage("config.json: hidden_size is 2000000000; expected > 0 and <= 1048576");
    }

    @Test
    void aConfigFileTooLargeOrNotUtf8IsRefusedByName(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path huge = java.nio.file.Files.createDirectories(dir.resolve("huge"));
        try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(huge.resolve("config.json").toFile(), "rw")) {
            file.setLength(3L << 30);
        }
        assertThatThrownBy(() -> Qwen3Config.read(huge)).isInstanceOf(InvalidModelException.class)
                .hasMessage(huge.resolve("config.json") + " is 3,221,225,472 bytes; a model's config.json is at most 16,777,216 bytes (16 MiB)");

        java.nio.file.Path latin1 = java.nio.file.Files.createDirectories(dir.resolve("latin1"));
        java.nio.file.Files.write(latin1.resolve("config.json"), QWEN3_0_6B.replace("qwen3\"", "qwen3\u00e9\"")
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> Qwen3Config.read(latin1)).isInstanceOf(InvalidModelException.class)
                .hasMessageStartingWith(latin1.resolve("config.json") + " is not UTF-8 text: line 14 has the byte 0xE9");
    }
}
