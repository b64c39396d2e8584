package dev.saeforge.cache;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.DatasetFixtures;
import dev.saeforge.data.LanguageModelData;
import dev.saeforge.data.TrainingWindows;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.Qwen3Model;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.store.S3MockServer;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Precision;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The cache writer on a tiny Qwen3: the rows of a cache are the stream's rows before its mixing
 * buffer, in pass order, cut into shards; an index is a fixed range of passes, written the same
 * way by any process at any time, and a writer stopped mid-shard is completed by a rerun.
 */
public class CacheWriterTest {
    static final int CONTEXT = 16;
    static final int PROMPTS = 4;
    static final String HOOK = "blocks.1.hook_mlp_out";
    /** Not a multiple of a pass's 64 rows: shards start inside passes. */
    static final int ROWS_PER_SHARD = 100;

    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("caches");

    @TempDir
    Path dir;
    Path corpus;

    @BeforeEach
    void write() throws IOException {
        TinyQwen3.write(dir.resolve("model"), TinyQwen3.Options.defaults());
        corpus = DatasetFixtures.jsonl(dir.resolve("corpus.jsonl"), DatasetFixtures.documents("the cache holds", 120));
    }

    /** A run of the tiny model: 10 steps of 64 rows, a buffer of 2 passes, so 13 passes of 64 rows, and one held-out batch. */
    TrainingRunSpec spec(String cache) throws Exception {
        return spec(cache, "");
    }

    TrainingRunSpec spec(String cache, String more) throws Exception {
        return TrainingRuns.parse(specYaml(cache, more), "test").get(0).getSpec();
    }

    String specYaml(String cache, String more) {
        return specYaml("cached", dir.resolve("model"), corpus, "uri: " + cache + ", rowsPerShard: " + ROWS_PER_SHARD + " " + more);
    }

    /**
     * The tiny run these tests build caches of, named {@code name}, of the model at {@code model}
     * over {@code corpus}: windows of 16 tokens, 4 a pass, 10 steps of 64 rows and a buffer of 2
     * passes (13 passes of 64 rows), one held-out batch; spec.activations.cache has {@code cache}'s
     * fields ("uri: DIR, rowsPerShard: 100"), none when null.
     */
    public static String specYaml(String name, Path model, Path corpus, String cache) {
        return """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: NAME}
                spec:
                  model: {name: tiny, uri: MODEL, dtype: float32}
                  hook: HOOK
                  dataset: {uri: CORPUS, contextSize: CONTEXT, storeBatchSizePrompts: PROMPTS, nBatchesInBuffer: 2}
                  sae: {expansionFactor: 2}
                  training: {tokens: 640, batchSizeTokens: 64, evalBatches: 1, seed: 5, device: cpu}
                """.replace("NAME", name).replace("MODEL", model.toString()).replace("HOOK", HOOK).replace("CORPUS", corpus.toString())
                .replace("CONTEXT", String.valueOf(CONTEXT)).replace("PROMPTS", String.valueOf(PROMPTS))
                + (cache == null ? "" : "  activations: {cache: {" + cache + "}}\n");
    }

    LanguageModelData open(TrainingRunSpec spec) throws IOException {
        return LanguageModelData.open(spec, List.of(HookPoint.parse(HOOK)), Device.cpu(), new ModelSources(dir.resolve("hub"), null, Map.of()));
    }

    /** Builds index {@code index} of {@code of} (all in turn for -1) of {@code spec}'s cache at {@code files}. */
    void build(TrainingRunSpec spec, CacheFiles files, int index, int of, CacheWriter.Listener listener) throws IOException {
        try (LanguageModelData data = open(spec)) {
            CacheWriter writer = new CacheWriter(spec, data, List.of(HookPoint.parse(HOOK)), files, listener);
            if (index < 0) {
                writer.buildAll(of);
            } else {
                writer.build(index, of);
            }
        }
    }

    CacheFiles local(String name) {
        return CacheFiles.open(dir.resolve(name).toString(), Map.of());
    }

    /** Every file of a cache location, path to bytes. */
    static Map<String, byte[]> contents(CacheFiles files) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        for (String path : files.list("").keySet()) {
            out.put(path, files.get(path).orElseThrow());
        }
        return out;
    }

    static void assertSameFiles(Map<String, byte[]> actual, Map<String, byte[]> expected) {
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        expected.forEach((path, bytes) -> assertThat(actual.get(path)).as(path).isEqualTo(bytes));
    }

    /** A shard's tensors, read back. */
    record Rows(float[] values, long[] tokens, long[] positions, Safetensors.Dtype dtype) {
    }

    Rows read(CacheFiles files, String path) throws IOException {
        Path copy = Files.createTempFile(dir, "shard", ".safetensors");
        Files.write(copy, files.get(path).orElseThrow());
        try (Safetensors.Reader reader = Safetensors.read(copy)) {
            return new Rows(reader.floats(HOOK), reader.longs(CacheLayout.TOKENS), reader.longs(CacheLayout.POSITIONS),
                    reader.tensor(HOOK).dtype());
        }
    }

    @Test
    void shardsHoldTheStreamsRowsInPassOrderWithTheirTokensAndPositions() throws Exception {
        TrainingRunSpec spec = spec(dir.resolve("cache").toString());
        CacheFiles files = local("cache");
        build(spec, files, -1, 1, CacheWriter.Listener.NONE);

        CacheLayout.Manifest manifest = CacheManifests.complete(files).manifest().orElseThrow();
        assertThat(manifest.info().passes()).isEqualTo(13);
        assertThat(manifest.info().rowsPerPass()).isEqualTo(PROMPTS * CONTEXT);
        CacheLayout.IndexManifest index = manifest.indexes().get(0);
        assertThat(index.rows()).isEqualTo(13 * 64);
        assertThat(index.shards()).extracting(CacheLayout.ShardRecord::rows).containsExactly(100L, 100L, 100L, 100L, 100L, 100L, 100L, 100L, 32L);
        assertThat(index.shards()).extracting(CacheLayout.ShardRecord::firstRow).containsExactly(0L, 100L, 200L, 300L, 400L, 500L, 600L, 700L, 800L);

        // The windows the stream reads, and their activations computed here, pass by pass.
        List<long[][]> passes = new ArrayList<>();
        try (LanguageModelData data = open(spec); TrainingWindows windows = data.trainingWindows()) {
            for (int p = 0; p < 13; p++) {
                passes.add(windows.next());
            }
        }
        float[] expected;
        try (Qwen3Model model = Qwen3Model.load(dir.resolve("model"), Device.cpu(), Precision.FLOAT32);
             NDManager manager = Torch.engine().newBaseManager(Device.cpu())) {
            List<float[]> perPass = new ArrayList<>();
            for (long[][] pass : passes) {
                perPass.add(model.activations(manager.create(pass), HookPoint.parse(HOOK)).toFloatArray());
            }
            expected = concat(perPass);
        }
        int width = manifest.info().hooks().get(0).width();
        List<float[]> values = new ArrayList<>();
        List<Long> tokens = new ArrayList<>();
        List<Long> positions = new ArrayList<>();
        for (CacheLayout.ShardRecord shard : index.shards()) {
            Rows rows = read(files, "index-00000-of-00001/" + shard.file());
            assertThat(rows.dtype()).isEqualTo(Safetensors.Dtype.F32);
            values.add(rows.values());
            Arrays.stream(rows.tokens()).forEach(tokens::add);
            Arrays.stream(rows.positions()).forEach(positions::add);
        }
        assertThat(concat(values)).containsExactly(expected);
        for (int r = 0; r < 13 * 64; r++) {
            long window = positions.get(2 * r);
            long position = positions.get(2 * r + 1);
            assertThat(window).isEqualTo(r / CONTEXT);
            assertThat(position).isEqualTo(r % CONTEXT);
            assertThat(tokens.get(r)).isEqualTo(passes.get((int) (window / PROMPTS))[(int) (window % PROMPTS)][(int) position]);
        }
        assertThat(values.get(0).length).isEqualTo(100 * width);
        // The held-out rows: the evaluation's one batch of 64 rows.
        assertThat(manifest.heldOut().rows()).isEqualTo(64);
        assertThat(manifest.trainingRows()).isEqualTo(13 * 64);
    }

    static float[] concat(List<float[]> parts) {
        float[] out = new float[parts.stream().mapToInt(p -> p.length).sum()];
        int at = 0;
        for (float[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    @Test
    void anIndexBuiltTwiceIsTheSameBytesAndFourProcessesBuildingTheFourIndexesAtOnceEqualOneBuildInTurn() throws Exception {
        TrainingRunSpec spec = spec("unused");
        CacheFiles once = local("once");
        CacheFiles again = local("again");
        build(spec, once, 2, 4, CacheWriter.Listener.NONE);
        build(spec, again, 2, 4, CacheWriter.Listener.NONE);
        assertSameFiles(contents(again), contents(once));
        assertThat(contents(once)).containsKeys("cache.json", "index-00002-of-00004/manifest.json").doesNotContainKey("manifest.json");

        // Four processes, one per index, at once, as the pods of an Indexed Job.
        Path parallelSpec = Files.writeString(dir.resolve("parallel.yaml"), specYaml(dir.resolve("parallel").toString(), ""));
        List<Process> processes = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            processes.add(new ProcessBuilder(IndexBuildProcess.command(parallelSpec.toString(), Integer.toString(i), "4",
                    dir.resolve("hub").toString())).redirectErrorStream(true).redirectOutput(dir.resolve("process-" + i + ".log").toFile())
                    .start());
        }
        for (int i = 0; i < 4; i++) {
            assertThat(processes.get(i).waitFor()).as(Files.readString(dir.resolve("process-" + i + ".log"))).isZero();
        }
        CacheFiles parallel = local("parallel");
        CacheFiles inTurn = local("in-turn");
        build(spec, inTurn, -1, 4, CacheWriter.Listener.NONE);
        assertSameFiles(contents(parallel), contents(inTurn));
        CacheLayout.Manifest manifest = CacheManifests.complete(parallel).manifest().orElseThrow();
        // 13 passes over 4 indexes: [0,3), [3,6), [6,9), [9,13).
        assertThat(manifest.indexes()).extracting(CacheLayout.IndexManifest::firstPass).containsExactly(0L, 3L, 6L, 9L);
        assertThat(manifest.indexes()).extracting(CacheLayout.IndexManifest::rows).containsExactly(192L, 192L, 192L, 256L);
        assertSameFiles(Map.of("x", contents(once).get("index-00002-of-00004/shard-000000.safetensors")),
                Map.of("x", contents(inTurn).get("index-00002-of-00004/shard-000000.safetensors")));

        // The indexes' rows, in order, are one cache's rows.
        CacheFiles whole = local("whole");
        build(spec, whole, -1, 1, CacheWriter.Listener.NONE);
        assertThat(tokens(inTurn, 4)).containsExactly(tokens(whole, 1));
    }

    long[] tokens(CacheFiles files, int of) throws IOException {
        List<Long> out = new ArrayList<>();
        CacheLayout.Manifest manifest = CacheManifests.complete(files).manifest().orElseThrow();
        for (CacheLayout.IndexManifest index : manifest.indexes()) {
            for (CacheLayout.ShardRecord shard : index.shards()) {
                Arrays.stream(read(files, CacheLayout.indexDirectory(index.index(), of) + "/" + shard.file()).tokens()).forEach(out::add);
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    @Test
    void aWriterStoppedMidShardLeavesItIncompleteAndARerunCompletesItWithTheSameBytes() throws Exception {
        TrainingRunSpec spec = spec("unused");
        CacheFiles clean = local("clean");
        build(spec, clean, -1, 1, CacheWriter.Listener.NONE);

        CacheFiles stopped = local("stopped");
        CacheWriter.Listener dies = new CacheWriter.Listener() {
            @Override
            public void progress(CacheWriter.Progress progress) {
                if (progress.rows() > 250) {
                    throw new IllegalStateException("killed");
                }
            }
        };
        assertThatThrownBy(() -> build(spec, stopped, -1, 1, dies)).hasMessage("killed");
        // Two shards complete; the third is what a killed upload leaves: bytes without a record.
        Files.writeString(dir.resolve("stopped/index-00000-of-00001/shard-000002.safetensors"), "partial");
        assertThat(stopped.list("").keySet()).contains("index-00000-of-00001/shard-000001.json")
                .doesNotContain("index-00000-of-00001/shard-000002.json", "index-00000-of-00001/manifest.json");
        assertThat(CacheManifests.complete(stopped).missing()).containsExactly(
                "index 0 of 1 is not complete (no index-00000-of-00001/manifest.json)",
                "the held-out rows are not complete (no held_out/manifest.json; index 0 writes them)");

        List<Long> resumedFrom = new ArrayList<>();
        build(spec, stopped, -1, 1, new CacheWriter.Listener() {
            @Override
            public void started(CacheWriter.Part part) {
                resumedFrom.add(part.resumedRows());
            }
        });
        assertThat(resumedFrom).containsExactly(200L, 0L);
        assertSameFiles(contents(stopped), contents(clean));

        // A shard whose bytes no longer match its record is rewritten, with those after it.
        Files.write(dir.resolve("stopped/index-00000-of-00001/shard-000001.safetensors"), new byte[]{1, 2, 3});
        Files.delete(dir.resolve("stopped/index-00000-of-00001/manifest.json"));
        Files.delete(dir.resolve("stopped/manifest.json"));
        build(spec, stopped, 0, 1, CacheWriter.Listener.NONE);
        assertSameFiles(contents(stopped), contents(clean));
    }

    @Test
    void aLocationHoldingAnotherCacheIsRefusedNamingTheDifferences() throws Exception {
        String location = dir.resolve("cache").toString();
        build(spec(location), local("cache"), 0, 2, CacheWriter.Listener.NONE);
        assertThatThrownBy(() -> build(spec(location, ", dtype: bfloat16"), local("cache"), 1, 2, CacheWriter.Listener.NONE))
                .isInstanceOf(CacheMismatchException.class)
                .hasMessageContaining("cache.json differs: dtype: cache has float32, the spec has bfloat16")
                .hasMessageContaining("saeforge cache rm " + location);
        assertThatThrownBy(() -> build(spec(location), local("cache"), 1, 3, CacheWriter.Listener.NONE))
                .isInstanceOf(CacheMismatchException.class)
                .hasMessageContaining("of (indexes): cache has 2, the spec has 3");
    }

    @Test
    void bfloat16RowsAreTheFloatRowsRoundedToNearestEven() throws Exception {
        build(spec("unused"), local("f32"), 0, 4, CacheWriter.Listener.NONE);
        build(spec("unused", ", dtype: bfloat16"), local("bf16"), 0, 4, CacheWriter.Listener.NONE);
        Rows f32 = read(local("f32"), "index-00000-of-00004/shard-000000.safetensors");
        Rows bf16 = read(local("bf16"), "index-00000-of-00004/shard-000000.safetensors");
        assertThat(bf16.dtype()).isEqualTo(Safetensors.Dtype.BF16);
        assertThat(bf16.tokens()).containsExactly(f32.tokens());
        for (int i = 0; i < f32.values().length; i++) {
            int bits = Float.floatToRawIntBits(f32.values()[i]);
            int rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000;
            assertThat(bf16.values()[i]).isEqualTo(Float.intBitsToFloat(rounded));
        }
        assertThat(CacheManifests.info(local("bf16")).orElseThrow().dtype()).isEqualTo("bfloat16");
    }

    @Test
    void aCacheInS3IsTheSameFilesAsOnDisk() throws Exception {
        String location = "s3://" + S3.bucket() + "/caches/tiny";
        CacheFiles s3 = CacheFiles.open(location, S3.env());
        build(spec(location), s3, 1, 2, CacheWriter.Listener.NONE);
        assertThat(CacheManifests.complete(s3).complete()).isFalse();
        build(spec(location), s3, 0, 2, CacheWriter.Listener.NONE);
        assertThat(CacheManifests.complete(s3).complete()).isTrue();

        CacheFiles disk = local("disk");
        build(spec(location), disk, -1, 2, CacheWriter.Listener.NONE);
        assertSameFiles(contents(s3), contents(disk));
        assertThat(s3.deleteCache()).isEqualTo(contents(disk).size());
        assertThat(s3.list("")).isEmpty();
    }
}
