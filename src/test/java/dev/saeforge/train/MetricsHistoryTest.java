package dev.saeforge.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** metrics.jsonl as the trainer records it: lines its reader reads back, continued from a resumed checkpoint's or started afresh. */
class MetricsHistoryTest {
    @TempDir
    Path dir;

    static MetricsHistory.Entry entry(String kind, long step, double value) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("overall_loss", value);
        metrics.put("l0", 41.0);
        return new MetricsHistory.Entry("mlp28", kind, step, step * 4096, metrics);
    }

    @Test
    void aRecordedHistoryReadsBackEntryForEntryAsOneJsonObjectALine() throws Exception {
        List<MetricsHistory.Entry> entries = List.of(entry(MetricsHistory.TRAIN, 10, 1.2345678901234567), entry(MetricsHistory.EVAL, 20, 0.1));
        try (MetricsHistory.Recorder recorder = new MetricsHistory.Recorder("run")) {
            for (MetricsHistory.Entry e : entries) {
                recorder.append(e);
            }
            recorder.copyInto(dir);
        }

        assertThat(MetricsHistory.read(dir.resolve(MetricsHistory.FILE))).isEqualTo(entries);
        assertThat(Files.readAllLines(dir.resolve(MetricsHistory.FILE))).first().isEqualTo(
                "{\"sae\":\"mlp28\",\"kind\":\"train\",\"step\":10,\"tokens\":40960,\"metrics\":{\"overall_loss\":1.2345678901234567,\"l0\":41.0}}");
    }

    @Test
    void aResumedHistoryContinuesTheCheckpointsAndDropsWhatWasRecordedBefore() throws Exception {
        Path resumed = Files.createDirectories(dir.resolve("resumed"));
        Files.writeString(resumed.resolve(MetricsHistory.FILE), MetricsHistory.line(entry(MetricsHistory.TRAIN, 10, 1.0)) + "\n");
        Path older = Files.createDirectories(dir.resolve("older"));   // a checkpoint from before checkpoints kept a history
        try (MetricsHistory.Recorder recorder = new MetricsHistory.Recorder("run")) {
            recorder.append(entry(MetricsHistory.TRAIN, 5, 9.0));
            recorder.continueFrom(resumed.resolve(MetricsHistory.FILE));
            recorder.append(entry(MetricsHistory.TRAIN, 20, 0.5));
            recorder.copyInto(Files.createDirectories(dir.resolve("a")));
            recorder.continueFrom(older.resolve(MetricsHistory.FILE));
            recorder.copyInto(Files.createDirectories(dir.resolve("b")));
        }

        assertThat(MetricsHistory.read(dir.resolve("a").resolve(MetricsHistory.FILE))).extracting(MetricsHistory.Entry::step)
                .containsExactly(10L, 20L);
        assertThat(MetricsHistory.read(dir.resolve("b").resolve(MetricsHistory.FILE))).isEmpty();
    }

    @Test
    void closingDeletesTheLocalFile() throws Exception {
        String run = "closing-" + java.util.UUID.randomUUID();
        MetricsHistory.Recorder recorder = new MetricsHistory.Recorder(run);
        recorder.append(entry(MetricsHistory.TRAIN, 10, 1.0));
        recorder.close();

        try (var files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.startsWith("saeforge-" + run + "-metrics-"));
        }
    }
}
