package dev.saeforge.data;

import dev.saeforge.api.DatasetSpec;
import dev.saeforge.store.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static dev.saeforge.data.DatasetFixtures.documents;
import static dev.saeforge.data.DatasetFixtures.jsonl;
import static dev.saeforge.data.DatasetFixtures.lines;
import static dev.saeforge.data.DatasetFixtures.local;
import static dev.saeforge.data.DatasetFixtures.parquet;
import static dev.saeforge.data.DatasetFixtures.read;
import static dev.saeforge.data.DatasetFixtures.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Documents from files the tests write: every format, malformed rows, positions, pass order, the end of the data. */
class TextStreamTest {
    static final DatasetSpec.MalformedRows FAIL = DatasetSpec.MalformedRows.FAIL;
    static final DatasetSpec.MalformedRows SKIP = DatasetSpec.MalformedRows.SKIP;

    @TempDir
    Path dir;

    @Test
    void jsonlGzipZstdTextAndParquetGiveTheSameDocuments() throws IOException {
        List<String> docs = documents("a", 23);
        for (Path file : List.of(jsonl(dir.resolve("d.jsonl"), docs), jsonl(dir.resolve("d.jsonl.gz"), docs),
                jsonl(dir.resolve("d.jsonl.zst"), docs), lines(dir.resolve("d.txt"), docs), lines(dir.resolve("d.txt.zst"), docs),
                parquet(dir.resolve("d.parquet"), "text", docs))) {
            try (TextStream stream = stream(local(file), FAIL, 0)) {
                assertThat(read(stream, docs.size())).as(file.getFileName().toString()).isEqualTo(docs);
            }
        }
    }

    @Test
    void theTextColumnIsConfigurable() throws IOException {
        Path file = parquet(dir.resolve("d.parquet"), "content", documents("c", 5));
        try (TextStream stream = new TextStream(local(file), DatasetSpec.Format.AUTO, "content", FAIL, new DatasetSpec().maxRecordBytes, 0, TextStream.RowFilter.ALL, "t")) {
            assertThat(stream.next()).isEqualTo(documents("c", 5).get(0));
        }
    }

    @Test
    void blankLinesAreNoDocumentsButCountAsRows() throws IOException {
        Path file = lines(dir.resolve("d.jsonl"), List.of("{\"text\": \"one\"}", "", "   ", "{\"text\": \"two\"}"));
        try (TextStream stream = stream(local(file), FAIL, 0)) {
            assertThat(stream.next()).isEqualTo("one");
            assertThat(stream.next()).isEqualTo("two");
            assertThat(stream.position()).isEqualTo(new TextPosition(0, 0, 4));
        }
    }

    @Test
    void aMalformedRowStopsTheStreamNamingFileAndRow() throws IOException {
        Path bad = lines(dir.resolve("bad.jsonl"), List.of("{\"text\": \"fine\"}", "{\"text\": \"cut sho", "{\"text\": 3}",
                "{\"body\": \"x\", \"id\": 1}", "[1, 2]"));
        try (TextStream stream = stream(local(bad), FAIL, 0)) {
            assertThat(stream.next()).isEqualTo("fine");
            assertThatThrownBy(stream::next)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(bad + " row 2 is not valid JSON (")
                    .hasMessageEndingWith("(or set spec.dataset.malformedRows: skip to skip such rows)");
        }
        for (String[] line : new String[][]{
                {"{\"text\": 3}", " row 1 has \"text\" as a JSON number, not a string"},
                {"{\"body\": \"x\", \"id\": 1}", " row 1 has no \"text\" field (it has body, id); set spec.dataset.textField"},
                {"[1, 2]", " row 1 is a JSON array, not an object"},
                {"{\"text\": null}", " row 1 has \"text\" as a JSON null, not a string"}}) {
            Path file = lines(dir.resolve("one.jsonl"), List.of(line[0]));
            try (TextStream stream = stream(local(file), FAIL, 0)) {
                assertThatThrownBy(stream::next).hasMessageStartingWith(file + line[1]);
            }
        }
    }

    @Test
    void malformedRowsAreSkippedCountedAndWarnedAboutWhenConfigured() throws IOException {
        Path bad = lines(dir.resolve("bad.jsonl"), List.of("{\"text\": \"one\"}", "not json", "{\"text\": 3}", "{\"text\": \"two\"}"));
        try (LogCapture log = new LogCapture(TextStream.class); TextStream stream = stream(local(bad), SKIP, 0)) {
            assertThat(read(stream, 3)).containsExactly("one", "two", "one");
            assertThat(stream.skippedRows()).isEqualTo(2);
            assertThat(log.warnings()).contains("skipping malformed row (1 so far): " + bad + " row 2 is not valid JSON (Unrecognized token "
                    + "'not': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false'))");
        }
    }

    /**
     * A gzip bomb: a 300 KB .jsonl.gz holding one line of 300 MiB. It is refused once the line
     * passes the cap, naming the file and row, without the line ever being held (the cap here is
     * 1 MiB; before the cap, the whole line was built as a string first).
     */
    @Test
    void aLineLongerThanTheRecordCapIsRefusedNamingFileAndRowWithoutHoldingIt() throws IOException {
        Path bomb = oneHugeLine(dir.resolve("bomb.jsonl.gz"), 300L << 20);
        try (TextStream stream = stream(local(bomb), FAIL, 1 << 20, 0)) {
            assertThatThrownBy(stream::next)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(bomb + " row 1 is longer than 1,048,576 bytes (spec.dataset.maxRecordBytes); raise it if such records are"
                            + " meant to be read (or set spec.dataset.malformedRows: skip to skip such rows)");
        }
    }

    @Test
    void withSkipALineLongerThanTheCapIsPassedOverAndTheNextLineRead() throws IOException {
        Path bomb = oneHugeLine(dir.resolve("bomb.jsonl.gz"), 300L << 20);
        try (TextStream stream = stream(local(bomb), SKIP, 1 << 20, 0)) {
            assertThat(stream.next()).isEqualTo("after");
            assertThat(stream.skippedRows()).isEqualTo(1);
            assertThat(stream.position()).isEqualTo(new TextPosition(0, 0, 2));
        }
    }

    @Test
    void theCapCountsBytesOfTheLineExactly() throws IOException {
        String fits = "{\"text\": \"" + "é".repeat(10) + "\"}";
        int bytes = fits.getBytes(StandardCharsets.UTF_8).length;
        Path file = lines(dir.resolve("d.txt"), List.of(fits, fits + " "));
        try (TextStream stream = stream(local(file), FAIL, bytes, 0)) {
            assertThat(stream.next()).isEqualTo(fits);
            assertThatThrownBy(stream::next).hasMessageStartingWith(file + " row 2 is longer than " + bytes + " bytes");
        }
    }

    @Test
    void linesEndAtLineFeedCarriageReturnOrBothAsBufferedReaderSplitsThem() throws IOException {
        Path file = dir.resolve("d.txt");
        Files.write(file, "one\r\ntwo\rthree\n\nfour".getBytes(StandardCharsets.UTF_8));
        try (TextStream stream = stream(local(file), FAIL, 0)) {
            assertThat(read(stream, 4)).containsExactly("one", "two", "three", "four");
            assertThat(stream.position()).isEqualTo(new TextPosition(0, 0, 5));
        }
    }

    @Test
    void aLineThatIsNotUtf8IsAMalformedRowNamingFileAndRow() throws IOException {
        Path file = dir.resolve("latin1.jsonl");
        Files.write(file, "{\"text\": \"ok\"}\n{\"text\": \"caf\u00e9\"}\n".getBytes(StandardCharsets.ISO_8859_1));
        try (TextStream stream = stream(local(file), FAIL, 0)) {
            assertThat(stream.next()).isEqualTo("ok");
            assertThatThrownBy(stream::next).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(file + " row 2 is not valid UTF-8 text");
        }
    }

    /** {"text": "aaa…"} of {@code length} bytes on line 1, then {"text": "after"}, gzipped as it is written. */
    private static Path oneHugeLine(Path file, long length) throws IOException {
        byte[] chunk = "a".repeat(1 << 16).getBytes(StandardCharsets.US_ASCII);
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file), 1 << 16)) {
            out.write("{\"text\": \"".getBytes(StandardCharsets.US_ASCII));
            for (long written = 0; written < length; written += chunk.length) {
                out.write(chunk);
            }
            out.write("\"}\n{\"text\": \"after\"}\n".getBytes(StandardCharsets.US_ASCII));
        }
        return file;
    }

    @Test
    void aParquetFileWithoutTheTextColumnIsNamedWithItsColumns() throws IOException {
        Path file = parquet(dir.resolve("other.parquet"), "body", documents("b", 3));
        try (TextStream stream = stream(local(file), FAIL, 0)) {
            assertThatThrownBy(stream::next)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(file + " has no column \"text\" (it has body, id); set spec.dataset.textField "
                            + "(or set spec.dataset.malformedRows: skip to skip such files)");
        }
    }

    @Test
    void withSkipAFileWithoutTheTextColumnIsSkippedAndCounted() throws IOException {
        Path good = parquet(dir.resolve("a.parquet"), "text", documents("a", 3));
        Path other = parquet(dir.resolve("b.parquet"), "body", documents("b", 3));
        try (TextStream stream = stream(local(good, other), SKIP, 0)) {
            assertThat(read(stream, 6)).containsExactlyElementsOf(concat(documents("a", 3), documents("a", 3)));
            // Skipped each time a pass reached it before the sixth document.
            int documents = 0;
            int skips = 0;
            for (int pass = 0; documents < 6; pass++) {
                for (String name : stream.order(pass)) {
                    if (documents < 6) {
                        skips += name.equals(other.toString()) ? 1 : 0;
                        documents += name.equals(other.toString()) ? 0 : 3;
                    }
                }
            }
            assertThat(stream.skippedFiles()).isEqualTo(skips).isPositive();
        }
    }

    @Test
    void nullTextsInParquetAreMalformedRows() throws IOException {
        List<String> docs = new ArrayList<>(documents("n", 4));
        docs.set(1, null);
        Path file = parquet(dir.resolve("n.parquet"), "text", docs);
        try (TextStream stream = stream(local(file), FAIL, 0)) {
            stream.next();
            assertThatThrownBy(stream::next).hasMessageStartingWith(file + " row 2 has a null \"text\"");
        }
        try (TextStream stream = stream(local(file), SKIP, 0)) {
            assertThat(read(stream, 3)).containsExactly(docs.get(0), docs.get(2), docs.get(3));
        }
    }

    @Test
    void aStreamPutBackAtAnySavedPositionReadsOnExactly() throws IOException {
        List<Shard> shards = local(jsonl(dir.resolve("a.jsonl.gz"), documents("a", 9)), parquet(dir.resolve("b.parquet"), "text", documents("b", 17)),
                lines(dir.resolve("c.txt"), documents("c", 5)));
        List<String> straight;
        List<TextPosition> positions = new ArrayList<>();
        try (TextStream stream = stream(shards, FAIL, 7)) {
            straight = new ArrayList<>();
            for (int i = 0; i < 70; i++) {
                positions.add(stream.position());
                straight.add(stream.next());
            }
        }
        for (int at : new int[]{0, 1, 8, 9, 20, 25, 31, 40, 62}) {
            try (TextStream resumed = stream(shards, FAIL, 7)) {
                resumed.seek(positions.get(at));
                assertThat(read(resumed, 70 - at)).as("resumed at document " + at).isEqualTo(straight.subList(at, 70));
            }
        }
    }

    @Test
    void filesAreReadInAnOrderDrawnFromTheSeedAndReshuffledEachPass() throws IOException {
        List<Shard> shards = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            shards.addAll(local(jsonl(dir.resolve("part-" + i + ".jsonl"), List.of("doc of part " + i))));
        }
        try (TextStream a = stream(shards, FAIL, 42); TextStream b = stream(shards, FAIL, 42); TextStream c = stream(shards, FAIL, 43)) {
            assertThat(a.order(0)).isEqualTo(b.order(0)).isNotEqualTo(c.order(0));
            assertThat(a.order(1)).isNotEqualTo(a.order(0)).containsExactlyInAnyOrderElementsOf(a.order(0));
            List<String> firstPass = read(a, 8);
            assertThat(new HashSet<>(firstPass)).hasSize(8);
            assertThat(firstPass).isEqualTo(a.order(0).stream().map(name -> "doc of part " + name.replaceAll(".*part-(\\d).*", "$1")).toList());
        }
    }

    @Test
    void theEndOfTheDataIsWarnedAboutAndReadingStartsOver() throws IOException {
        Path file = jsonl(dir.resolve("d.jsonl"), documents("e", 3));
        try (LogCapture log = new LogCapture(TextStream.class); TextStream stream = stream(local(file), FAIL, 0)) {
            assertThat(read(stream, 7)).containsExactly(documents("e", 3).get(0), documents("e", 3).get(1), documents("e", 3).get(2),
                    documents("e", 3).get(0), documents("e", 3).get(1), documents("e", 3).get(2), documents("e", 3).get(0));
            assertThat(log.warnings()).containsExactly("all of the test data has been read; starting pass 2 over it",
                    "all of the test data has been read; starting pass 3 over it");
            assertThat(stream.position().epoch()).isEqualTo(2);
        }
    }

    @Test
    void dataWithNoDocumentsIsAnErrorNotAnEndlessLoop() throws IOException {
        Path file = lines(dir.resolve("empty.jsonl"), List.of("", "{\"text\": 1}"));
        try (TextStream stream = stream(local(file), SKIP, 0)) {
            assertThatThrownBy(stream::next).isInstanceOf(IllegalStateException.class)
                    .hasMessage("the test data holds no documents that could be read (1 malformed rows and 0 files skipped)");
        }
    }

    @Test
    void localLocationsAreFilesFoldersAndGlobs() throws IOException {
        jsonl(dir.resolve("corpus/a/one.jsonl"), documents("1", 1));
        jsonl(dir.resolve("corpus/b/two.jsonl.gz"), documents("2", 1));
        lines(dir.resolve("corpus/b/notes.md"), List.of("not data"));
        parquet(dir.resolve("corpus/three.parquet"), "text", documents("3", 1));
        DatasetFiles files = new DatasetFiles(dir.resolve("cache"), null, java.util.Map.of());

        assertThat(names(files.list(dir.resolve("corpus").toString()))).containsExactly("corpus/a/one.jsonl", "corpus/b/two.jsonl.gz",
                "corpus/three.parquet");
        assertThat(names(files.list(dir + "/corpus/**/*.jsonl*"))).containsExactly("corpus/a/one.jsonl", "corpus/b/two.jsonl.gz");
        assertThat(names(files.list("file://" + dir + "/corpus/three.parquet"))).containsExactly("corpus/three.parquet");
        assertThatThrownBy(() -> files.list(dir + "/nowhere")).hasMessageStartingWith("dataset location " + dir + "/nowhere does not exist");
        assertThatThrownBy(() -> files.list(dir + "/corpus/*.csv")).hasMessageStartingWith("dataset location " + dir + "/corpus/*.csv holds no data files");
    }

    @Test
    void tinyCorpusIsWrittenOnceAndIsTheSameEverywhere() throws IOException {
        DatasetFiles files = new DatasetFiles(dir.resolve("cache"), null, java.util.Map.of());
        List<Shard> shards = files.list("tiny://corpus");
        Path written = shards.get(0).local();
        byte[] first = java.nio.file.Files.readAllBytes(written);
        assertThat(names(shards)).containsExactly("tiny://corpus/tiny-corpus-v1.jsonl");
        assertThat(first.length).isGreaterThan(1_000_000);
        try (TextStream stream = stream(shards, FAIL, 0)) {
            assertThat(stream.next()).isNotBlank();
        }
        Path again = new DatasetFiles(dir.resolve("cache2"), null, java.util.Map.of()).list("tiny://corpus").get(0).local();
        assertThat(java.nio.file.Files.readAllBytes(again)).isEqualTo(first);
    }

    private List<String> names(List<Shard> shards) {
        return shards.stream().map(s -> s.name().replace(dir + "/", "")).toList();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
