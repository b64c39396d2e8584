package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** One SAE of a run that trains several from one activation stream (an entry of spec.saes). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"name", "hook", "sae", "training"})
public class SaeEntrySpec {
    public static final String NAME_PATTERN = "^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$";

    @JsonPropertyDescription("Name of the SAE within the run: its checkpoint sub-directory, status row and metric attribute.")
    @Required
    @Pattern(NAME_PATTERN)
    @Expect(what = "an SAE name", form = "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 63")
    public String name;

    @JsonPropertyDescription("TransformerLens hook whose activations train this SAE (SAELens hook_name); leave out for a synthetic run.")
    @Pattern(TrainingRunSpec.HOOK_PATTERN)
    @Expect(what = "a hook name", form = TrainingRunSpec.HOOK_FORM)
    public String hook;

    @JsonPropertyDescription("The sparse autoencoder: architecture, width and sparsity penalty.")
    @Required
    public SaeSpec sae;

    @JsonPropertyDescription("This SAE's optimiser and schedule, where they differ from spec.training.")
    public SaeTrainingSpec training;
}
