package dev.saeforge.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.data.DatasetFixtures;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** `saeforge pretokenize` writes a dataset that `saeforge train` reads with spec.dataset.tokenized. */
@QuarkusMainTest
class PretokenizeCommandTest {
    @TempDir
    Path dir;

    Path run(Path data, String name) throws IOException {
        return Files.writeString(dir.resolve(name + ".yaml"), """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: NAME}
                spec:
                  model: {name: tiny, uri: MODEL, dtype: float32}
                  hook: blocks.1.hook_mlp_out
                  dataset: {uri: DATA, tokenized: true, contextSize: 32, storeBatchSizePrompts: 4, nBatchesInBuffer: 2}
                  sae: {expansionFactor: 2}
                  training: {tokens: 2048, batchSizeTokens: 128, evalBatches: 1}
                  checkpoints: {count: 1, uri: STORE}
                """.replace("NAME", name).replace("MODEL", dir.resolve("model").toString()).replace("DATA", data.toString())
                .replace("STORE", dir.resolve("runs").toString()));
    }

    @Test
    void theCommandWritesADatasetTheTrainerReads(QuarkusMainLauncher launcher) throws IOException {
        assertThat(launcher.launch("model", "init-tiny", dir.resolve("model").toString(), "--dtype", "f32").exitCode()).isZero();
        Path text = DatasetFixtures.jsonl(dir.resolve("text.jsonl"), DatasetFixtures.documents("pretokenized", 400));
        Path out = dir.resolve("tokens/train.parquet");

        LaunchResult written = launcher.launch("pretokenize", text.toString(), "-o", out.toString(), "--model",
                dir.resolve("model").toString(), "--context-size", "32");

        assertThat(written.exitCode()).as(written.getErrorOutput()).isZero();
        assertThat(written.getOutput()).as("one pass, no warning of a second").startsWith("wrote " + out + ": ").contains(" windows of 32 tokens (", "from 1 file of " + text);
        assertThat(out).exists();
        assertThat(out.resolveSibling("train.parquet.partial")).doesNotExist();

        LaunchResult trained = launcher.launch("train", run(out, "tokens").toString());
        assertThat(trained.exitCode()).as(trained.getErrorOutput()).isEqualTo(ExitCodes.OK);
        assertThat(dir.resolve("runs/tokens/final_2048")).isDirectory();
    }

    @Test
    void trainRefusesIdsTheModelsVocabularyLacksNamingTheRow(QuarkusMainLauncher launcher) throws IOException {
        assertThat(launcher.launch("model", "init-tiny", dir.resolve("model").toString(), "--dtype", "f32").exitCode()).isZero();
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (int row = 0; row < 50; row++) {
            long[] ids = new long[32];
            ids[7] = row == 1 ? 151643 : row;
            lines.add(json.writeValueAsString(Map.of("input_ids", ids)));
        }
        Path data = Files.write(dir.resolve("qwen-tokens.jsonl"), lines);

        LaunchResult trained = launcher.launch("train", run(data, "mismatch").toString());

        assertThat(trained.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(trained.getErrorOutput()).contains(data + " row 2 holds token id 151643 at index 7, outside the model's 300-id vocabulary");
        try (var written = Files.list(dir.resolve("runs/mismatch"))) {
            assertThat(written.filter(Files::isDirectory)).as("no checkpoint").isEmpty();
        }
    }

    @Test
    void badOptionsAreRefused(QuarkusMainLauncher launcher) {
        LaunchResult suffix = launcher.launch("pretokenize", "x.jsonl", "-o", dir.resolve("out.jsonl").toString(), "--model", "m");
        assertThat(suffix.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(suffix.getErrorOutput()).contains("expected a .parquet file name");

        LaunchResult separator = launcher.launch("pretokenize", "x.jsonl", "-o", dir.resolve("out.parquet").toString(), "--model", "m",
                "--sequence-separator", "sep");
        assertThat(separator.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(separator.getErrorOutput()).contains("--sequence-separator sep: expected one of bos, eos, none");
    }
}
