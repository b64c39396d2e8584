package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.crd.generator.annotation.PreserveUnknownFields;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** The text corpus and how it is packed into context windows, as SAELens does. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"uri", "format", "textField", "contextSize", "prependBos", "sequenceSeparator",
        "disableConcatSequences", "malformedRows", "maxRecordBytes", "storeBatchSizePrompts", "nBatchesInBuffer", "mixingFraction",
        "tokenized", "tokensField", "chatTemplate", "messagesField", "eval", "excludeSpecialTokens", "seqposSlice"})
public class DatasetSpec {
    public static final String URI_PATTERN =
            "^(hf://datasets/[A-Za-z0-9][\\w.-]*/[\\w.-]+(@[\\w.-]+)?(/\\S*|:[\\w.-]+(/\\w+(\\.\\w+)*)?)?|s3://[a-z0-9][a-z0-9.-]+[a-z0-9](/\\S*)?|file://\\S+|tiny://corpus|[^:\\s][^:]*)$";
    public static final String URI_FORM =
            "hf://datasets/ORG/NAME[@REVISION][:CONFIG[/SPLIT]|/PATH], s3://BUCKET/PREFIX, file://PATH, a local path or glob, or tiny://corpus";
    /** A record is held as bytes and then as a string, both Java arrays. */
    public static final int MAX_RECORD_BYTES = 1 << 30;

    @JsonPropertyDescription("Where the text is (SAELens dataset_path): a file, a glob, a folder, an S3 prefix, a hub dataset"
            + " (its dataset card's default config and train split unless :CONFIG[/SPLIT] or a path is given), or tiny://corpus, a small generated corpus.")
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

    @JsonPropertyDescription("What to do with a row that is not valid JSON or lacks a string text field, and with a file"
            + " lacking the text column: fail (stop with the file and row) or skip (skip it, count it, warn).")
    public MalformedRows malformedRows = MalformedRows.FAIL;

    @JsonPropertyDescription("Longest JSON Lines or text line read, in bytes; a longer one is a malformed row (see malformedRows),"
            + " found without holding it in memory.")
    @Min(1)
    @Max(MAX_RECORD_BYTES)
    public int maxRecordBytes = 64 << 20;

    @JsonPropertyDescription("Windows per language-model forward pass (SAELens store_batch_size_prompts).")
    @Min(1)
    public int storeBatchSizePrompts = 32;

    @JsonPropertyDescription("Mixing-buffer size in language-model batches: nBatchesInBuffer * storeBatchSizePrompts"
            + " * contextSize activation rows (SAELens n_batches_in_buffer, as in SAELens 5); with seqposSlice, the positions it keeps"
            + " instead of contextSize.")
    @Min(1)
    public int nBatchesInBuffer = 20;

    @JsonPropertyDescription("Fraction of the shuffle buffer kept between refills (SAELens activations_mixing_fraction).")
    @Min(0)
    @Max(value = 1, inclusive = false)
    public double mixingFraction = 0.5;

    @JsonPropertyDescription("Apply the model's chat_template (from its tokenizer_config.json) to each row's messages before"
            + " tokenizing, as SAELens' use_chat_formatting does with apply_chat_template (no generation prompt); the model"
            + " must have a chat_template. Rows are JSON Lines or Parquet. Default false.")
    public boolean chatTemplate = false;

    @JsonPropertyDescription("With chatTemplate: the JSON key or Parquet column holding a row's conversation, a list of {role, content}"
            + " messages (SAELens reads the column messages, conversation or conversations). Default messages.")
    public String messagesField = "messages";

    @JsonPropertyDescription("The rows hold token ids, not text (SAELens is_dataset_tokenized, which it detects from a tokens or"
            + " input_ids column): each row, as SAELens' PretokenizeRunner or saeforge pretokenize wrote it, is one window, its first"
            + " contextSize ids used as they are (BOS and separators already in them; prependBos, sequenceSeparator and"
            + " disableConcatSequences do not apply). A shorter row, or an id outside the model's vocabulary, stops the run. Default false.")
    public boolean tokenized = false;

    @JsonPropertyDescription("With tokenized, the Parquet list column or JSON array of token ids; default: tokens, else input_ids,"
            + " the columns SAELens looks for.")
    public String tokensField;

    @JsonPropertyDescription("A dataset of its own to evaluate on (SAELens eval_dataset_path, eval_dataset_split); unset, evaluation"
            + " holds out the first documents of this dataset, which training then skips.")
    public EvalDatasetSpec eval;

    @JsonPropertyDescription("Positions whose activations are dropped before the mixing buffer, in training and evaluation"
            + " (SAELens exclude_special_tokens): false (default) keeps all; true drops every special token of the tokenizer"
            + " (on Qwen3 <|endoftext|>, <|im_end|> and the other added special tokens; the EOS standing in for BOS"
            + " at each window start among them); or a list of token ids and token strings, e.g. [151643, \"<|im_end|>\"].")
    @PreserveUnknownFields
    public ExcludedTokens excludeSpecialTokens = ExcludedTokens.NONE;

    @JsonPropertyDescription("Window positions whose activations are used (SAELens seqpos_slice), as Python's"
            + " slice(*seqposSlice) over range(contextSize): [end], [start, end] or [start, end, step], whole numbers or nulls,"
            + " negative counting from the window's end; default [null], every position. E.g. [1, null] drops the first.")
    @PreserveUnknownFields
    public SeqposSlice seqposSlice = SeqposSlice.ALL;

    /** The most rows a window yields: the positions seqposSlice keeps (SAELens' training_context_size). */
    public int keptPerWindow() {
        return seqposSlice.positions(contextSize).length;
    }

    /** The mixing buffer's rows, as SAELens sizes it in kept positions: nBatchesInBuffer · storeBatchSizePrompts · keptPerWindow. */
    public long bufferRows() {
        return (long) nBatchesInBuffer * storeBatchSizePrompts * keptPerWindow();
    }

    public enum Format {
        @JsonProperty("auto") AUTO,
        @JsonProperty("jsonl") JSONL,
        @JsonProperty("parquet") PARQUET,
        @JsonProperty("text") TEXT
    }

    public enum MalformedRows {
        @JsonProperty("fail") FAIL,
        @JsonProperty("skip") SKIP
    }

    public enum SequenceSeparator {
        @JsonProperty("bos") BOS,
        @JsonProperty("eos") EOS,
        @JsonProperty("none") NONE
    }
}
