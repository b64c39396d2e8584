package dev.saeforge.cli;

import dev.saeforge.api.DatasetSpec;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.data.Pretokenization;
import dev.saeforge.lm.ModelSources;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

/** Writes a text dataset as a pre-tokenized one, which a TrainingRun reads with spec.dataset.tokenized. */
@Command(name = "pretokenize",
        description = {"Tokenize a text dataset with a model's tokenizer and pack it into windows",
                "exactly as training packs text, writing one window per row to a Parquet",
                "file's input_ids column (list<int32>), as SAELens' PretokenizeRunner does.",
                "Train on it with spec.dataset.tokenized: true and the same contextSize."})
public class PretokenizeCommand implements Callable<Integer> {
    private static final long PROGRESS_INTERVAL_NANOS = 2_000_000_000L;
    private static final Pattern DATASET_URI = Pattern.compile(DatasetSpec.URI_PATTERN);

    @Parameters(index = "0", paramLabel = "DATASET", description = "The text: " + DatasetSpec.URI_FORM + ".")
    String dataset;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.parquet", description = "Where to write.")
    Path output;

    @Option(names = "--model", required = true, paramLabel = "DIR|URI",
            description = "The model whose tokenizer and special tokens to use: a directory, hf://ORG/NAME[@REVISION] or s3://BUCKET/PREFIX.")
    String model;

    @Option(names = "--context-size", paramLabel = "N", description = "Tokens per window (SAELens context_size; default ${DEFAULT-VALUE}).")
    int contextSize = new DatasetSpec().contextSize;

    @Option(names = "--text-field", paramLabel = "NAME", description = "Column or JSON key holding the text (SAELens column_name; default ${DEFAULT-VALUE}).")
    String textField = new DatasetSpec().textField;

    @Option(names = "--format", paramLabel = "FORMAT", description = "auto, jsonl, parquet or text (default ${DEFAULT-VALUE}: from the file name).")
    String format = "auto";

    @Option(names = "--prepend-bos", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Start every window with BOS (SAELens begin_batch_token bos; default true).")
    boolean prependBos;

    @Option(names = "--sequence-separator", paramLabel = "TOKEN",
            description = "bos, eos or none: the token between documents (SAELens sequence_separator_token; default ${DEFAULT-VALUE}).")
    String sequenceSeparator = "bos";

    @Option(names = "--disable-concat-sequences",
            description = "One window per document, shorter documents dropped (SAELens disable_concat_sequences).")
    boolean disableConcatSequences;

    @Option(names = "--skip-malformed", description = "Skip malformed rows instead of stopping at the first (spec.dataset.malformedRows: skip).")
    boolean skipMalformed;

    @Option(names = "--seed", paramLabel = "N",
            description = "Seed of the file order: the order training with this spec.training.seed reads the files in (default ${DEFAULT-VALUE}).")
    long seed = new TrainingSpec().seed;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        return CommandBody.execute(command, out -> {
            DatasetSpec spec = datasetSpec();
            PrintWriter err = command.commandLine().getErr();
            long started = System.nanoTime();
            long[] lastPrinted = {started};
            Pretokenization.Result result = Pretokenization.write(spec, model, seed, ModelSources.fromEnvironment(), output,
                    (windows, tokens) -> {
                        long now = System.nanoTime();
                        if (now - lastPrinted[0] >= PROGRESS_INTERVAL_NANOS) {
                            err.printf("pretokenize: %,d tokens in %,d windows written, %,.0f tokens/s%n", tokens, windows, rate(tokens, now - started));
                            err.flush();
                            lastPrinted[0] = now;
                        }
                    });
            long elapsed = System.nanoTime() - started;
            out.printf("wrote %s: %,d windows of %d tokens (%,d tokens) from %d file%s of %s in %.1f s, %,.0f tokens/s%s%n", output,
                    result.windows(), contextSize, result.tokens(), result.files(), result.files() == 1 ? "" : "s", dataset,
                    elapsed / 1e9, rate(result.tokens(), elapsed),
                    result.skippedRows() > 0 ? "; " + result.skippedRows() + " malformed rows skipped" : "");
            return ExitCodes.OK;
        });
    }

    /** The options as the dataset spec training would read the text with, checked as a spec is. */
    private DatasetSpec datasetSpec() {
        if (!DATASET_URI.matcher(dataset).matches()) {
            throw new IllegalArgumentException("DATASET " + dataset + ": expected " + DatasetSpec.URI_FORM);
        }
        if (contextSize < 1 || contextSize > 131072) {
            throw new IllegalArgumentException("--context-size must be between 1 and 131072, got " + contextSize);
        }
        DatasetSpec spec = new DatasetSpec();
        spec.uri = dataset;
        spec.format = choice("--format", format, DatasetSpec.Format.class);
        spec.textField = textField;
        spec.contextSize = contextSize;
        spec.prependBos = prependBos;
        spec.sequenceSeparator = choice("--sequence-separator", sequenceSeparator, DatasetSpec.SequenceSeparator.class);
        spec.disableConcatSequences = disableConcatSequences;
        spec.malformedRows = skipMalformed ? DatasetSpec.MalformedRows.SKIP : DatasetSpec.MalformedRows.FAIL;
        return spec;
    }

    private static <E extends Enum<E>> E choice(String option, String value, Class<E> type) {
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equalsIgnoreCase(value)) {
                return constant;
            }
        }
        throw new IllegalArgumentException(option + " " + value + ": expected one of "
                + String.join(", ", java.util.Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase()).toList()));
    }

    private static double rate(long tokens, long nanos) {
        return nanos <= 0 ? 0 : tokens * 1e9 / nanos;
    }
}
