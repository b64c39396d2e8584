package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.Mappers;
import dev.saeforge.cache.CacheWriterTest;
import dev.saeforge.data.DatasetFixtures;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.store.Directories;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** saeforge cache build|ls|verify|rm on the tiny model, with a cache in a local directory. */
@QuarkusMainTest
class CacheCommandTest {
    static Path root;
    static Path model;
    static Path corpus;

    @BeforeAll
    static void writeModelAndCorpus() throws IOException {
        root = Files.createTempDirectory("cache-cli");
        model = root.resolve("model");
        TinyQwen3.write(model, TinyQwen3.Options.defaults());
        corpus = DatasetFixtures.jsonl(root.resolve("corpus.jsonl"), DatasetFixtures.documents("the cache holds", 120));
    }

    @AfterAll
    static void removeIt() throws IOException {
        Directories.deleteTree(root);
    }

    /** A run of the tiny model (13 passes of 64 rows, one held-out batch) whose cache is at {@code cache}; {@code more} adds fields. */
    static Path spec(String name, String cache, String more) throws IOException {
        return Files.writeString(root.resolve(name + ".yaml"), CacheWriterTest.specYaml(name, model, corpus,
                cache == null ? null : "uri: " + cache + ", rowsPerShard: 100 " + more));
    }

    @Test
    void buildListVerifyAndDeleteACache(QuarkusMainLauncher launcher) throws IOException {
        Path cache = root.resolve("whole");
        Path file = spec("whole", cache.toString(), "");
        Files.createDirectories(cache);
        Files.writeString(cache.resolve("notes.txt"), "not the cache's");

        LaunchResult build = launcher.launch("cache", "build", file.toString());
        assertThat(build.exitCode()).as(build.getErrorOutput()).isZero();
        assertThat(build.getOutput()).contains("cache " + cache + ": complete, 1 index, 832 training rows, 64 held-out rows");
        assertThat(build.getErrorOutput()).contains("saeforge: writing index 0 of 1: 13 passes, at most 832 tokens",
                "saeforge: index 0 of 1 complete: 832 tokens in 9 shards", "saeforge: held-out rows complete: 64 tokens in 1 shard");

        LaunchResult ls = launcher.launch("cache", "ls", cache.toString());
        assertThat(ls.exitCode()).as(ls.getErrorOutput()).isZero();
        assertThat(ls.getOutput()).contains("Cache:     " + cache + " (complete)", "Model:     " + model, "stored as float32",
                "blocks.1.hook_mlp_out (64)", "13 of 64 rows at most, over 1 index", "INDEX", "SHARDS", "ROWS", "BYTES", "COMPLETE");
        assertThat(ls.getOutput().lines().filter(l -> l.startsWith("0 ")).findFirst().orElseThrow()).contains("9", "832", "yes");
        assertThat(ls.getOutput().lines().filter(l -> l.startsWith("held_out ")).findFirst().orElseThrow()).contains("1", "64", "yes");

        LaunchResult json = launcher.launch("cache", "ls", cache.toString(), "-o", "json");
        assertThat(json.exitCode()).as(json.getErrorOutput()).isZero();
        JsonNode document = Mappers.json().readTree(json.getOutput());
        assertThat(document.path("complete").asBoolean()).isTrue();
        assertThat(document.path("info").path("passes").asLong()).isEqualTo(13);
        assertThat(document.path("indexes").get(0).path("rows").asLong()).isEqualTo(832);

        LaunchResult verify = launcher.launch("cache", "verify", cache.toString());
        assertThat(verify.exitCode()).as(verify.getErrorOutput()).isZero();
        assertThat(verify.getOutput()).contains("complete; 10 shards", "verified");

        Path shard = cache.resolve("index-00000-of-00001/shard-000003.safetensors");
        byte[] original = Files.readAllBytes(shard);
        byte[] changed = original.clone();
        changed[changed.length - 1] ^= 1;
        Files.write(shard, changed);
        LaunchResult corrupt = launcher.launch("cache", "verify", cache.toString());
        assertThat(corrupt.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(corrupt.getErrorOutput()).contains(cache + "/index-00000-of-00001/shard-000003.safetensors: missing, or its size or"
                + " sha256 differs from its record", "1 of 10 shards do not verify");
        Files.write(shard, original);

        LaunchResult rm = launcher.launch("cache", "rm", cache.toString());
        assertThat(rm.exitCode()).as(rm.getErrorOutput()).isZero();
        assertThat(rm.getOutput()).contains("deleted the cache at " + cache + " (24 files)");
        try (var left = Files.list(cache)) {
            assertThat(left.map(p -> p.getFileName().toString()).toList()).containsExactly("notes.txt");
        }
        LaunchResult again = launcher.launch("cache", "rm", cache.toString());
        assertThat(again.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(again.getErrorOutput()).contains(cache + " holds no activation cache (no cache.json); nothing deleted");
    }

    @Test
    void indexesBuiltOneByOneCompleteTheCacheWhenTheLastIsDone(QuarkusMainLauncher launcher) throws IOException {
        Path cache = root.resolve("split");
        Path file = spec("split", cache.toString(), "");

        LaunchResult second = launcher.launch("cache", "build", file.toString(), "--index", "1", "--of", "2");
        assertThat(second.exitCode()).as(second.getErrorOutput()).isZero();
        assertThat(second.getOutput()).contains("index 1 of 2 complete, 448 rows in 5 shards; the cache is not complete yet (2 parts missing)");
        LaunchResult partial = launcher.launch("cache", "verify", cache.toString());
        assertThat(partial.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(partial.getErrorOutput()).contains("index 0 of 2 is not complete (no index-00000-of-00002/manifest.json)");
        LaunchResult ls = launcher.launch("cache", "ls", cache.toString());
        assertThat(ls.getOutput()).contains("(not complete)");
        assertThat(ls.getOutput().lines().filter(l -> l.startsWith("0 ")).findFirst().orElseThrow()).contains("no");

        LaunchResult first = launcher.launch("cache", "build", file.toString(), "--index", "0", "--of", "2");
        assertThat(first.exitCode()).as(first.getErrorOutput()).isZero();
        assertThat(first.getOutput()).contains("index 0 of 2 complete, 384 rows in 4 shards; the cache is complete");
        assertThat(launcher.launch("cache", "verify", cache.toString()).exitCode()).isZero();

        LaunchResult other = launcher.launch("cache", "build", spec("other", cache.toString(), ", dtype: bfloat16").toString(),
                "--index", "0", "--of", "2");
        assertThat(other.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(other.getErrorOutput()).contains("holds another cache (cache.json differs: dtype: cache has float32, the spec has bfloat16)");
    }

    @Test
    void refusedInputExitsTwoNamingWhatIsWrong(QuarkusMainLauncher launcher) throws IOException {
        LaunchResult noCache = launcher.launch("cache", "build", spec("uncached", null, "").toString());
        assertThat(noCache.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(noCache.getErrorOutput()).contains("spec.activations.cache is not set");

        LaunchResult badIndex = launcher.launch("cache", "build", spec("bad-index", root.resolve("x").toString(), "").toString(),
                "--index", "2", "--of", "2");
        assertThat(badIndex.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(badIndex.getErrorOutput()).contains("--index 2 --of 2: expected");

        LaunchResult nothing = launcher.launch("cache", "ls", root.resolve("nowhere").toString());
        assertThat(nothing.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(nothing.getErrorOutput()).contains(root.resolve("nowhere") + " holds no activation cache (no cache.json)");
        assertThat(launcher.launch("cache", "verify", root.resolve("nowhere").toString()).exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(launcher.launch("cache").exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
    }
}
