package dev.saeforge.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.DatasetSpec;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.SpecialTokens;
import dev.saeforge.lm.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A text dataset written as a pre-tokenized one ({@code saeforge pretokenize}): one pass over its
 * documents, tokenized and packed into windows exactly as training packs them (the files in the
 * order training with the same seed reads them, the same BOS and separators), each window a row
 * of a Parquet file's {@value ParquetTokenWriter#COLUMN} column, as SAELens' PretokenizeRunner
 * writes them. Training on the file with spec.dataset.tokenized reads the windows training on the
 * text would read. Unlike PretokenizeRunner, which packs each batch of 1000 documents on its own
 * and so drops a partial window per batch, the whole pass is packed as one stream, as training
 * packs it.
 */
public final class Pretokenization {
    /** The key of the Parquet footer's metadata that records how the file was made. */
    public static final String METADATA_KEY = "saeforge_pretokenize";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Pretokenization() {
    }

    /** Told after each window written: the windows and tokens so far. */
    public interface Progress {
        void written(long windows, long tokens);
    }

    /** What was written: windows of contextSize tokens, from how many files, and the malformed rows skipped. */
    public record Result(long windows, long tokens, int files, long skippedRows) {
    }

    /**
     * Tokenizes {@code dataset} (its uri, format, textField, contextSize, packing and malformed-row
     * rules) with the tokenizer of the model at {@code modelUri} and writes {@code output}, a
     * .parquet file, replacing it only once the whole pass is written.
     */
    public static Result write(DatasetSpec dataset, String modelUri, long seed, ModelSources sources, Path output, Progress progress)
            throws IOException {
        if (!output.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".parquet")) {
            throw new IllegalArgumentException("-o " + output + ": expected a .parquet file name, which the trainer reads as Parquet");
        }
        Path dir = sources.resolve(modelUri);
        SpecialTokens special = SpecialTokens.read(dir);
        Packer.Rules rules = LanguageModelData.textPacking(dataset, special);
        DatasetFiles.Listing listing = DatasetFiles.of(sources).listing(dataset.uri, null);
        Path absolute = output.toAbsolutePath();
        Files.createDirectories(absolute.getParent());
        Path partial = absolute.resolveSibling(absolute.getFileName() + ".partial");
        long windows = 0;
        long tokens = 0;
        long skipped;
        try (Tokenizer tokenizer = Tokenizer.load(dir);
             TextStream text = new TextStream(listing.shards(), dataset.format, dataset.textField, dataset.malformedRows,
                     dataset.maxRecordBytes, seed, TextStream.RowFilter.ALL, dataset.uri).readingOnePass()) {
            Packer packer = new Packer(rules, new TokenizedText(text, tokenizer));
            try (ParquetTokenWriter writer = new ParquetTokenWriter(partial, Map.of(METADATA_KEY, metadata(dataset, modelUri, seed, rules)))) {
                while (true) {
                    long[] window = packer.next();
                    if (packer.state().document().epoch() > 0) {
                        // A window of the second pass: the first is all written.
                        break;
                    }
                    writer.write(window);
                    windows++;
                    tokens += window.length;
                    progress.written(windows, tokens);
                }
            }
            skipped = text.skippedRows();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(partial);
            throw e;
        }
        Files.move(partial, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return new Result(windows, tokens, listing.shards().size(), skipped);
    }

    /** How the windows were made, under SAELens' PretokenizedDatasetMetadata names. */
    private static String metadata(DatasetSpec dataset, String modelUri, long seed, Packer.Rules rules) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tokenizer_name", modelUri);
        out.put("original_dataset", dataset.uri);
        out.put("original_column_name", dataset.textField);
        out.put("context_size", rules.contextSize());
        out.put("shuffled", false);
        out.put("seed", seed);
        out.put("begin_batch_token", rules.bos());
        out.put("begin_sequence_token", null);
        out.put("sequence_separator_token", rules.separator());
        out.put("disable_concat_sequences", rules.disableConcat());
        return JSON.writeValueAsString(out);
    }
}
