package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

import java.util.ArrayList;
import java.util.List;

/**
 * A dataset of its own to evaluate on (SAELens' eval_dataset_path and eval_dataset_split, SAELens
 * #730), read and packed into windows as spec.dataset's text is; with it, no training text is held
 * out for evaluation.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"uri", "split", "rows"})
public class EvalDatasetSpec {
    /** SAELens' default eval_dataset_split, and the split a hub dataset's training text is read from. */
    public static final String DEFAULT_SPLIT = "train";
    /** A split name as Hugging Face datasets accepts it. */
    public static final String SPLIT_PATTERN = "^\\w+(\\.\\w+)*$";
    private static final String HUB_DATASET_WITHOUT_PATH = "hf://datasets/[^/]+/[^/]+/?";

    @JsonPropertyDescription("Where the evaluation text is (SAELens eval_dataset_path), in the forms of spec.dataset.uri, read with"
            + " its format, textField, malformedRows and maxRecordBytes and packed into windows as training packs its text"
            + " (contextSize, prependBos, sequenceSeparator, disableConcatSequences). Evaluation reads spec.training.evalBatches"
            + " batches of storeBatchSizePrompts windows from its start, or the fewer its text fills; no training text is then"
            + " held out.")
    @Required
    @Pattern(DatasetSpec.URI_PATTERN)
    @Expect(what = "a dataset location", form = DatasetSpec.URI_FORM)
    public String uri;

    @JsonPropertyDescription("Split of a hub dataset named without a file path (SAELens eval_dataset_split; default: the split"
            + " the uri names after :CONFIG/, else train): the split of that config as the dataset card names it, or, for a card"
            + " without configs, the files or folders named after the split, as the hub's loader picks them (validation also"
            + " matches valid, val and dev; test also test, testing, eval and evaluation). Other locations name their files"
            + " themselves and take no split.")
    @Pattern(SPLIT_PATTERN)
    @Expect(what = "a split name", form = "a dataset split such as train, validation or test")
    public String split;

    @JsonPropertyDescription("Most rows (documents) of the evaluation text read, from its start; unset reads as many as the"
            + " evaluation windows take.")
    @Min(1)
    public Long rows;

    /** The split to read: the one given, else {@value #DEFAULT_SPLIT}. */
    public String splitOrDefault() {
        return split == null ? DEFAULT_SPLIT : split;
    }

    /** What the bound constraints cannot say: a split only where one is chosen, and data other than the training text. */
    List<Problem> problems(DatasetSpec training) {
        List<Problem> out = new ArrayList<>();
        if (uri == null) {
            return out;
        }
        if (split != null && split.matches(SPLIT_PATTERN) && !uri.matches(HUB_DATASET_WITHOUT_PATH)) {
            out.add(new Problem("spec.dataset.eval.split", "is set, but " + uri + (uri.startsWith("hf://") ? " names its files by path"
                    : " is not a hub dataset") + "; a split applies to hf://datasets/ORG/NAME[@REVISION] alone: leave split out"));
        }
        if (uri.equals(training.uri) && splitOrDefault().equals(DEFAULT_SPLIT)) {
            out.add(new Problem("spec.dataset.eval.uri", uri + (uri.matches(HUB_DATASET_WITHOUT_PATH) ? "'s train split" : "")
                    + " is the training text itself, which training reads in full when dataset.eval is set; name other data (e.g. a"
                    + " validation split), or leave dataset.eval out to hold out the first documents of the training data"));
        }
        return out;
    }
}
