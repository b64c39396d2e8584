package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.tensor.Precision;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.Qwen3Model;
import dev.saeforge.lm.SpecialTokens;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.lm.Tokenizer;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.HubServer;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A tiny Qwen3's activations over a corpus the test writes: the windows are SAELens' packing of the
 * data after the held-out documents, the rows are the model's activations of them, and a source
 * put back at a saved position serves exactly the batches it would have served.
 */
class LanguageModelActivationsTest {
    static final ThreadSettings THREADS = new ThreadSettings(2, 1, 1);
    static final int CONTEXT = 16;
    static final int PROMPTS = 4;

    @TempDir
    Path dir;
    NDManager manager;
    Path corpus;
    List<String> documents;

    @BeforeEach
    void write() throws IOException {
        manager = Torch.engine().newBaseManager(Device.cpu());
        TinyQwen3.write(dir.resolve("model"), TinyQwen3.Options.defaults());
        documents = DatasetFixtures.documents("the model reads", 150);
        corpus = DatasetFixtures.jsonl(dir.resolve("corpus.jsonl"), documents);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    TrainingRunSpec spec(String hook, double mixing, String more) throws Exception {
        return spec(dir, corpus, hook, mixing, 2, more);
    }

    /** A run of the tiny model in {@code dir}/model over {@code corpus}; {@code more} adds dataset fields. */
    static TrainingRunSpec spec(Path dir, Path corpus, String hook, double mixing, int evalBatches, String more) throws Exception {
        String yaml = """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: lm}
                spec:
                  model: {name: tiny, uri: MODEL, dtype: float32}
                  hook: HOOK
                  dataset: {uri: CORPUS, contextSize: CONTEXT, storeBatchSizePrompts: PROMPTS, mixingFraction: MIX BUFFER MORE}
                  sae: {expansionFactor: 2}
                  training: {tokens: 100000, batchSizeTokens: 64, evalBatches: EVAL, seed: 5}
                """.replace("MODEL", dir.resolve("model").toString()).replace("HOOK", hook).replace("CORPUS", corpus.toString())
                .replace("CONTEXT", String.valueOf(CONTEXT)).replace("PROMPTS", String.valueOf(PROMPTS)).replace("MIX", String.valueOf(mixing)).replace("EVAL", String.valueOf(evalBatches))
                .replace("BUFFER", more.contains("nBatchesInBuffer") ? "" : ", nBatchesInBuffer: 4").replace("MORE", more);
        return TrainingRuns.parse(yaml, "test").get(0).getSpec();
    }

    LanguageModelActivations open(TrainingRunSpec spec) throws IOException {
        return open(spec, List.of(HookPoint.parse(spec.hook)));
    }

    LanguageModelActivations open(TrainingRunSpec spec, List<HookPoint> hooks) throws IOException {
        return LanguageModelActivations.open(spec, hooks, Device.cpu(), new ModelSources(dir.resolve("cache"), null, Map.of()), THREADS);
    }

    /** SAELens' packing of {@code docs} done here, independently of the source: windows and where they ended. */
    record Packed(List<long[]> windows, Packer.State end) {
    }

    Packed pack(List<String> docs, int windows) throws IOException {
        try (Tokenizer tokenizer = Tokenizer.load(dir.resolve("model"))) {
            long bos = SpecialTokens.read(dir.resolve("model")).bosId();
            long[][] tokens = docs.stream().map(tokenizer::encode).toArray(long[][]::new);
            Packer packer = new Packer(new Packer.Rules(CONTEXT, bos, bos, false), new PackerTest.ListDocuments(tokens));
            List<long[]> out = new ArrayList<>();
            for (int i = 0; i < windows; i++) {
                out.add(packer.next());
            }
            return new Packed(out, packer.state());
        }
    }

    float[] activations(List<long[]> windows, String hook) throws IOException {
        try (Qwen3Model model = Qwen3Model.load(dir.resolve("model"), Device.cpu(), Precision.FLOAT32);
             NDScope scope = new NDScope()) {
            return model.activations(manager.create(windows.toArray(long[][]::new)), HookPoint.parse(hook)).toFloatArray();
        }
    }

    /** The rows of the source's first hook in {@code batches} batches. */
    static List<float[]> take(LanguageModelActivations source, NDManager manager, int batches) {
        return take(source, manager, batches, 0);
    }

    static List<float[]> take(LanguageModelActivations source, NDManager manager, int batches, int hook) {
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            try (NDScope scope = new NDScope()) {
                out.add(source.next(manager, 64).get(hook).toFloatArray());
            }
        }
        return out;
    }

    @Test
    void theFirstDocumentsAreHeldOutAndTrainingReadsTheModelsActivationsOfTheWindowsAfterThem() throws Exception {
        String hook = "blocks.1.hook_mlp_out";
        int heldOut = 2 * PROMPTS;
        Packed evaluation = pack(documents, heldOut);
        // Training starts at the first document the evaluation windows did not touch.
        int firstTrainingDocument = (int) evaluation.end().document().row() + (evaluation.end().offset() > 0 ? 1 : 0);
        Packed training = pack(documents.subList(firstTrainingDocument, documents.size()), 2 * 64 / CONTEXT);

        try (LanguageModelActivations source = open(spec(hook, 0, ""))) {
            List<long[]> served = source.data().heldOutBatches().stream().flatMap(b -> java.util.Arrays.stream(b)).toList();
            assertThat(served).usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(evaluation.windows());

            // Without mixing, rows come in window order: two batches of 64 rows are the first 8 training windows.
            List<float[]> batches = take(source, manager, 2);
            float[] expected = activations(training.windows(), hook);
            assertThat(concat(batches)).containsExactly(expected);
            assertThat(source.dIn(hook)).isEqualTo(64);
        }
    }

    @Test
    void aSourcePutBackAtASavedPositionServesExactlyWhatItWouldHaveServed() throws Exception {
        TrainingRunSpec spec = spec("blocks.0.hook_resid_post", 0.5, "");
        List<float[]> straight;
        try (LanguageModelActivations source = open(spec)) {
            straight = take(source, manager, 14);
        }
        // Buffer of 256 rows, batches of 64: a refill serves 2 batches. Stop before the first, inside and at the end of refills.
        for (int stop : new int[]{0, 1, 2, 5, 8}) {
            Map<String, Object> position;
            Map<String, float[]> arrays = new LinkedHashMap<>();
            Map<String, Shape> shapes = new LinkedHashMap<>();
            try (LanguageModelActivations first = open(spec)) {
                assertThat(take(first, manager, stop)).usingElementComparator(java.util.Arrays::compare)
                        .containsExactlyElementsOf(straight.subList(0, stop));
                position = first.position();
                first.positionArrays().forEach((name, array) -> {
                    arrays.put(name, array.toFloatArray());
                    shapes.put(name, array.getShape());
                });
            }
            try (LanguageModelActivations resumed = open(spec); NDManager saved = manager.newSubManager()) {
                Map<String, NDArray> restored = new LinkedHashMap<>();
                for (Map.Entry<String, float[]> array : arrays.entrySet()) {
                    restored.put(array.getKey(), saved.create(array.getValue(), shapes.get(array.getKey())));
                }
                if (stop == 5) {
                    // Saved in parts, as a buffer too large for one checkpoint tensor is.
                    NDArray whole = restored.get("blocks.0.hook_resid_post.buffer.0");
                    restored = LanguageModelActivations.parts("blocks.0.hook_resid_post.buffer.", whole, 1000);
                    assertThat(restored).hasSize((int) ((whole.getShape().get(0) + 14) / 15));
                }
                resumed.seek(position, restored);
                assertThat(take(resumed, manager, 14 - stop)).as("resumed after " + stop + " batches")
                        .usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(straight.subList(stop, 14));
            }
        }
    }

    @Test
    void aStreamOfSeveralHooksServesEachHookWhatAStreamOfThatHookAloneServes() throws Exception {
        TrainingRunSpec spec = spec("blocks.0.hook_resid_post", 0.5, "");
        List<HookPoint> hooks = List.of(HookPoint.parse("blocks.1.hook_mlp_out"), HookPoint.parse("blocks.0.hook_resid_post"),
                HookPoint.parse("blocks.1.mlp.hook_post"));
        for (int h = 0; h < hooks.size(); h++) {
            List<float[]> alone;
            try (LanguageModelActivations source = open(spec, List.of(hooks.get(h)))) {
                alone = take(source, manager, 6);
            }
            try (LanguageModelActivations together = open(spec, hooks)) {
                assertThat(together.hooks()).containsExactly("blocks.1.hook_mlp_out", "blocks.0.hook_resid_post", "blocks.1.mlp.hook_post");
                assertThat(take(together, manager, 6, h)).as("%s served beside the others", hooks.get(h))
                        .usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(alone);
            }
        }
    }

    @Test
    void aStreamOfSeveralHooksResumesEveryHookExactly() throws Exception {
        TrainingRunSpec spec = spec("blocks.0.hook_resid_post", 0.5, "");
        List<HookPoint> hooks = List.of(HookPoint.parse("blocks.0.hook_resid_post"), HookPoint.parse("blocks.1.mlp.hook_post"));
        List<float[]> straight;
        try (LanguageModelActivations source = open(spec, hooks)) {
            straight = take(source, manager, 7, 1);
        }
        Map<String, Object> position;
        Map<String, NDArray> saved = new LinkedHashMap<>();
        try (LanguageModelActivations first = open(spec, hooks)) {
            take(first, manager, 3);
            position = first.position();
            first.positionArrays().forEach((name, array) -> saved.put(name, manager.create(array.toFloatArray(), array.getShape())));
        }
        assertThat(saved).containsOnlyKeys("blocks.0.hook_resid_post.buffer.0", "blocks.1.mlp.hook_post.buffer.0");
        try (LanguageModelActivations resumed = open(spec, hooks)) {
            resumed.seek(position, saved);
            assertThat(take(resumed, manager, 4, 1)).usingElementComparator(java.util.Arrays::compare)
                    .containsExactlyElementsOf(straight.subList(3, 7));
        }
    }

    @Test
    void theProducerRunsAtMostTwoRefillsAhead() throws Exception {
        try (LanguageModelActivations source = open(spec("blocks.0.hook_resid_post", 0.5, ""))) {
            take(source, manager, 1);
            Thread.sleep(1500);
            assertThat(source.refillsHeld()).as("refills alive: the one being served and two ahead").isLessThanOrEqualTo(3);
            assertThat(source.queued()).as("batches waiting").isLessThanOrEqualTo(1 + 2 + 2);
        }
    }

    @Test
    void aMalformedRowInTheTrainingDataStopsTrainingWithItsFileAndRow() throws Exception {
        List<String> lines = new ArrayList<>();
        for (String doc : documents) {
            lines.add(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(Map.of("text", doc)));
        }
        lines.set(30, "{\"text\": \"broken");
        corpus = DatasetFixtures.lines(dir.resolve("broken.jsonl"), lines);
        try (LanguageModelActivations source = open(spec("blocks.0.hook_resid_post", 0.5, ""))) {
            assertThatThrownBy(() -> take(source, manager, 40))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(corpus + " row 31 is not valid JSON");
        }
        try (LanguageModelActivations source = open(spec("blocks.0.hook_resid_post", 0.5, ", malformedRows: skip"))) {
            assertThat(take(source, manager, 40)).hasSize(40);
        }
    }

    @Test
    void checkpointMetadataRecordsTheBosTransformerLensUsesForQwen3() throws Exception {
        try (LanguageModelActivations source = open(spec("blocks.1.mlp.hook_post", 0.5, ""));
             Tokenizer tokenizer = Tokenizer.load(dir.resolve("model"))) {
            long imEnd = tokenizer.encode("<|im_end|>")[0];
            assertThat(source.metadata()).containsEntry("bos_token", "<|im_end|>").containsEntry("bos_token_id", imEnd)
                    .containsEntry("sequence_separator_token_id", imEnd)
                    .containsEntry("bos_token_choice", "the tokenizer has no bos_token, so, as TransformerLens does, the eos_token "
                            + "<|im_end|> (" + imEnd + ") serves as BOS");
            assertThat(source.dIn("blocks.1.mlp.hook_post")).as("mlp.hook_post is intermediate_size wide").isEqualTo(128);
            assertThat(source.describe()).contains("BOS <|im_end|> (" + imEnd + ")", "256-row mixing buffer");
        }
        try (LanguageModelActivations source = open(spec("blocks.1.hook_mlp_out", 0.5, ", prependBos: false, sequenceSeparator: eos"))) {
            assertThat(source.metadata()).containsEntry("bos_token_id", null);
        }
    }

    @Test
    void theHeldOutSourceServesTheActivationsOfTheEvaluationWindows() throws Exception {
        try (LanguageModelActivations source = open(spec("blocks.1.hook_mlp_out", 0.5, ""));
             ActivationSource heldOut = source.heldOut()) {
            float[] rows = concat(List.of(heldOut.next(manager, 48).get(0).toFloatArray(), heldOut.next(manager, 16).get(0).toFloatArray()));
            assertThat(rows).containsExactly(activations(java.util.Arrays.asList(source.data().heldOutBatches().get(0)), "blocks.1.hook_mlp_out"));
        }
    }

    @Test
    void anEvalDatasetGivesTheEvaluationWindowsAndTrainingHoldsNothingOut() throws Exception {
        String hook = "blocks.1.hook_mlp_out";
        List<String> evalDocuments = DatasetFixtures.documents("kept apart for evaluation", 40);
        Path evalCorpus = DatasetFixtures.jsonl(dir.resolve("eval.jsonl"), evalDocuments);
        Packed evaluation = pack(evalDocuments, 2 * PROMPTS);
        Packed training = pack(documents, 2 * 64 / CONTEXT);

        try (LanguageModelActivations source = open(spec(hook, 0, ", eval: {uri: " + evalCorpus + "}"))) {
            List<long[]> served = source.data().heldOutBatches().stream().flatMap(b -> java.util.Arrays.stream(b)).toList();
            assertThat(served).usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(evaluation.windows());
            // Training starts at the first training document: nothing of it is held out.
            assertThat(concat(take(source, manager, 2))).containsExactly(activations(training.windows(), hook));

            int rowsRead = (int) evaluation.end().document().row() + (evaluation.end().offset() > 0 ? 1 : 0);
            assertThat(source.describe()).contains("8 evaluation windows from the first " + rowsRead + " rows of " + evalCorpus);
            assertThat(source.metadata()).containsEntry("eval_windows", 8).containsEntry("eval_dataset_path", evalCorpus.toString())
                    .containsEntry("eval_dataset_split", "train");
            InputFiles inputs = InputFiles.parse(source.inputs().orElseThrow().toJson(), "inputs.json");
            assertThat(inputs.files()).extracting(InputFiles.File::name).containsExactly(corpus.toString());
            assertThat(inputs.eval().dataset()).isEqualTo(evalCorpus.toString());
            assertThat(inputs.eval().files()).extracting(InputFiles.File::name, InputFiles.File::bytes)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(evalCorpus.toString(), java.nio.file.Files.size(evalCorpus)));
        }
    }

    @Test
    void evalRowsReadsOnlyTheFirstRowsOfTheEvalDatasetAndEvaluatesTheWindowsTheyFill() throws Exception {
        List<String> evalDocuments = DatasetFixtures.documents("kept apart for evaluation", 40);
        Path evalCorpus = DatasetFixtures.jsonl(dir.resolve("eval.jsonl"), evalDocuments);
        Path firstOne = DatasetFixtures.jsonl(dir.resolve("first-one.jsonl"), evalDocuments.subList(0, 1));
        List<long[]> bounded;
        try (LanguageModelActivations source = open(spec("blocks.1.hook_mlp_out", 0, ", eval: {uri: " + evalCorpus + ", rows: 1}"))) {
            bounded = source.data().heldOutBatches().stream().flatMap(b -> java.util.Arrays.stream(b)).toList();
            assertThat(source.describe()).contains(bounded.size() + " evaluation windows from the first 1 row (spec.dataset.eval.rows) of "
                    + evalCorpus);
        }
        try (LanguageModelActivations source = open(spec("blocks.1.hook_mlp_out", 0, ", eval: {uri: " + firstOne + "}"))) {
            List<long[]> whole = source.data().heldOutBatches().stream().flatMap(b -> java.util.Arrays.stream(b)).toList();
            assertThat(bounded).as("the windows of a dataset of that row alone, its partial last window dropped")
                    .usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(whole);
            assertThat(source.describe()).contains(whole.size() + " evaluation windows from the first 1 row (all of it) of " + firstOne);
        }
        assertThat(bounded).hasSizeBetween(1, 2 * PROMPTS - 1)
                .usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(pack(evalDocuments, bounded.size()).windows());
    }

    @Test
    void anEvalDatasetThatIsMissingRefusesOrFillsNoWindowIsRefusedNamingIt() throws Exception {
        Path missing = dir.resolve("missing.jsonl");
        assertThatThrownBy(() -> open(spec("blocks.1.hook_mlp_out", 0, ", eval: {uri: " + missing + "}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("spec.dataset.eval.uri: dataset location " + missing + " does not exist");
        Path tiny = DatasetFixtures.jsonl(dir.resolve("tiny.jsonl"), List.of("hi"));
        assertThatThrownBy(() -> open(spec("blocks.1.hook_mlp_out", 0, ", eval: {uri: " + tiny + "}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("spec.dataset.eval: the first 1 row (all of it) of " + tiny + " fill no window of 16 tokens; expected "
                        + "evaluation text of at least one window");
        Path hubFiles = java.nio.file.Files.createDirectories(dir.resolve("hub"));
        DatasetFixtures.parquet(hubFiles.resolve("data/train-00000-of-00001.parquet"), "text", documents);
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, "tiny-org/stories", hubFiles, null)) {
            ModelSources sources = new ModelSources(dir.resolve("cache"), new HfHub(hub.endpoint(), null), Map.of());
            for (String[] refused : new String[][]{
                    {", eval: {uri: hf://datasets/tiny-org/absent}", "spec.dataset.eval.uri: cannot read hf://datasets/tiny-org/absent: "},
                    {", eval: {uri: hf://datasets/tiny-org/stories, split: validation}", "spec.dataset.eval.uri: "
                            + "hf://datasets/tiny-org/stories: config \"default\" has no files of split \"validation\"; without data_files in"
                            + " the dataset card (README.md) a split is the files or folders named validation, valid, val, dev"}}) {
                TrainingRunSpec spec = spec("blocks.1.hook_mlp_out", 0, refused[0]);
                assertThatThrownBy(() -> LanguageModelActivations.open(spec, List.of(HookPoint.parse(spec.hook)), Device.cpu(), sources, THREADS))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(refused[1]);
            }
        }
    }

    @Test
    void theEvalSplitRecordedIsTheOneTheUriNames() throws Exception {
        Path hubFiles = java.nio.file.Files.createDirectories(dir.resolve("hub-with-validation"));
        DatasetFixtures.parquet(hubFiles.resolve("data/train-00000-of-00001.parquet"), "text", documents);
        DatasetFixtures.parquet(hubFiles.resolve("data/validation-00000-of-00001.parquet"), "text",
                DatasetFixtures.documents("kept apart for evaluation", 40));
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, "tiny-org/split-stories", hubFiles, null)) {
            ModelSources sources = new ModelSources(dir.resolve("cache-splits"), new HfHub(hub.endpoint(), null), Map.of());
            TrainingRunSpec spec = spec("blocks.1.hook_mlp_out", 0, ", eval: {uri: \"hf://datasets/tiny-org/split-stories:default/validation\"}");
            try (LanguageModelActivations source = LanguageModelActivations.open(spec, List.of(HookPoint.parse(spec.hook)), Device.cpu(),
                    sources, THREADS)) {
                assertThat(source.metadata()).containsEntry("eval_dataset_split", "validation");
                assertThat(source.inputs().orElseThrow().eval().files()).extracting(InputFiles.File::name)
                        .allMatch(name -> name.endsWith("data/validation-00000-of-00001.parquet"));
            }
        }
    }

    @Test
    void aHookBufferOrWindowThatCannotWorkIsRefused() throws Exception {
        assertThatThrownBy(() -> open(spec("blocks.2.hook_mlp_out", 0.5, "")))
                .hasMessageContaining("hook blocks.2.hook_mlp_out needs layer 2, but ").hasMessageContaining("has 2 layers");
        assertThatThrownBy(() -> open(spec("blocks.0.hook_mlp_out", 0.5, ", nBatchesInBuffer: 1")))
                .hasMessageStartingWith("the mixing buffer holds 64 rows");
        TrainingRunSpec tooLong = spec("blocks.0.hook_mlp_out", 0.5, "");
        tooLong.dataset.contextSize = 40_000;
        assertThatThrownBy(() -> open(tooLong))
                .hasMessage("spec.dataset.contextSize is 40000, longer than the 32768 positions " + dir.resolve("model") + " was trained for");
    }

    /** The rows of {@code windows}' activations ([windows * CONTEXT, width] as floats) at positions {@code from} on whose token is not in {@code dropped}. */
    static float[] keptRows(float[] rows, List<long[]> windows, int from, java.util.Set<Long> dropped, int width) {
        List<float[]> kept = new ArrayList<>();
        for (int w = 0; w < windows.size(); w++) {
            for (int p = from; p < CONTEXT; p++) {
                if (!dropped.contains(windows.get(w)[p])) {
                    int row = w * CONTEXT + p;
                    kept.add(java.util.Arrays.copyOfRange(rows, row * width, (row + 1) * width));
                }
            }
        }
        return concat(kept);
    }

    java.util.Set<Long> specialIds() throws IOException {
        Map<String, Long> vocabulary = SpecialTokens.vocabulary(dir.resolve("model"));
        return java.util.Set.of(vocabulary.get("<|im_end|>"), vocabulary.get("<|endoftext|>"));
    }

    @Test
    void excludedPositionsNeverReachTheBufferInTrainingOrEvaluation() throws Exception {
        String hook = "blocks.1.hook_mlp_out";
        Packed evaluation = pack(documents, 2 * PROMPTS);
        int firstTrainingDocument = (int) evaluation.end().document().row() + (evaluation.end().offset() > 0 ? 1 : 0);
        Packed training = pack(documents.subList(firstTrainingDocument, documents.size()), 4 * PROMPTS);
        java.util.Set<Long> special = specialIds();   // the tiny model's eos <|im_end|> (its BOS too) and pad <|endoftext|>
        float[] expected = keptRows(activations(training.windows(), hook), training.windows(), 2, special, 64);
        long separators = training.windows().stream().flatMapToLong(java.util.Arrays::stream).filter(special::contains).count();
        assertThat(separators).as("the windows hold BOS and separators to drop").isGreaterThan(4 * PROMPTS);
        assertThat(expected.length / 64).as("enough kept rows for two batches").isGreaterThanOrEqualTo(128);

        // Without mixing the buffer serves rows in the order they entered it: exactly the kept ones.
        try (LanguageModelActivations source = open(spec(hook, 0, ", excludeSpecialTokens: true, seqposSlice: [2, null]"))) {
            assertThat(concat(take(source, manager, 2))).containsExactly(java.util.Arrays.copyOf(expected, 128 * 64));
            assertThat(source.describe()).contains("224-row mixing buffer");   // 4 batches of 4 windows of 14 kept positions
            assertThat(source.metadata()).containsEntry("exclude_special_tokens", true);

            float[] heldOut = keptRows(activations(evaluation.windows(), hook), evaluation.windows(), 2, special, 64);
            try (NDScope scope = new NDScope()) {
                assertThat(source.heldOut().next(manager, 64).get(0).toFloatArray()).containsExactly(java.util.Arrays.copyOf(heldOut, 64 * 64));
            }
        }
    }

    @Test
    void excludedTokensMayBeListedByIdOrByTokenString() throws Exception {
        String hook = "blocks.0.hook_mlp_out";
        long endOfText = SpecialTokens.vocabulary(dir.resolve("model")).get("<|endoftext|>");
        long imEnd = SpecialTokens.vocabulary(dir.resolve("model")).get("<|im_end|>");
        List<float[]> all;
        try (LanguageModelActivations source = open(spec(hook, 0, ", excludeSpecialTokens: true"))) {
            all = take(source, manager, 2);
        }
        try (LanguageModelActivations source = open(spec(hook, 0, ", excludeSpecialTokens: [\"<|im_end|>\", " + endOfText + "]"))) {
            assertThat(concat(take(source, manager, 2))).containsExactly(concat(all));
            // SAELens takes ids only: cfg.json records the strings as their ids.
            assertThat(source.metadata()).containsEntry("exclude_special_tokens", List.of(imEnd, endOfText));
        }
        assertThatThrownBy(() -> open(spec(hook, 0, ", excludeSpecialTokens: [1, \"<|nope|>\"]")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("spec.dataset.excludeSpecialTokens[1]: \"<|nope|>\" is not a token of ");
        assertThatThrownBy(() -> open(spec(hook, 0, ", excludeSpecialTokens: [100000]")))
                .hasMessageStartingWith("spec.dataset.excludeSpecialTokens[0]: 100000 is not a token id of ");
    }

    static float[] concat(List<float[]> parts) {
        int n = parts.stream().mapToInt(p -> p.length).sum();
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
