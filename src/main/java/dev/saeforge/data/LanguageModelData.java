package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.DatasetSpec;
import dev.saeforge.api.EvalDatasetSpec;
import dev.saeforge.api.ExcludedTokens;
import dev.saeforge.api.ModelSpec;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.lm.ChatTemplate;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.Qwen3Config;
import dev.saeforge.lm.Qwen3Model;
import dev.saeforge.lm.SpecialTokens;
import dev.saeforge.lm.Tokenizer;
import dev.saeforge.store.Failures;
import dev.saeforge.tensor.Precision;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A run's language model, tokenizer and text, opened and checked against each other: the model
 * on its device, the packing rules SAELens would use (BOS, separator, context), the dataset's
 * files, and the windows held out for evaluation (the first documents, or those of
 * spec.dataset.eval, {@link HeldOut}). The stream, the evaluation and the benchmarks all call the
 * model through this.
 */
public final class LanguageModelData implements AutoCloseable {
    private static final String EVAL_FIELD = "spec.dataset.eval";
    private final String modelName;
    private final Qwen3Model model;
    private final Tokenizer tokenizer;
    private final SpecialTokens special;
    private final ChatTemplate chat;
    private final DatasetSpec dataset;
    private final Packer.Rules rules;
    private final List<Shard> shards;
    private final InputFiles inputs;
    private final long seed;
    private final HeldOut heldOut;
    private final KeptRows keptRows;
    private final List<Long> excludedIds;

    private LanguageModelData(String modelName, Qwen3Model model, Tokenizer tokenizer, SpecialTokens special, ChatTemplate chat,
                              DatasetSpec dataset, Packer.Rules rules, List<Shard> shards, InputFiles inputs, long seed, int evalWindows,
                              List<Shard> evalShards, List<Long> excludedIds) {
        this.modelName = modelName;
        this.model = model;
        this.tokenizer = tokenizer;
        this.special = special;
        this.chat = chat;
        this.dataset = dataset;
        this.rules = rules;
        this.shards = shards;
        this.inputs = inputs;
        this.seed = seed;
        this.excludedIds = excludedIds;
        this.keptRows = new KeptRows(dataset.contextSize, dataset.seqposSlice.positions(dataset.contextSize),
                excludedIds.stream().mapToLong(Long::longValue).toArray());
        if (dataset.eval == null) {
            try (TextStream all = textStream(shards, TextStream.RowFilter.ALL, dataset.uri)) {
                this.heldOut = HeldOut.take(all, documents(all), rules, evalWindows);
            }
        } else {
            try (TextStream eval = textStream(evalShards, TextStream.RowFilter.ALL, dataset.eval.uri)) {
                this.heldOut = HeldOut.separate(eval, documents(eval), rules, evalWindows, dataset.eval.rows, dataset.eval.uri, EVAL_FIELD);
            }
        }
    }

    /**
     * Opens the model and dataset of {@code spec} on {@code device}, checking that every hook
     * exists in the model and that the windows fit its positions, and holds out the evaluation
     * windows (spec.training.evalBatches batches of storeBatchSizePrompts), or packs them from
     * spec.dataset.eval.
     */
    public static LanguageModelData open(TrainingRunSpec spec, List<HookPoint> hooks, Device device, ModelSources sources)
            throws IOException {
        return open(spec, hooks, device, sources, null);
    }

    /**
     * As {@link #open(TrainingRunSpec, List, Device, ModelSources)}, reading what {@code recorded}
     * says a checkpoint of the run read (null: what the locations hold now): the model at the
     * recorded revision and exactly the recorded dataset files, so that a resumed run continues on
     * the same input and evaluates on the same windows (an evaluation file gone or changed is
     * refused as a training file is). A recorded location other than the spec's is not used (the
     * checkpoint's spec check refuses the resume).
     */
    public static LanguageModelData open(TrainingRunSpec spec, List<HookPoint> hooks, Device device, ModelSources sources,
                                         InputFiles recorded) throws IOException {
        ModelSpec modelSpec = spec.model;
        DatasetSpec dataset = spec.dataset;
        boolean sameModel = recorded != null && modelSpec.uri.equals(recorded.model());
        ModelSources.Resolved resolved = sources.resolve(modelSpec.uri, sameModel ? recorded.modelRevision() : null);
        Path dir = resolved.dir();
        Qwen3Model model = Qwen3Model.load(dir, device, modelSpec.dtype == null ? null : Precision.valueOf(modelSpec.dtype.name()));
        Tokenizer tokenizer = null;
        try {
            for (HookPoint hook : hooks) {
                hook.checkAgainst(model.config(), modelSpec.uri);
            }
            if (dataset.contextSize > model.config().maxPositionEmbeddings()) {
                throw new IllegalArgumentException("spec.dataset.contextSize is " + dataset.contextSize + ", longer than the "
                        + model.config().maxPositionEmbeddings() + " positions " + modelSpec.uri + " was trained for");
            }
            tokenizer = Tokenizer.load(dir);
            SpecialTokens special = SpecialTokens.read(dir);
            ChatTemplate chat = dataset.chatTemplate ? ChatTemplate.read(dir, modelSpec.uri) : null;
            Packer.Rules rules = dataset.tokenized ? TokenRows.packing(dataset.contextSize) : textPacking(dataset, special);
            Listings listings = listings(spec, DatasetFiles.of(sources), resolved.revision(), recorded);
            DatasetFiles.Listing eval = listings.eval();
            int evalWindows = spec.training.evalBatches * dataset.storeBatchSizePrompts;
            return new LanguageModelData(modelSpec.name, model, tokenizer, special, chat, dataset, rules, listings.training().shards(),
                    listings.inputs(), spec.training.seed, evalWindows, eval == null ? null : eval.shards(),
                    excludedIds(dataset.excludeSpecialTokens, dir, model.config().vocabSize(), modelSpec.uri));
        } catch (IOException | RuntimeException e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            model.close();
            throw e;
        }
    }

    /** The training and evaluation datasets' files, and the record of them with the model's revision. */
    private record Listings(DatasetFiles.Listing training, DatasetFiles.Listing eval, InputFiles inputs) {
    }

    /** What {@code spec} reads: the files {@code recorded} names (null: what the locations hold now), with the model at {@code modelRevision}. */
    private static Listings listings(TrainingRunSpec spec, DatasetFiles files, String modelRevision, InputFiles recorded) throws IOException {
        DatasetSpec dataset = spec.dataset;
        boolean sameDataset = recorded != null && dataset.uri.equals(recorded.dataset());
        DatasetFiles.Listing listing = sameDataset ? new DatasetFiles.Listing(recorded.datasetRevision(), recorded.datasetConfig(),
                recorded.datasetSplit(), files.recorded(recorded)) : files.listing(dataset.uri, null);
        DatasetFiles.Listing eval = dataset.eval == null ? null : evalListing(dataset.eval, files, recorded == null ? null : recorded.eval());
        InputFiles inputs = new InputFiles(spec.model.uri, modelRevision, dataset.uri, listing.revision(), listing.config(),
                listing.split(), listing.shards().stream().map(Shard::file).toList(), eval == null ? null : new InputFiles(null, null,
                dataset.eval.uri, eval.revision(), eval.config(), eval.split(), eval.shards().stream().map(Shard::file).toList(), null));
        return new Listings(listing, eval, inputs);
    }

    /**
     * What a run of {@code spec} would read and how its model would run, found without loading
     * the model's weights: the model's revision and the dataset's files as {@link #inputs()}
     * records them, and the forward precision (spec.model.dtype, else config.json's torch_dtype).
     * An activation cache's key is made of these.
     */
    public record Inputs(InputFiles files, Precision precision) {
    }

    /** {@link Inputs} of {@code spec}, as {@link #open} would find them now. */
    public static Inputs inputsWithoutModel(TrainingRunSpec spec, ModelSources sources) throws IOException {
        ModelSources.Resolved resolved = sources.resolve(spec.model.uri, null);
        Precision precision = spec.model.dtype != null ? Precision.valueOf(spec.model.dtype.name())
                : Qwen3Model.checkpointPrecision(Qwen3Config.read(resolved.dir()));
        return new Inputs(listings(spec, DatasetFiles.of(sources), resolved.revision(), null).inputs(), precision);
    }

    /** How SAELens packs {@code dataset}'s text into windows with these special tokens. */
    static Packer.Rules textPacking(DatasetSpec dataset, SpecialTokens special) {
        Long separator = switch (dataset.sequenceSeparator) {
            case BOS -> special.bosId();
            case EOS -> special.eosId();
            case NONE -> null;
        };
        return new Packer.Rules(dataset.contextSize, dataset.prependBos ? special.bosId() : null, separator, dataset.disableConcatSequences);
    }

    /**
     * The evaluation dataset's files: those {@code recorded} (a checkpoint's record of them, when it
     * names the same location), else those listed now. A location that refuses (no such dataset,
     * file or split, no access) is refused input; one that cannot be reached now stays a failure
     * worth another attempt.
     */
    private static DatasetFiles.Listing evalListing(EvalDatasetSpec eval, DatasetFiles files, InputFiles recorded) throws IOException {
        try {
            return recorded != null && eval.uri.equals(recorded.dataset())
                    ? new DatasetFiles.Listing(recorded.datasetRevision(), recorded.datasetConfig(), recorded.datasetSplit(),
                    files.recorded(recorded))
                    : files.listing(eval.uri, null, eval.split);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(EVAL_FIELD + ".uri: " + e.getMessage(), e);
        } catch (IOException e) {
            if (Failures.isTransient(e)) {
                throw e;
            }
            throw new IllegalArgumentException(EVAL_FIELD + ".uri: cannot read " + eval.uri + ": " + e.getMessage(), e);
        }
    }

    /**
     * The ids of spec.dataset.excludeSpecialTokens in the model's tokenizer ({@code dir}): for
     * true, every special token SAELens' get_special_token_ids finds ({@link SpecialTokens#all});
     * for a list, its ids, and its strings as tokens of the vocabulary, as written.
     */
    static List<Long> excludedIds(ExcludedTokens excluded, Path dir, long vocabSize, String model) throws IOException {
        if (excluded.all()) {
            return List.copyOf(SpecialTokens.all(dir).values());
        }
        if (excluded.none()) {
            return List.of();
        }
        Map<String, Long> vocabulary = SpecialTokens.vocabulary(dir);
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < excluded.listed().size(); i++) {
            Object token = excluded.listed().get(i);
            Long id = token instanceof String text ? vocabulary.get(text) : (Long) token;
            if (id == null || id >= vocabSize) {
                throw new IllegalArgumentException("spec.dataset.excludeSpecialTokens[" + i + "]: "
                        + (token instanceof String ? "\"" + token + "\" is not a token" : token + " is not a token id")
                        + " of " + model + "'s tokenizer" + (token instanceof String ? "" : " (ids 0 to " + (vocabSize - 1) + ")")
                        + "; expected token ids or token strings as " + Tokenizer.FILE + " spells them, e.g. <|im_end|>");
            }
            ids.add(id);
        }
        return List.copyOf(ids);
    }

    /** Which rows of the model's activations are used (spec.dataset.seqposSlice and excludeSpecialTokens). */
    KeptRows keptRows() {
        return keptRows;
    }

    public Qwen3Model model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public int contextSize() {
        return rules.contextSize();
    }

    /** Windows per forward pass (spec.dataset.storeBatchSizePrompts). */
    public int windowsPerForward() {
        return dataset.storeBatchSizePrompts;
    }

    DatasetSpec dataset() {
        return dataset;
    }

    /** What this model and dataset are, for a checkpoint (or an activation cache's key) to record. */
    public InputFiles inputs() {
        return inputs;
    }

    /**
     * One forward pass of {@code windows} to the deepest of {@code hooks}: the kept rows of each
     * hook (spec.dataset.seqposSlice less excluded tokens, window after window), float32, in
     * {@code manager}. The stream's producer computes the same rows.
     */
    public List<NDArray> keptActivations(long[][] windows, List<HookPoint> hooks, NDManager manager) {
        try (NDArray tokens = manager.create(windows)) {
            return model.activations(tokens, hooks).stream().map(rows -> keptRows.select(rows, windows)).toList();
        }
    }

    /** The kept rows of {@code windows} as window · contextSize + position, in the order {@link #keptActivations} returns them. */
    public long[] keptRowIndices(long[][] windows) {
        return keptRows.rows(windows);
    }

    /** How many rows of {@code windows} are kept, from their tokens alone (no forward pass). */
    public long keptCount(long[][] windows) {
        return keptRows.count(windows);
    }

    /** The held-out evaluation windows, in batches of storeBatchSizePrompts. */
    public List<long[][]> heldOutBatches() {
        List<long[][]> batches = new ArrayList<>();
        List<long[]> all = heldOut.windows();
        for (int i = 0; i < all.size(); i += windowsPerForward()) {
            batches.add(all.subList(i, Math.min(all.size(), i + windowsPerForward())).toArray(long[][]::new));
        }
        return batches;
    }

    /** The training text packed into windows, from its start; every call opens its own reader of the files. */
    public TrainingWindows trainingWindows() {
        TextStream text = textStream(shards, heldOut, dataset.uri);
        return new TrainingWindows(text, new Packer(rules, documents(text)), windowsPerForward());
    }

    /** A stream of {@code files}' documents, read as spec.dataset says ({@code location} names them in messages). */
    private TextStream textStream(List<Shard> files, TextStream.RowFilter filter, String location) {
        RowReader.Column column = dataset.tokenized ? RowReader.Column.tokens(dataset.tokensField)
                : chat != null ? RowReader.Column.messages(dataset.messagesField, chat) : RowReader.Column.text(dataset.textField);
        return new TextStream(files, dataset.format, column, dataset.malformedRows, dataset.maxRecordBytes, seed, filter, location);
    }

    /** The stream's documents as token ids: its token rows as they are (spec.dataset.tokenized), else its texts tokenized. */
    private TokenDocuments documents(TextStream text) {
        return dataset.tokenized ? new TokenRows(text, rules.contextSize(), model.config().vocabSize()) : new TokenizedText(text, tokenizer);
    }

    /** Facts about the activations for cfg.json metadata: the BOS id used, the buffer, how the model was loaded. */
    Map<String, Object> metadata() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bos_token", rules.bos() == null ? null : special.bosToken());
        out.put("bos_token_id", rules.bos());
        out.put("bos_token_choice", special.describeBos());
        out.put("sequence_separator_token_id", rules.separator());
        out.put("store_batch_size_prompts", dataset.storeBatchSizePrompts);
        out.put("n_batches_in_buffer", dataset.nBatchesInBuffer);
        out.put("activations_mixing_fraction", dataset.mixingFraction);
        out.put("eval_windows", heldOut.windows().size());
        out.put("eval_dataset_path", dataset.eval == null ? null : dataset.eval.uri);   // SAELens #730's names
        // The split the card resolved (a uri's :CONFIG/SPLIT counts); other locations have none of their own.
        out.put("eval_dataset_split", dataset.eval == null ? null
                : Objects.requireNonNullElse(inputs.eval().datasetSplit(), dataset.eval.splitOrDefault()));
        // SAELens' record of the ids it drops, with token strings as their ids (SAELens takes ids only).
        out.put("exclude_special_tokens", dataset.excludeSpecialTokens.listed() == null ? dataset.excludeSpecialTokens.all() : excludedIds);
        out.put("dataset_revision", inputs.datasetRevision());
        // How TransformerLens would load the model to compute these activations: unprocessed weights
        // (transformers' forward, as here), in the precision they were computed in.
        Map<String, Object> kwargs = new LinkedHashMap<>();
        kwargs.put("center_writing_weights", false);
        kwargs.put("dtype", model.precision().toString());
        out.put("model_from_pretrained_kwargs", kwargs);
        return out;
    }

    /** "Qwen/Qwen3-8B (bfloat16) at blocks.28.hook_mlp_out over hf://...": for messages. */
    String describe(List<HookPoint> hooks, long bufferRows) {
        String at = hooks.size() == 1 ? hooks.get(0).toString() : hooks.size() + " hooks (" + String.join(", ", hooks.stream().map(HookPoint::toString).toList()) + ")";
        return String.format("%s (%s) at %s over %s (%d file%s; windows of %d tokens%s; %,d-row mixing buffer%s; %s)", modelName,
                model.precision(), at, dataset.uri, shards.size(), shards.size() == 1 ? "" : "s", rules.contextSize(),
                dataset.tokenized ? ", one per pre-tokenized row" : rules.bos() == null ? ", no BOS" : ", BOS " + special.bosToken() + " (" + rules.bos() + ")", bufferRows,
                hooks.size() == 1 ? "" : " per hook", heldOut.describe());
    }

    @Override
    public void close() {
        tokenizer.close();
        try {
            model.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
