package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** The text corpus and how it is packed into context windows, as SAELens does. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"uri", "format", "textField", "contextSize", "prependBos", "sequenceSeparator",
        "disableConcatSequences", "storeBatchSizePrompts", "nBatchesInBuffer", "mixingFraction"})
public class DatasetSpec {
    public static final String URI_PATTERN =
            "^(hf://datasets/[A-Za-z0-9][\\w.-]*/[\\w.-]+(@[\\w.-]+)?(/\\S*)?|s3://[a-z0-9][a-z0-9.-]+[a-z0-9](/\\S*)?|file://\\S+|[^:\\s][^:]*)$";
    public static final String URI_FORM =
            "hf://datasets/ORG/NAME[@REVISION][/PATH], s3://BUCKET/PREFIX, file://PATH or a local path";

    @JsonPropertyDescription("Where the text is (SAELens dataset_path): a file, a glob, a folder or a hub dataset.")
    @Required
    @Pattern(URI_PATTERN)
    @Expect(what = "a dataset location", form = URI_FORM)
    public String uri;

    @JsonPropertyDescription("File format; auto picks it from the file name (.jsonl, .jsonl.gz, .jsonl.zst, .parquet, .txt).")
    public Format format = Format.AUTO;

    @JsonPropertyDescription("Column or JSON key holding the text.")
    public String textField = "text";

    @JsonPropertyDescription("Tokens per context window (SAELens context_size).")
    @Min(1)
    @Max(131072)
    public int contextSize = 128;

    @JsonPropertyDescription("Start every window with the BOS token (SAELens prepend_bos).")
    public boolean prependBos = true;

    @JsonPropertyDescription("Token placed between documents in a window (SAELens sequence_separator_token).")
    public SequenceSeparator sequenceSeparator = SequenceSeparator.BOS;

    @JsonPropertyDescription("One window per document instead of concatenating documents (SAELens disable_concat_sequences).")
    public boolean disableConcatSequences = false;

    @JsonPropertyDescription("Windows per language-model forward pass (SAELens store_batch_size_prompts).")
    @Min(1)
    public int storeBatchSizePrompts = 32;

    @JsonPropertyDescription("Mixing-buffer size in batches (SAELens n_batches_in_buffer).")
    @Min(1)
    public int nBatchesInBuffer = 20;

    @JsonPropertyDescription("Fraction of the shuffle buffer kept between refills (SAELens activations_mixing_fraction).")
    @Min(0)
    @Max(value = 1, inclusive = false)
    public double mixingFraction = 0.5;

    public enum Format {
        @JsonProperty("auto") AUTO,
        @JsonProperty("jsonl") JSONL,
        @JsonProperty("parquet") PARQUET,
        @JsonProperty("text") TEXT
    }

    public enum SequenceSeparator {
        @JsonProperty("bos") BOS,
        @JsonProperty("eos") EOS,
        @JsonProperty("none") NONE
    }
}
