package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

import java.util.List;
import java.util.Map;

/**
 * What to train and how. Field meanings follow SAELens' {@code LanguageModelSAERunnerConfig};
 * each description names the SAELens field where one exists.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"model", "hook", "dataset", "synthetic", "sae", "saes", "sweep", "activations", "training", "checkpoints", "resumeFrom", "resources",
        "telemetry", "report", "maxRestarts", "maxPreemptions", "suspend", "cancel"})
public class TrainingRunSpec {
    public static final String HOOK_PATTERN =
            "^blocks\\.(0|[1-9][0-9]{0,8})\\.(hook_resid_pre|hook_attn_out|hook_resid_mid|hook_mlp_out|hook_resid_post|mlp\\.hook_post)$";
    /** More restarts than this means the run is broken, not unlucky. */
    public static final int MAX_RESTARTS = 100;
    public static final String HOOK_FORM =
            "blocks.<layer>.<hook_resid_pre|hook_attn_out|hook_resid_mid|hook_mlp_out|hook_resid_post|mlp.hook_post>";

    @JsonPropertyDescription("Language model whose activations are read (SAELens model_name); leave out when synthetic is set.")
    public ModelSpec model;

    @JsonPropertyDescription("TransformerLens hook whose activations train the SAE (SAELens hook_name), e.g. blocks.28.hook_mlp_out.")
    @Pattern(HOOK_PATTERN)
    @Expect(what = "a hook name", form = HOOK_FORM)
    public String hook;

    @JsonPropertyDescription("Text the language model reads (SAELens dataset_path and packing options); leave out when synthetic is set.")
    public DatasetSpec dataset;

    @JsonPropertyDescription("Synthetic toy-model-of-superposition activations instead of a language model and dataset.")
    public SyntheticSpec synthetic;

    @JsonPropertyDescription("The sparse autoencoder: architecture, width and sparsity penalty; for one SAE, named after the run. "
            + "Leave out when spec.saes is set.")
    public SaeSpec sae;

    @JsonPropertyDescription("Several SAEs trained from one activation stream: one language-model forward to the deepest hook "
            + "feeds them all. Replaces spec.hook and spec.sae.")
    public List<SaeEntrySpec> saes;

    @JsonPropertyDescription("A grid over numeric sae or training fields (e.g. l0Coefficient: [0.3, 1, 3]): every SAE is trained "
            + "at every point, named <name>-<field>-<value>.")
    public Map<String, List<Double>> sweep;

    @JsonPropertyDescription("An activation cache the run writes or trains from, and how many pods generate it on a cluster.")
    public ActivationsSpec activations;

    @JsonPropertyDescription("Optimisation: token budget, batch size, learning-rate schedule, seed, precision.")
    public TrainingSpec training = new TrainingSpec();

    @JsonPropertyDescription("Where and how often checkpoints are written (SAELens n_checkpoints, checkpoint_path).")
    public CheckpointSpec checkpoints = new CheckpointSpec();

    @JsonPropertyDescription("A checkpoint to start from when the run has none of its own yet, e.g. s3://BUCKET/PREFIX/NAMESPACE/RUN/409600 "
            + "or runs/RUN/409600: an exact resume of its trainer state (weights, optimiser, counters, stream position), so the spec "
            + "must train the same thing. Needed to continue from a checkpoint another run wrote (another uid: a run deleted and "
            + "created again); the run's own checkpoints, once written, take precedence.")
    @Pattern(CheckpointSpec.URI_PATTERN)
    @Expect(what = "a checkpoint address", form = "s3://BUCKET/PREFIX/RUN/NAME, file://PATH/RUN/NAME or PATH/RUN/NAME")
    public String resumeFrom;

    @JsonPropertyDescription("Kubernetes resources of the training Job; ignored by saeforge train.")
    public ResourceSpec resources = new ResourceSpec();

    @JsonPropertyDescription("OpenTelemetry export of the trainer's traces and metrics.")
    public TelemetrySpec telemetry = new TelemetrySpec();

    @JsonPropertyDescription("The feature report of the final checkpoint: training curves, feature density and cards of"
            + " latents with their top-activating contexts and logits; saeforge train writes it by default, a Job only when"
            + " enabled.")
    public ReportSpec report = new ReportSpec();

    @JsonPropertyDescription("New Jobs started after attempts that ended without progress (no checkpoint newer than the one "
            + "they started from), each resuming from the last checkpoint; 0 never restarts. Ignored by saeforge train.")
    @Min(0)
    @Max(MAX_RESTARTS)
    public int maxRestarts = 3;

    @JsonPropertyDescription("New Jobs started after attempts that ended with progress (a newer checkpoint): preempted, evicted, "
            + "or checkpointed and exited 75. Unlimited when left out; not counted against maxRestarts. Ignored by saeforge train.")
    @Min(0)
    public Integer maxPreemptions;

    @JsonPropertyDescription("Stop the run's Job (the trainer checkpoints on SIGTERM) and start none while true; setting it "
            + "back to false starts a new attempt that resumes from the last checkpoint and is not counted as a restart.")
    public boolean suspend = false;

    @JsonPropertyDescription("Stop the run for good: its Job is deleted and the phase becomes Cancelled. Cannot be undone; "
            + "submit the run again under a new name instead.")
    public boolean cancel = false;

    /** A deep copy, to change for one use (a benchmark's token budget, a report's evaluation windows) without touching this spec. */
    public TrainingRunSpec copy() {
        return Mappers.json().convertValue(Mappers.json().valueToTree(this), TrainingRunSpec.class);
    }
}
