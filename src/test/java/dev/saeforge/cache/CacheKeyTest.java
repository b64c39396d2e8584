package dev.saeforge.cache;

import dev.saeforge.api.Mappers;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.InputFiles;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A cache key names what determines a cache's rows; a run reads a cache whose key differs from its own in nothing but extra hooks. */
class CacheKeyTest {
    static TrainingRunSpec spec(String dataset, String cache) throws Exception {
        String yaml = """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: keyed}
                spec:
                  model: {name: tiny, uri: tiny://qwen3}
                  hook: blocks.1.hook_mlp_out
                  dataset: {uri: tiny://corpus, contextSize: 16 DATASET}
                  activations: {cache: {uri: s3://bucket/c CACHE}}
                  sae: {expansionFactor: 2}
                  training: {tokens: 640, batchSizeTokens: 64, seed: 5}
                """.replace("DATASET", dataset).replace("CACHE", cache);
        return TrainingRuns.parse(yaml, "test").get(0).getSpec();
    }

    static final InputFiles INPUTS = new InputFiles("tiny://qwen3", "abc123", "tiny://corpus", null,
            List.of(new InputFiles.File("corpus.jsonl", 1000, null)));

    static CacheKey key(TrainingRunSpec spec, List<String> hooks) {
        return CacheKey.of(spec, hooks, INPUTS, "float32");
    }

    @Test
    void aKeyNamesTheModelItsRevisionDtypesHooksDatasetFilesAndPacking() throws Exception {
        CacheKey key = key(spec("", ""), List.of("blocks.1.hook_mlp_out"));
        assertThat(key.model()).isEqualTo("tiny://qwen3");
        assertThat(key.revision()).isEqualTo("abc123");
        assertThat(key.modelDtype()).isEqualTo("float32");
        assertThat(key.dtype()).isEqualTo("float32");
        assertThat(key.datasetFiles()).containsExactly("corpus.jsonl 1000 -");
        assertThat(key.packing()).containsEntry("contextSize", 16).containsEntry("prependBos", true).containsEntry("seed", 5L)
                .containsEntry("storeBatchSizePrompts", 32).containsKeys("seqposSlice", "excludeSpecialTokens", "evalBatches");
        assertThat(key(spec("", ", dtype: bfloat16"), List.of("blocks.1.hook_mlp_out")).dtype()).isEqualTo("bfloat16");
    }

    @Test
    void rowsAreStoredInTheSpecsDtypeElseTheForwardsWithFloat16HeldExactlyAsFloat32() throws Exception {
        assertThat(CacheKey.of(spec("", ""), List.of("blocks.1.hook_mlp_out"), INPUTS, "bfloat16").dtype()).isEqualTo("bfloat16");
        assertThat(CacheKey.of(spec("", ""), List.of("blocks.1.hook_mlp_out"), INPUTS, "float16").dtype()).isEqualTo("float32");
        assertThat(CacheKey.of(spec("", ", dtype: float32"), List.of("blocks.1.hook_mlp_out"), INPUTS, "bfloat16").dtype()).isEqualTo("float32");
    }

    @Test
    void aKeyReadBackFromJsonHasNoDifferencesThoughItsNumbersChangedType() throws Exception {
        CacheKey key = key(spec("", ""), List.of("blocks.1.hook_mlp_out"));
        CacheKey read = Mappers.json().readValue(CacheFiles.json(key), CacheKey.class);
        assertThat(read.packing().get("seed")).isInstanceOf(Integer.class);
        assertThat(read.differences(key)).isEmpty();
        assertThat(key.differences(read)).isEmpty();
    }

    @Test
    void eachDifferingFieldIsNamedWithBothValues() throws Exception {
        CacheKey cache = key(spec("", ""), List.of("blocks.1.hook_mlp_out"));
        Map<String, Object> packing = new LinkedHashMap<>(cache.packing());
        packing.put("contextSize", 32);
        CacheKey wanted = new CacheKey("tiny://other", "def456", "bfloat16", "bfloat16", List.of("blocks.0.hook_resid_post"),
                "tiny://corpus", List.of("corpus.jsonl 999 -"), packing);
        assertThat(cache.differences(wanted)).containsExactly(
                "model: cache has tiny://qwen3, the spec has tiny://other",
                "revision: cache has abc123, the spec has def456",
                "modelDtype: cache has float32, the spec has bfloat16",
                "dtype: cache has float32, the spec has bfloat16",
                "hooks: cache has [blocks.1.hook_mlp_out], the spec has [blocks.0.hook_resid_post] (missing [blocks.0.hook_resid_post])",
                "datasetFiles: cache has [corpus.jsonl 1000 -], the spec has [corpus.jsonl 999 -]",
                "packing.contextSize: cache has 16, the spec has 32");
    }

    @Test
    void aCacheWhoseHooksIncludeTheRunsServesIt() throws Exception {
        CacheKey cache = key(spec("", ""), List.of("blocks.0.hook_resid_post", "blocks.1.hook_mlp_out"));
        assertThat(cache.differences(key(spec("", ""), List.of("blocks.1.hook_mlp_out")))).isEmpty();
        assertThat(key(spec("", ""), List.of("blocks.1.hook_mlp_out")).differences(cache)).containsExactly(
                "hooks: cache has [blocks.1.hook_mlp_out], the spec has [blocks.0.hook_resid_post, blocks.1.hook_mlp_out]"
                        + " (missing [blocks.0.hook_resid_post])");
        assertThat(key(spec(", seqposSlice: [1, null]", ""), List.of("blocks.1.hook_mlp_out")).differences(
                key(spec("", ""), List.of("blocks.1.hook_mlp_out")))).containsExactly("packing.seqposSlice: cache has [1,null], the spec has [null]");
    }
}
