package dev.saeforge.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The seed post's SAELens config, moved to a TrainingRun field for field with
 * exclude_special_tokens=True and context_size=1024 (src/test/resources/seed/), validates, and
 * the cfg.json its final checkpoint would carry, rendered from the spec without training, holds
 * every key of reference/saelens-qwen3.md §4.3 with the values that config implies.
 */
class SeedConfigCfgTest {
    static final Path SEED = Path.of("src/test/resources/seed/qwen3-8b-layer28-saelens.yaml");

    static JsonNode renderedCfg(Map<String, Object> trained) throws Exception {
        TrainingRun run = TrainingRuns.read(SEED).get(0);
        RunIdentity identity = new RunIdentity("research", run.getMetadata().getName(), "6f1c2a9e-uid", null);
        SaeDefinition sae = SaeDefinition.all(run).get(0);
        return Mappers.json().valueToTree(Checkpointer.cfg(identity, run.getSpec(), sae, 4096, 1.0, Map.of(), trained, true));
    }

    @Test
    void theSeedConfigValidatesAndItsCfgJsonHasEveryKeySaeLensLoads() throws Exception {
        JsonNode cfg = renderedCfg(Map.of());

        // §4.3, top level
        assertThat(cfg.path("architecture").asText()).isEqualTo("jumprelu");
        assertThat(cfg.path("d_in").asInt()).isEqualTo(4096);
        assertThat(cfg.path("d_sae").asInt()).isEqualTo(4 * 4096);
        assertThat(cfg.path("dtype").asText()).isEqualTo("float32");
        assertThat(cfg.has("device")).isTrue();
        assertThat(cfg.path("apply_b_dec_to_input").asBoolean()).isTrue();
        assertThat(cfg.path("normalize_activations").asText()).isEqualTo("none");
        assertThat(cfg.path("reshape_activations").asText()).isEqualTo("none");

        // §4.3, metadata
        JsonNode metadata = cfg.path("metadata");
        for (String version : List.of("sae_lens_version", "sae_lens_training_version")) {
            assertThat(Integer.parseInt(metadata.path(version).asText().split("\\.")[0])).as(version).isGreaterThanOrEqualTo(6);
        }
        assertThat(metadata.path("model_name").asText()).isEqualTo("Qwen/Qwen3-8B");
        assertThat(metadata.path("hook_name").asText()).isEqualTo("blocks.28.hook_mlp_out");
        assertThat(metadata.has("hook_head_index")).isTrue();
        assertThat(metadata.path("hook_head_index").isNull()).isTrue();
        assertThat(metadata.path("context_size").asInt()).isEqualTo(1024);
        assertThat(metadata.path("prepend_bos").isBoolean()).isTrue();
        assertThat(metadata.path("prepend_bos").asBoolean()).isFalse();
        assertThat(metadata.path("seqpos_slice").toString()).isEqualTo("[null]");
        assertThat(metadata.path("model_from_pretrained_kwargs").path("center_writing_weights").isBoolean()).isTrue();
        assertThat(metadata.path("model_from_pretrained_kwargs").path("center_writing_weights").asBoolean()).isFalse();
        assertThat(metadata.path("dataset_path").asText()).as("what SAELens' load_dataset takes").isEqualTo("HuggingFaceFW/fineweb");
        assertThat(metadata.path("saeforge_dataset_uri").asText()).isEqualTo("hf://datasets/HuggingFaceFW/fineweb");
        assertThat(metadata.path("model_class_name").asText()).isEqualTo("HookedTransformer");
        assertThat(metadata.path("exclude_special_tokens").isBoolean()).isTrue();
        assertThat(metadata.path("exclude_special_tokens").asBoolean()).isTrue();
        assertThat(metadata.path("sequence_separator_token").asText()).isEqualTo("bos");
        assertThat(metadata.path("disable_concat_sequences").isBoolean()).isTrue();
        assertThat(metadata.path("disable_concat_sequences").asBoolean()).isFalse();
        // [newer]: the training architecture; final L0 and dead features come from training (below)
        assertThat(metadata.path("training_architecture").asText()).isEqualTo("jumprelu");

        // Which run wrote it
        assertThat(metadata.path("saeforge_run").asText()).isEqualTo("qwen3-8b-layer28-seed");
        assertThat(metadata.path("saeforge_run_uid").asText()).isEqualTo("6f1c2a9e-uid");
    }

    @Test
    void whatTrainingFoundIsRecordedBesideTheSpec() throws Exception {
        JsonNode metadata = renderedCfg(Map.of("training_tokens", 1228800000L, "l0", 61.5, "num_dead_features", 3)).path("metadata");
        assertThat(metadata.path("training_tokens").asLong()).isEqualTo(1228800000L);
        assertThat(metadata.path("l0").asDouble()).isEqualTo(61.5);
        assertThat(metadata.path("num_dead_features").asInt()).isEqualTo(3);
    }
}
