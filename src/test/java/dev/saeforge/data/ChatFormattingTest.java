package dev.saeforge.data;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.lm.ChatTemplateTest;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.InvalidModelException;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.SpecialTokens;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.lm.Tokenizer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * spec.dataset.chatTemplate: conversations rendered by the model's chat template (Qwen3's real one,
 * given to the tiny model) are tokenized with their special tokens and packed as any text, as
 * SAELens' use_chat_formatting does; a model without a template and rows without messages are
 * refused by name.
 */
class ChatFormattingTest {
    static final int CONTEXT = 16;
    static final int PROMPTS = 4;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    Path model;
    Path corpus;

    @BeforeEach
    void write() throws IOException {
        model = dir.resolve("model");
        TinyQwen3.write(model, TinyQwen3.Options.defaults());
        ObjectNode config = (ObjectNode) JSON.readTree(Files.readString(model.resolve(SpecialTokens.TOKENIZER_CONFIG)));
        config.set("chat_template", JSON.readTree(ChatTemplateTest.qwen3TokenizerConfig()).get("chat_template"));
        Files.writeString(model.resolve(SpecialTokens.TOKENIZER_CONFIG), JSON.writeValueAsString(config));
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            rows.add(JSON.writeValueAsString(Map.of("id", i, "messages", conversation(i))));
        }
        corpus = DatasetFixtures.lines(dir.resolve("chats.jsonl"), rows);
    }

    static List<Map<String, String>> conversation(int i) {
        return List.of(
                Map.of("role", "user", "content", "what does feature " + i + " read?"),
                Map.of("role", "assistant", "content", "<think>\nlook at the text\n</think>\n\nthe word " + i));
    }

    /** The same conversations as the JSON Lines corpus, as a Hub chat dataset stores them; row {@code missing} null. */
    Path parquetCorpus(int missing) throws IOException {
        List<List<Map<String, String>>> conversations = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            conversations.add(i == missing ? null : conversation(i));
        }
        return DatasetFixtures.conversationsParquet(dir.resolve("chats-" + missing + ".parquet"), "messages", conversations);
    }

    /** What Qwen3's template makes of row i (ChatTemplateTest checks the template against jinja2). */
    static String rendered(int i) {
        return "<|im_start|>user\nwhat does feature " + i + " read?<|im_end|>\n"
                + "<|im_start|>assistant\n<think>\nlook at the text\n</think>\n\nthe word " + i + "<|im_end|>\n";
    }

    TrainingRunSpec spec(String modelDir, String data, String more) throws Exception {
        String yaml = """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: chat}
                spec:
                  model: {name: tiny-chat, uri: MODEL, dtype: float32}
                  hook: blocks.1.hook_mlp_out
                  dataset: {uri: DATA, contextSize: CONTEXT, storeBatchSizePrompts: PROMPTS, nBatchesInBuffer: 4, chatTemplate: true MORE}
                  sae: {expansionFactor: 2}
                  training: {tokens: 100000, batchSizeTokens: 64, evalBatches: 2, seed: 5}
                """.replace("MODEL", modelDir).replace("DATA", data).replace("CONTEXT", String.valueOf(CONTEXT))
                .replace("PROMPTS", String.valueOf(PROMPTS)).replace("MORE", more);
        return TrainingRuns.parse(yaml, "test").get(0).getSpec();
    }

    LanguageModelData open(TrainingRunSpec spec) throws IOException {
        return LanguageModelData.open(spec, List.of(HookPoint.parse(spec.hook)), Device.cpu(),
                new ModelSources(dir.resolve("cache"), null, Map.of()));
    }

    @Test
    void conversationsAreRenderedByTheTemplateTokenizedWithTheirSpecialTokensAndPacked() throws Exception {
        List<long[]> expected = new ArrayList<>();
        long imStart;
        try (Tokenizer tokenizer = Tokenizer.load(model)) {
            long[] special = tokenizer.encode("<|im_start|>");
            assertThat(special).as("<|im_start|> is one special token").hasSize(1);
            imStart = special[0];
            long bos = SpecialTokens.read(model).bosId();
            long[][] tokens = new long[40][];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = tokenizer.encode(rendered(i));
            }
            Packer packer = new Packer(new Packer.Rules(CONTEXT, bos, bos, false), new PackerTest.ListDocuments(tokens));
            for (int i = 0; i < 2 * PROMPTS; i++) {
                expected.add(packer.next());
            }
        }
        try (LanguageModelData data = open(spec(model.toString(), corpus.toString(), ""))) {
            List<long[]> served = data.heldOutBatches().stream().flatMap(Arrays::stream).toList();
            assertThat(served).usingElementComparator(Arrays::compare).containsExactlyElementsOf(expected);
            assertThat(served.stream().flatMapToLong(Arrays::stream).filter(id -> id == imStart).count()).isGreaterThan(1);
            try (TrainingWindows training = data.trainingWindows()) {
                long[][] batch = training.next();
                assertThat(Arrays.stream(batch).flatMapToLong(Arrays::stream).anyMatch(id -> id == imStart)).isTrue();
            }
        }
    }

    @Test
    void aModelWithoutAChatTemplateIsRefusedBeforeTraining() throws Exception {
        Path base = dir.resolve("base");
        TinyQwen3.write(base, TinyQwen3.Options.defaults());
        assertThatThrownBy(() -> open(spec(base.toString(), corpus.toString(), "")))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("model " + base)
                .hasMessageContaining("has no chat_template in " + base.resolve(SpecialTokens.TOKENIZER_CONFIG));
    }

    @Test
    void aRowWithoutAMessagesListFollowsMalformedRows() throws Exception {
        List<String> rows = new ArrayList<>(Files.readAllLines(corpus));
        rows.set(1, "{\"id\": 1, \"messages\": \"not a conversation\"}");
        assertRow2FollowsMalformedRows(DatasetFixtures.lines(dir.resolve("broken.jsonl"), rows),
                "has \"messages\" as a JSON string, not a list of {role, content} messages");
    }

    /** Row 2 of {@code broken} stops the run, named with its problem, unless malformedRows is skip. */
    void assertRow2FollowsMalformedRows(Path broken, String problem) throws Exception {
        assertThatThrownBy(() -> open(spec(model.toString(), broken.toString(), "")).close())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(broken + " row 2 " + problem);
        try (LanguageModelData data = open(spec(model.toString(), broken.toString(), ", malformedRows: skip"))) {
            assertThat(data.heldOutBatches()).hasSize(2);
        }
    }

    @Test
    void parquetConversationsGiveTheWindowsOfTheSameConversationsInJsonLines() throws Exception {
        Path parquet = parquetCorpus(-1);
        try (LanguageModelData fromJsonl = open(spec(model.toString(), corpus.toString(), ""));
             LanguageModelData fromParquet = open(spec(model.toString(), parquet.toString(), ""));
             TrainingWindows jsonlTraining = fromJsonl.trainingWindows();
             TrainingWindows parquetTraining = fromParquet.trainingWindows()) {
            assertThat(fromParquet.heldOutBatches().stream().flatMap(Arrays::stream).toList()).usingElementComparator(Arrays::compare)
                    .containsExactlyElementsOf(fromJsonl.heldOutBatches().stream().flatMap(Arrays::stream).toList());
            for (int batch = 0; batch < 3; batch++) {
                assertThat(parquetTraining.next()).isDeepEqualTo(jsonlTraining.next());
            }
        }
    }

    @Test
    void aParquetRowWithNullMessagesFollowsMalformedRows() throws Exception {
        assertRow2FollowsMalformedRows(parquetCorpus(1), "has a null \"messages\"");
    }

    @Test
    void aParquetColumnThatIsNotAListOfMessagesIsRefusedByName() throws Exception {
        Path parquet = DatasetFixtures.parquet(dir.resolve("texts.parquet"), "messages", List.of("a", "b"));
        assertThatThrownBy(() -> open(spec(model.toString(), parquet.toString(), "")))
                .hasMessageContaining(parquet + ": column \"messages\" is not a list of {role, content} messages");
    }

    @Test
    void conversationsAreNotReadFromPlainText() throws Exception {
        Path text = DatasetFixtures.lines(dir.resolve("chats.txt"), List.of("a", "b"));
        assertThatThrownBy(() -> open(spec(model.toString(), text.toString(), "")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("spec.dataset.chatTemplate reads conversations from JSON Lines or Parquet files, but " + text + " is text");
    }
}
