package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.DatasetSpec;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.Qwen3Config;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.saeforge.data.LanguageModelActivationsTest.take;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Pre-tokenized datasets, as SAELens reads them (each row one window, its first context_size ids)
 * and as saeforge pretokenize writes them (the text packed exactly as training packs it): training
 * on the one gives the activations training on the other gives.
 */
class PretokenizedDatasetTest {
    static final int CONTEXT = LanguageModelActivationsTest.CONTEXT;
    static final int PROMPTS = LanguageModelActivationsTest.PROMPTS;
    static final String HOOK = "blocks.1.hook_mlp_out";

    @TempDir
    Path dir;
    NDManager manager;
    Path model;
    Path text;
    int vocab;

    @BeforeEach
    void write() throws IOException {
        manager = Torch.engine().newBaseManager(Device.cpu());
        model = dir.resolve("model");
        TinyQwen3.write(model, TinyQwen3.Options.defaults());
        vocab = Qwen3Config.read(model).vocabSize();
        text = DatasetFixtures.jsonl(dir.resolve("corpus.jsonl"), DatasetFixtures.documents("the model reads", 150));
    }

    @AfterEach
    void close() {
        manager.close();
    }

    ModelSources sources() {
        return new ModelSources(dir.resolve("cache"), null, Map.of());
    }

    TrainingRunSpec spec(Path data, int evalBatches, String more) throws Exception {
        return LanguageModelActivationsTest.spec(dir, data, HOOK, 0.5, evalBatches, more);
    }

    LanguageModelActivations open(TrainingRunSpec spec) throws IOException {
        return LanguageModelActivations.open(spec, List.of(HookPoint.parse(spec.hook)), Device.cpu(), sources(),
                LanguageModelActivationsTest.THREADS);
    }

    DatasetSpec textDataset() {
        DatasetSpec dataset = new DatasetSpec();
        dataset.uri = text.toString();
        dataset.contextSize = CONTEXT;
        return dataset;
    }

    Path pretokenize(String name) throws IOException {
        Path out = dir.resolve(name);
        Pretokenization.write(textDataset(), model.toString(), 5, sources(), out, (windows, tokens) -> { });
        return out;
    }

    /** Every window of one pass over the text, packed as training packs it. */
    List<long[]> windowsOfOnePass() throws IOException {
        try (dev.saeforge.lm.Tokenizer tokenizer = dev.saeforge.lm.Tokenizer.load(model);
             TextStream stream = DatasetFixtures.stream(DatasetFixtures.local(text), DatasetSpec.MalformedRows.FAIL, 5)) {
            Packer packer = new Packer(LanguageModelData.textPacking(textDataset(), dev.saeforge.lm.SpecialTokens.read(model)),
                    new TokenizedText(stream, tokenizer));
            List<long[]> windows = new ArrayList<>();
            while (true) {
                long[] window = packer.next();
                if (packer.state().document().epoch() > 0) {
                    return windows;
                }
                windows.add(window);
            }
        }
    }

    static List<long[]> rows(Path file, String column) {
        try (TextStream stream = new TextStream(DatasetFixtures.local(file), DatasetSpec.Format.AUTO, RowReader.Column.tokens(column),
                DatasetSpec.MalformedRows.FAIL, new DatasetSpec().maxRecordBytes, 0, TextStream.RowFilter.ALL, "the test data")) {
            List<long[]> rows = new ArrayList<>();
            while (true) {
                long[] row = stream.nextTokens();
                if (stream.position().epoch() > 0) {
                    return rows;
                }
                rows.add(row);
            }
        }
    }

    static List<long[]> windowsOfZeros(int count) {
        List<long[]> rows = new ArrayList<>();
        for (int row = 0; row < count; row++) {
            rows.add(new long[CONTEXT]);
        }
        return rows;
    }

    /** Rows {"tokens": [...]} of JSON Lines. */
    Path jsonl(String name, List<long[]> rows) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (long[] row : rows) {
            lines.add(json.writeValueAsString(Map.of("tokens", row)));
        }
        return DatasetFixtures.lines(dir.resolve(name), lines);
    }

    /**
     * The number of evaluation batches whose windows end exactly where a document ends. There the
     * text held out for evaluation and the rows held out are the same tokens, so training reads
     * the same windows from either (elsewhere the text holds out the rest of the document the
     * last evaluation window cut, which the rows cannot tell apart).
     */
    int evalBatchesEndingAtADocument() throws IOException {
        try (dev.saeforge.lm.Tokenizer tokenizer = dev.saeforge.lm.Tokenizer.load(model);
             TextStream stream = DatasetFixtures.stream(DatasetFixtures.local(text), DatasetSpec.MalformedRows.FAIL, 5)) {
            Packer packer = new Packer(LanguageModelData.textPacking(textDataset(), dev.saeforge.lm.SpecialTokens.read(model)),
                    new TokenizedText(stream, tokenizer));
            for (int batches = 1; batches <= 40; batches++) {
                for (int i = 0; i < PROMPTS; i++) {
                    packer.next();
                }
                if (packer.state().offset() == 0) {
                    return batches;
                }
            }
        }
        throw new AssertionError("no evaluation size ends at a document; the test needs another corpus");
    }

    @Test
    void preTokenizedAndRawTextGiveTheSameActivations() throws Exception {
        Path parquet = pretokenize("corpus.parquet");
        int evalBatches = evalBatchesEndingAtADocument();

        List<float[]> fromText;
        List<long[]> heldOutText;
        try (LanguageModelActivations source = open(spec(text, evalBatches, ""))) {
            heldOutText = source.data().heldOutBatches().stream().flatMap(Arrays::stream).toList();
            fromText = take(source, manager, 12);
        }
        try (LanguageModelActivations source = open(spec(parquet, evalBatches, ", tokenized: true"))) {
            assertThat(source.data().heldOutBatches().stream().flatMap(Arrays::stream).toList())
                    .usingElementComparator(Arrays::compare).containsExactlyElementsOf(heldOutText);
            assertThat(take(source, manager, 12)).usingElementComparator(Arrays::compare).containsExactlyElementsOf(fromText);
        }
    }

    @Test
    void pretokenizeWritesEveryWindowOfOnePassAsAnInt32ListColumnNamedInputIds() throws Exception {
        Path parquet = pretokenize("corpus.parquet");
        List<long[]> expected = windowsOfOnePass();

        assertThat(rows(parquet, null)).usingElementComparator(Arrays::compare).containsExactlyElementsOf(expected);
        // Read by another Parquet implementation, as pyarrow and HF datasets would read it.
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:"); Statement s = db.createStatement()) {
            try (ResultSet schema = s.executeQuery("DESCRIBE SELECT * FROM '" + parquet + "'")) {
                assertThat(schema.next()).isTrue();
                assertThat(schema.getString("column_name")).isEqualTo("input_ids");
                assertThat(schema.getString("column_type")).isEqualTo("INTEGER[]");
                assertThat(schema.next()).as("one column").isFalse();
            }
            List<long[]> read = new ArrayList<>();
            try (ResultSet rows = s.executeQuery("SELECT input_ids FROM '" + parquet + "'")) {
                while (rows.next()) {
                    Object[] ids = (Object[]) rows.getArray(1).getArray();
                    read.add(Arrays.stream(ids).mapToLong(id -> ((Number) id).longValue()).toArray());
                }
            }
            assertThat(read).usingElementComparator(Arrays::compare).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void jsonLinesOfTokenArraysAreReadAsParquetIs() throws Exception {
        Path parquet = pretokenize("corpus.parquet");
        Path jsonl = jsonl("tokens.jsonl", rows(parquet, "input_ids"));

        List<float[]> fromParquet;
        try (LanguageModelActivations source = open(spec(parquet, 2, ", tokenized: true"))) {
            fromParquet = take(source, manager, 6);
        }
        try (LanguageModelActivations source = open(spec(jsonl, 2, ", tokenized: true"))) {
            assertThat(take(source, manager, 6)).usingElementComparator(Arrays::compare).containsExactlyElementsOf(fromParquet);
        }
    }

    @Test
    void eachRowIsOneWindowOfItsFirstContextSizeIds() throws Exception {
        List<long[]> rows = new ArrayList<>();
        for (int row = 0; row < 40; row++) {
            long[] ids = new long[CONTEXT + row % 3];
            Arrays.fill(ids, row + 1);
            rows.add(ids);
        }
        Path jsonl = jsonl("long.jsonl", rows);

        try (LanguageModelActivations source = open(spec(jsonl, 2, ", tokenized: true"))) {
            List<long[]> heldOut = source.data().heldOutBatches().stream().flatMap(Arrays::stream).toList();
            assertThat(heldOut).hasSize(2 * PROMPTS);
            for (int i = 0; i < heldOut.size(); i++) {
                assertThat(heldOut.get(i)).as("window %d", i).containsExactly(Arrays.copyOf(rows.get(i), CONTEXT));
            }
        }
    }

    @Test
    void aRowShorterThanAWindowIsRefusedWithItsFileRowAndLengths() throws Exception {
        List<long[]> rows = windowsOfZeros(40);
        rows.set(30, new long[CONTEXT - 3]);
        Path jsonl = jsonl("short.jsonl", rows);

        try (LanguageModelActivations source = open(spec(jsonl, 2, ", tokenized: true"))) {
            assertThatThrownBy(() -> take(source, manager, 20))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(jsonl + " row 31 holds 13 token ids, fewer than spec.dataset.contextSize 16");
        }
    }

    @Test
    void anIdOutsideTheModelsVocabularyIsRefusedWithItsRowBeforeTrainingWhereTheCheckedRowsReachIt() throws Exception {
        List<long[]> rows = windowsOfZeros(40);
        rows.get(2)[5] = vocab;
        Path early = jsonl("early.jsonl", rows);
        // Row 3 is among the evaluation's rows, read when the data is opened, before any training.
        assertThatThrownBy(() -> open(spec(early, 2, ", tokenized: true")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(early + " row 3 holds token id " + vocab + " at index 5, outside the model's " + vocab + "-id vocabulary (0 to "
                        + (vocab - 1) + "); the dataset was tokenized with another tokenizer");

        rows.get(2)[5] = 0;
        rows.get(25)[0] = -1;
        Path late = jsonl("late.jsonl", rows);
        try (LanguageModelActivations source = open(spec(late, 2, ", tokenized: true"))) {
            assertThatThrownBy(() -> take(source, manager, 20))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(late + " row 26 holds token id -1 at index 0, outside the model's");
        }
    }

    @Test
    void aFileWithoutATokenColumnIsRefusedNamingTheColumnsSaeLensLooksFor() throws Exception {
        assertThatThrownBy(() -> open(spec(text, 2, ", tokenized: true")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(text + " row 1 has no \"tokens\" or \"input_ids\" field (it has ")
                .hasMessageContaining("set spec.dataset.tokensField");
    }
}
