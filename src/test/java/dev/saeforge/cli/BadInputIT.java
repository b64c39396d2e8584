package dev.saeforge.cli;

import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.HubServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CLI tried as a new user would, with about fifty bad inputs: specs, models, checkpoints and
 * datasets, among them gzip bombs, 3 GiB sparse files, tampered and overflowing safetensors and
 * path-traversing names. Each goes through the real launcher, ./saeforge, in a process of its own,
 * and the CLI must do the same for every one: exit 1 or 2, never 0; print no Java stack trace and
 * no exception class name; name the field, file or value; stay under 1.5 GiB of resident memory.
 *
 * <p>{@link #refusedCleanly()} holds the inputs this harness was written with.
 * {@link #refusedCleanlyOnceOtherItemsLand()} holds inputs whose refusal belongs to other items of
 * issue 16 (3: transient faults and malformed addresses, 13: names that would leave the cache, 15: untrusted
 * safetensors). Set -Dbadinput.only=REGEX to run only the cases whose names match.
 */
class BadInputIT {
    /** Resident memory any refusal may take. */
    static final long MAX_RESIDENT_KIB = 3L << 19;
    /** Generous, for loaded CI machines: a refusal takes seconds, a hang or a bomb being read takes this. */
    static final long TIMEOUT_SECONDS = 180;
    static final long GIB3 = 3L << 30;
    static final String SPEC_HEADER = "apiVersion: saeforge.dev/v1alpha1\nkind: TrainingRun\nmetadata: {name: bad-input}\n";

    @TempDir
    static Path dir;
    static Path model;
    static Path runs;
    /** Hub servers that answer names which would leave the cache (item 13); closed after the cases. */
    static final List<HubServer> hubs = new ArrayList<>();

    record Case(String name, Set<Integer> exitCodes, List<String> mustContain, List<String> args, Path mustNotExist,
                Map<String, String> environment) {
        static Case of(String name, String mustContain, String... args) {
            return new Case(name, Set.of(1, 2), List.of(mustContain), List.of(args), null, Map.of());
        }

        Case exitCode(int only) {
            return new Case(name, Set.of(only), mustContain, args, mustNotExist, environment);
        }

        Case alsoContains(String... more) {
            List<String> all = new ArrayList<>(mustContain);
            all.addAll(List.of(more));
            return new Case(name, exitCodes, all, args, mustNotExist, environment);
        }

        Case leavesNothingAt(Path path) {
            return new Case(name, exitCodes, mustContain, args, path, environment);
        }

        Case withEnvironment(Map<String, String> variables) {
            return new Case(name, exitCodes, mustContain, args, mustNotExist, variables);
        }
    }

    record Result(int exitCode, String output, long peakResidentKib, double seconds) {
    }

    @BeforeAll
    static void fixtures() throws IOException {
        model = dir.resolve("model");
        TinyQwen3.write(model, TinyQwen3.Options.defaults());
        runs = dir.resolve("runs");
    }

    @AfterAll
    static void closeHubs() {
        hubs.forEach(HubServer::close);
    }

    @TestFactory
    Stream<DynamicTest> refusedCleanly() throws Exception {
        List<Case> cases = new ArrayList<>();
        cases.addAll(specs());
        cases.addAll(datasets());
        cases.addAll(models());
        cases.addAll(initTiny());
        return run(cases);
    }

    @TestFactory
    Stream<DynamicTest> refusedCleanlyOnceOtherItemsLand() throws Exception {
        return run(otherItems());
    }

    // ---------------------------------------------------------------------------------------------- specs

    static List<Case> specs() throws IOException {
        Path sparse = sparse(dir.resolve("huge.yaml"));
        Path latin1 = write("latin1.yaml", (SPEC_HEADER + "# caf\u00e9\nspec: {synthetic: {}, sae: {dSae: 8}}\n").getBytes(StandardCharsets.ISO_8859_1));
        byte[] noise = new byte[4096];
        new Random(7).nextBytes(noise);
        Path binary = write("noise.yaml", noise);
        Path comments = write("comments.yaml", (SPEC_HEADER + ("#" + "x".repeat(1023) + "\n").repeat(2048)).getBytes(StandardCharsets.UTF_8));
        StringBuilder laughs = new StringBuilder(SPEC_HEADER + "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (int i = 1; i < 10; i++) {
            laughs.append("a").append(i).append(": &a").append(i).append(" [")
                    .append(String.join(", ", java.util.Collections.nCopies(10, "*a" + (i - 1)))).append("]\n");
        }
        Path bomb = text("laughs.yaml", laughs + "spec: {synthetic: {}, sae: {dSae: 8}}\n");
        Path deep = text("deep.yaml", SPEC_HEADER + "spec: " + "[".repeat(100_000) + "\n");
        String toy = "spec:\n  synthetic: {features: 64, dIn: 32}\n  sae: {dSae: 128}\n  training: {tokens: 3072000, batchSizeTokens: 1024}\n";
        String lm = "spec:\n  model: {name: saeforge/tiny-qwen3, uri: tiny://qwen3}\n  hook: blocks.1.hook_mlp_out\n  sae: {dSae: 128}\n";
        List<Case> cases = new ArrayList<>(List.of(
                Case.of("spec of 3 GiB (sparse)", "is 3,221,225,472 bytes", "validate", sparse.toString()).alsoContains("huge.yaml"),
                Case.of("spec of 3 GiB, train", "is 3,221,225,472 bytes", "train", sparse.toString()),
                Case.of("spec in Latin-1", "latin1.yaml", "validate", latin1.toString()).alsoContains("is not UTF-8 text: line 4"),
                Case.of("spec of random bytes", "noise.yaml", "validate", binary.toString()),
                Case.of("spec of 2 MiB of comments", "at most 1,048,576 bytes", "validate", comments.toString()),
                Case.of("spec with a billion laughs", "laughs.yaml", "validate", bomb.toString()),
                Case.of("spec nested 100,000 deep", "deep.yaml", "validate", deep.toString()),
                Case.of("spec that does not exist", "absent.yaml", "validate", dir.resolve("absent.yaml").toString()),
                Case.of("spec that is a directory", "is a directory", "validate", dir.toString()),
                Case.of("checkpoints.count 2^31-1", "spec.checkpoints.count", "validate",
                        text("count.yaml", SPEC_HEADER + toy + "  checkpoints: {count: 2147483647}\n").toString()),
                Case.of("checkpoints.count past int", "spec.checkpoints.count", "validate",
                        text("count-long.yaml", SPEC_HEADER + toy + "  checkpoints: {count: 99999999999}\n").toString()),
                Case.of("checkpoints.count 2^31-1, train", "spec.checkpoints.count", "train", dir.resolve("count.yaml").toString()),
                Case.of("training.tokens past long", "spec.training.tokens", "validate",
                        text("tokens.yaml", SPEC_HEADER + toy.replace("3072000", "1e30")).toString()),
                Case.of("sae.dSae past int", "spec.sae.dSae", "validate", text("dsae.yaml", SPEC_HEADER + toy.replace("128", "3000000000")).toString()),
                Case.of("hook layer of 11 digits", "spec.hook", "validate",
                        text("hook.yaml", SPEC_HEADER + lm.replace("blocks.1.", "blocks.12345678901.") + "  dataset: {uri: tiny://corpus}\n").toString()),
                Case.of("mixing buffer past int", "spec.dataset.nBatchesInBuffer", "validate", text("buffer.yaml", SPEC_HEADER + lm
                        + "  dataset: {uri: tiny://corpus, contextSize: 1024, storeBatchSizePrompts: 1000, nBatchesInBuffer: 2000000000}\n").toString()),
                Case.of("forward pass past int", "spec.dataset.storeBatchSizePrompts", "validate", text("forward.yaml", SPEC_HEADER + lm
                        + "  dataset: {uri: tiny://corpus, contextSize: 131072, storeBatchSizePrompts: 100000}\n").toString()),
                Case.of("maxRecordBytes past int", "spec.dataset.maxRecordBytes", "validate",
                        text("record.yaml", SPEC_HEADER + lm + "  dataset: {uri: tiny://corpus, maxRecordBytes: 4294967296}\n").toString())));
        // Every file of invalid-specs in one call: each names its problems.
        try (Stream<Path> files = Files.list(Path.of("src/test/resources/invalid-specs"))) {
            List<Path> invalid = files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
            List<String> expected = new ArrayList<>();
            for (Path file : invalid) {
                Files.readAllLines(file).stream().filter(line -> line.startsWith("# expect: "))
                        .forEach(line -> expected.add(file + ": " + line.substring("# expect: ".length())));
            }
            List<String> args = new ArrayList<>(List.of("validate"));
            invalid.forEach(file -> args.add(file.toString()));
            cases.add(new Case("the " + invalid.size() + " invalid-specs files", Set.of(2), expected, args, null, Map.of()));
        }
        return cases;
    }

    // ---------------------------------------------------------------------------------------------- datasets

    static List<Case> datasets() throws IOException {
        Path gzipBomb = gzipBomb(dir.resolve("data/bomb.jsonl.gz"), "{\"text\": \"", 1200L << 20, "\"}\n");
        Path textBomb = gzipBomb(dir.resolve("data/bomb.txt.gz"), "", 1200L << 20, "\n");
        Path sparse = sparse(dir.resolve("data/zeros.jsonl"));
        Path latin1 = write("data/latin1.jsonl", "{\"text\": \"caf\u00e9\"}\n".getBytes(StandardCharsets.ISO_8859_1));
        Path notGzip = text("data/plain.jsonl.gz", "{\"text\": \"not compressed\"}\n");
        Path noField = text("data/body.jsonl", "{\"body\": \"no text field\"}\n");
        byte[] noise = new byte[8192];
        new Random(3).nextBytes(noise);
        Path parquet = write("data/noise.parquet", noise);
        Path long2k = text("data/long.jsonl", "{\"text\": \"" + "b".repeat(2048) + "\"}\n");
        assertThat(Files.size(gzipBomb)).as("a small file").isLessThan(4L << 20);
        return List.of(
                train("dataset: gzip bomb, one 1.2 GB line", gzipBomb, "", "bomb.jsonl.gz row 1 is longer than 67,108,864 bytes"),
                train("dataset: text gzip bomb", textBomb, "", "bomb.txt.gz row 1 is longer than 67,108,864 bytes"),
                train("dataset: 3 GiB sparse file", sparse, "", "zeros.jsonl row 1 is longer than"),
                train("dataset: Latin-1 line", latin1, "", "latin1.jsonl row 1 is not valid UTF-8"),
                train("dataset: .gz that is not gzip", notGzip, "", "plain.jsonl.gz"),
                train("dataset: no text field", noField, "", "has no \"text\" field"),
                train("dataset: parquet of random bytes", parquet, "", "noise.parquet"),
                train("dataset: line over a small maxRecordBytes", long2k, ", maxRecordBytes: 1024", "long.jsonl row 1 is longer than 1,024 bytes"),
                train("dataset: does not exist", dir.resolve("data/absent.jsonl"), "", "absent.jsonl"));
    }

    private static Case train(String name, Path data, String datasetFields, String mustContain) throws IOException {
        String file = name.replaceAll("[^a-z0-9]+", "-") + ".yaml";
        Path spec = text(file, SPEC_HEADER + "spec:\n"
                + "  model: {name: saeforge/tiny-qwen3, uri: " + model + ", dtype: float32}\n"
                + "  hook: blocks.1.hook_mlp_out\n"
                + "  dataset: {uri: " + data + ", contextSize: 64, storeBatchSizePrompts: 4, nBatchesInBuffer: 4" + datasetFields + "}\n"
                + "  sae: {architecture: jumprelu, expansionFactor: 2}\n"
                + "  training: {tokens: 4096, batchSizeTokens: 256}\n"
                + "  checkpoints: {uri: " + runs + "}\n"
                + "  resources: {gpus: 0, cpu: \"2\", memory: 4Gi, sharedMemory: 1Gi}\n");
        return Case.of(name, mustContain, "train", spec.toString());
    }

    // ---------------------------------------------------------------------------------------------- models

    static List<Case> models() throws IOException {
        String config = Files.readString(model.resolve("config.json"));
        Path layers = modelWith("layers", "config.json", config.replaceAll("\"num_hidden_layers\" : \\d+", "\"num_hidden_layers\" : 2000000000"));
        Path hidden = modelWith("hidden", "config.json", config.replaceAll("\"hidden_size\" : \\d+", "\"hidden_size\" : 3000000000"));
        Path hugeConfig = modelWith("huge-config", "config.json", null);
        sparse(hugeConfig.resolve("config.json"));
        Path latin1 = modelWith("latin1", "config.json", null);
        Files.write(latin1.resolve("config.json"), config.replace("\"qwen3\"", "\"qwen3\u00e9\"").getBytes(StandardCharsets.ISO_8859_1));
        Path hugeTokenizer = modelWith("huge-tokenizer", "tokenizer.json", null);
        sparse(hugeTokenizer.resolve("tokenizer.json"));
        Path traversal = modelWith("traversal", "model.safetensors.index.json",
                "{\"metadata\": {}, \"weight_map\": {\"model.embed_tokens.weight\": \"../../outside.safetensors\"}}");
        Path headerLength = modelWith("header-length", "model.safetensors", null);
        overwrite(headerLength.resolve("model.safetensors"), 0, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 62).array());
        Path truncated = modelWith("truncated", "model.safetensors", null);
        try (RandomAccessFile file = new RandomAccessFile(truncated.resolve("model.safetensors").toFile(), "rw")) {
            file.setLength(file.length() / 2);
        }
        Path zeros = modelWith("zeros", "model.safetensors", null);
        sparse(zeros.resolve("model.safetensors"));
        Path sparseText = sparse(dir.resolve("text-huge.txt"));
        Path latin1Text = write("text-latin1.txt", "caf\u00e9".getBytes(StandardCharsets.ISO_8859_1));
        return List.of(
                activations("model: num_hidden_layers 2e9", layers, "num_hidden_layers"),
                activations("model: hidden_size past int", hidden, "hidden_size"),
                activations("model: config.json of 3 GiB", hugeConfig, "config.json is 3,221,225,472 bytes"),
                activations("model: config.json in Latin-1", latin1, "config.json is not UTF-8 text"),
                activations("model: tokenizer.json of 3 GiB", hugeTokenizer, "tokenizer.json is 3,221,225,472 bytes"),
                activations("model: shard index pointing outside", traversal, "model.safetensors.index.json"),
                activations("model: safetensors header length 2^62", headerLength, "model.safetensors"),
                activations("model: safetensors cut in half", truncated, "model.safetensors"),
                activations("model: safetensors of 3 GiB of zeros", zeros, "model.safetensors"),
                activations("model: directory that does not exist", dir.resolve("no-model"), "no-model"),
                Case.of("model: hook beyond its layers", "blocks.99", "activations", "--model", model.toString(),
                        "--hook", "blocks.99.hook_mlp_out", "--text", "hi", "-o", dir.resolve("a.safetensors").toString()),
                Case.of("model: hook layer of 11 digits", "12345678901", "activations", "--model", model.toString(),
                        "--hook", "blocks.12345678901.hook_mlp_out", "--text", "hi", "-o", dir.resolve("a.safetensors").toString()),
                Case.of("activations: --file of 3 GiB", "--file", "activations", "--model", model.toString(),
                        "--hook", "blocks.1.hook_mlp_out", "--file", sparseText.toString(), "-o", dir.resolve("a.safetensors").toString())
                        .alsoContains("3,221,225,472 bytes"),
                Case.of("activations: --file in Latin-1", "text-latin1.txt is not UTF-8", "activations", "--model", model.toString(),
                        "--hook", "blocks.1.hook_mlp_out", "--file", latin1Text.toString(), "-o", dir.resolve("a.safetensors").toString()),
                Case.of("activations: --context-size 0", "--context-size", "activations", "--model", model.toString(),
                        "--hook", "blocks.1.hook_mlp_out", "--text", "hi", "--context-size", "0", "-o", dir.resolve("a.safetensors").toString()));
    }

    private static Case activations(String name, Path modelDir, String mustContain) {
        return Case.of(name, mustContain, "activations", "--model", modelDir.toString(), "--hook", "blocks.1.hook_mlp_out",
                "--text", "hello", "-o", dir.resolve("out-" + modelDir.getFileName() + ".safetensors").toString());
    }

    /** A copy of the tiny model with {@code file} replaced by {@code content} (left as it is when null). */
    private static Path modelWith(String name, String file, String content) throws IOException {
        Path copy = dir.resolve("models/" + name);
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.list(model)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        if (content != null) {
            Files.writeString(copy.resolve(file), content);
        }
        return copy;
    }

    // ---------------------------------------------------------------------------------------------- init-tiny

    static List<Case> initTiny() throws IOException {
        Path full = dir.resolve("full");
        Files.createDirectories(full);
        Files.writeString(full.resolve("keep.txt"), "mine");
        Path huge = dir.resolve("tiny/huge/model");
        Path deep = dir.resolve("tiny/deep");
        Path big = dir.resolve("tiny/big");
        return List.of(
                Case.of("init-tiny --hidden 100000 --vocab 100000", "cannot be written", "model", "init-tiny", huge.toString(),
                        "--hidden", "100000", "--vocab", "100000").exitCode(2).leavesNothingAt(dir.resolve("tiny/huge")),
                Case.of("init-tiny --layers 2e9", "num_hidden_layers", "model", "init-tiny", deep.toString(), "--layers", "2000000000")
                        .exitCode(2).leavesNothingAt(deep),
                Case.of("init-tiny of 500 GiB", "of Java heap is free", "model", "init-tiny", big.toString(), "--hidden", "30000",
                        "--intermediate", "30000", "--layers", "100").exitCode(2).leavesNothingAt(big),
                Case.of("init-tiny into a full directory", "not an empty directory", "model", "init-tiny", full.toString()).exitCode(2),
                Case.of("init-tiny --vocab past int", "--vocab", "model", "init-tiny", dir.resolve("tiny/v").toString(), "--vocab", "3000000000")
                        .exitCode(2));
    }

    // ---------------------------------------------------------------------------------------------- other items

    /** Inputs refused by items 3 and 15 of issue 16, fixed elsewhere; grouped so that they can be checked after the merge. */
    static List<Case> otherItems() throws IOException {
        String config = Files.readString(model.resolve("config.json"));
        Path overflow = modelWith("shape-overflow", "config.json", config);
        tamperHeader(overflow.resolve("model.safetensors"), "\"shape\":\\[[0-9, ]+\\]", "\"shape\":[4294967296,4294967296]", 1);
        Path wrapping = modelWith("offsets-wrap", "config.json", config);
        tamperHeader(wrapping.resolve("model.safetensors"), "\"data_offsets\":\\[[0-9]+,", "\"data_offsets\":[18446744073709551615,", 1);
        Path overlapping = modelWith("offsets-overlap", "config.json", config);
        tamperHeader(overlapping.resolve("model.safetensors"), "\"data_offsets\":\\[[0-9]+,", "\"data_offsets\":[0,", 2);
        Map<String, String> unreachable = Map.of("AWS_ENDPOINT_URL", "http://127.0.0.1:1", "AWS_ACCESS_KEY_ID", "x", "AWS_SECRET_ACCESS_KEY", "y",
                "AWS_REGION", "us-east-1");
        return List.of(
                // item 15
                activations("item 15: safetensors shape whose element count overflows", overflow, "model.safetensors"),
                activations("item 15: safetensors offsets that wrap", wrapping, "model.safetensors"),
                activations("item 15: safetensors tensors that overlap", overlapping, "model.safetensors"),
                // item 3
                Case.of("item 3: checkpoints list on an unreachable endpoint", "127.0.0.1:1", "checkpoints", "list", "--store",
                        "s3://bucket/prefix", "run").exitCode(1).withEnvironment(unreachable),
                Case.of("item 3: checkpoints list on a malformed bucket", "Bad_Bucket", "checkpoints", "list", "--store", "s3://Bad_Bucket/x", "run")
                        .exitCode(2),
                // item 13
                hubModelAnsweringCommit("item 13: a hub commit that would leave the cache", "../../../escaped"),
                hubDatasetListing("item 13: a hub file name that would leave the cache", "data/../../../../../../escaped-train.jsonl"));
    }

    /** activations on the tiny model as hub repository org/tiny, whose server answers {@code commit} for its revision. */
    private static Case hubModelAnsweringCommit(String name, String commit) throws IOException {
        HubServer hub = new HubServer("org/tiny", model, null);
        hubs.add(hub);
        hub.answerCommit(commit);
        return Case.of(name, commit, "activations", "--model", "hf://org/tiny", "--hook", "blocks.1.hook_mlp_out", "--text", "hello",
                        "-o", dir.resolve("out-hub.safetensors").toString())
                .alsoContains("expected 40 hexadecimal digits").exitCode(2)
                .withEnvironment(Map.of("HF_ENDPOINT", hub.endpoint().toString(), "SAEFORGE_CACHE", dir.resolve("cache").toString()));
    }

    /** train on hub dataset org/text, whose listing also names {@code fileName}. */
    private static Case hubDatasetListing(String name, String fileName) throws IOException {
        Path repo = Files.createDirectories(dir.resolve("hub-dataset/data"));
        Files.writeString(repo.resolve("train.jsonl"), "{\"text\": \"hello world\"}\n");
        HubServer hub = new HubServer(HfHub.RepoType.DATASET, "org/text", repo.getParent(), null);
        hubs.add(hub);
        hub.listAlso(fileName, 10);
        Path spec = text("hub-dataset.yaml", SPEC_HEADER + "spec:\n  model: {name: saeforge/tiny-qwen3, uri: tiny://qwen3}\n"
                + "  hook: blocks.1.hook_mlp_out\n  dataset: {uri: hf://datasets/org/text}\n  sae: {dSae: 128}\n"
                + "  checkpoints: {uri: " + runs + "}\n");
        return Case.of(name, fileName, "train", spec.toString()).alsoContains("is refused").exitCode(2)
                .withEnvironment(Map.of("HF_ENDPOINT", hub.endpoint().toString(), "SAEFORGE_CACHE", dir.resolve("cache").toString()));
    }

    // ---------------------------------------------------------------------------------------------- running

    private Stream<DynamicTest> run(List<Case> all) throws Exception {
        String only = System.getProperty("badinput.only");
        List<Case> cases = all.stream().filter(c -> only == null || c.name().matches("(?s).*(" + only + ").*")).toList();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
        List<Future<Result>> results = new ArrayList<>();
        for (Case c : cases) {
            results.add(pool.submit(() -> launch(c)));
        }
        pool.shutdown();
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            Future<Result> future = results.get(i);
            tests.add(DynamicTest.dynamicTest(c.name(), () -> check(c, future.get())));
        }
        return tests.stream();
    }

    private static void check(Case c, Result result) {
        String about = c.name() + " (saeforge " + String.join(" ", c.args()) + ", " + String.format("%.1f s", result.seconds()) + "):\n"
                + result.output();
        assertThat(result.exitCode()).as(about).isIn(c.exitCodes());
        assertThat(result.output()).as(about).doesNotContain("\tat ", "Exception", "java.lang.", "Error:");
        for (String expected : c.mustContain()) {
            assertThat(result.output()).as(about).contains(expected);
        }
        if (result.peakResidentKib() > 0) {
            assertThat(result.peakResidentKib()).as("peak resident KiB of " + about).isLessThan(MAX_RESIDENT_KIB);
        }
        if (c.mustNotExist() != null) {
            assertThat(c.mustNotExist()).as("nothing half-written after " + about).doesNotExist();
        }
    }

    /** ./saeforge with the case's arguments, under GNU time for the peak resident memory where it is installed. */
    private static Result launch(Case c) throws IOException, InterruptedException {
        Path work = Files.createTempDirectory(dir, "case");
        Path output = work.resolve("output.txt");
        Path rss = work.resolve("rss.txt");
        List<String> command = new ArrayList<>();
        boolean timed = Files.isExecutable(Path.of("/usr/bin/time"));
        if (timed) {
            command.addAll(List.of("/usr/bin/time", "-f", "%M", "-o", rss.toString()));
        }
        command.add("./saeforge");
        command.addAll(c.args());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
        builder.environment().put("SAEFORGE_CACHE", dir.resolve("cache").toString());
        builder.environment().putAll(c.environment());
        long start = System.nanoTime();
        Process process = builder.start();
        long peak = 0;
        boolean done = false;
        while (!done) {
            done = process.waitFor(200, TimeUnit.MILLISECONDS);
            if (!timed) {
                peak = Math.max(peak, residentHighWater(process.pid()));
            }
            if (!done && System.nanoTime() - start > TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor();
                return new Result(-1, "timed out after " + TIMEOUT_SECONDS + " s\n" + Files.readString(output), peak, TIMEOUT_SECONDS);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        String text = Files.readString(output);
        if (timed) {
            List<String> lines = Files.readAllLines(rss);
            peak = Long.parseLong(lines.get(lines.size() - 1).strip());
            // GNU time adds "Command exited with non-zero status N" to its -o file, not to the output.
        }
        return new Result(process.exitValue(), text, peak, seconds);
    }

    /** VmHWM of a running process in KiB; 0 once it is gone. */
    private static long residentHighWater(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException gone) {
            // the process ended between polls
        }
        return 0;
    }

    // ---------------------------------------------------------------------------------------------- files

    private static Path text(String name, String content) throws IOException {
        return write(name, content.getBytes(StandardCharsets.UTF_8));
    }

    private static Path write(String name, byte[] content) throws IOException {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        return Files.write(file, content);
    }

    /** A file of 3 GiB that takes no disk: a hole of zeros, replacing whatever the file held. */
    private static Path sparse(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(0);
            f.setLength(GIB3);
        }
        return file;
    }

    /**
     * {@code head}, {@code length} bytes of 'a' and {@code tail}, as gzip members written one after
     * another (gunzip reads them as one stream): one compressed MiB of 'a', repeated, so that a
     * 1.2 GB line is a 1 MB file written in no time and never held.
     */
    private static Path gzipBomb(Path file, String head, long length, String tail) throws IOException {
        Files.createDirectories(file.getParent());
        byte[] mib = gzip(new byte[1 << 20], 'a');
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(gzip(head.getBytes(StandardCharsets.US_ASCII), (byte) 0));
            for (long written = 0; written < length; written += 1 << 20) {
                out.write(mib);
            }
            out.write(gzip(tail.getBytes(StandardCharsets.US_ASCII), (byte) 0));
        }
        return file;
    }

    /** One gzip member of {@code content}, filled with {@code fill} first where it is non-zero. */
    private static byte[] gzip(byte[] content, int fill) throws IOException {
        if (fill != 0) {
            Arrays.fill(content, (byte) fill);
        }
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bytes) {
            {
                def.setLevel(Deflater.BEST_COMPRESSION);
            }
        }) {
            out.write(content);
        }
        return bytes.toByteArray();
    }

    private static void overwrite(Path file, long offset, byte[] bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            f.write(bytes);
        }
    }

    /**
     * Rewrites the {@code nth} match of {@code regex} in a safetensors header (the JSON after the
     * 8-byte length), padding with spaces so that the header keeps its length.
     */
    private static void tamperHeader(Path file, String regex, String replacement, int nth) throws IOException {
        byte[] all = Files.readAllBytes(file);
        int length = (int) ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(all, 8, length, StandardCharsets.UTF_8);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(regex).matcher(header);
        for (int i = 0; i < nth; i++) {
            assertThat(m.find()).as(regex + " in " + header).isTrue();
        }
        String changed = header.substring(0, m.start()) + replacement + header.substring(m.end());
        byte[] bytes = changed.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + bytes.length).order(ByteOrder.LITTLE_ENDIAN).putLong(bytes.length).put(bytes);
        byte[] rest = Arrays.copyOfRange(all, 8 + length, all.length);
        try (OutputStream o = Files.newOutputStream(file)) {
            o.write(out.array());
            o.write(rest);
        }
    }
}
