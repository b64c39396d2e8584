package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;

/** Checkpoints: SAELens-loadable directories under {@code <uri>/<run name>/}. */
@JsonPropertyOrder({"count", "uri"})
public class CheckpointSpec {
    public static final String URI_PATTERN =
            "^(s3://[a-z0-9][a-z0-9.-]+[a-z0-9](/\\S*)?|file://\\S+|[^:\\s][^:]*)$";
    public static final String URI_FORM = "s3://BUCKET/PREFIX, file://PATH or a local path";
    /** Far more than anyone keeps (SAELens' default is 0), and few enough to plan them all up front. */
    public static final int MAX_COUNT = 10_000;

    @JsonPropertyDescription("Evenly spaced checkpoints during training, besides the final one (SAELens n_checkpoints).")
    @Min(0)
    @Max(MAX_COUNT)
    public int count = 0;

    @JsonPropertyDescription("Base location; each run writes under <uri>/<run name>/ (SAELens checkpoint_path).")
    @Pattern(URI_PATTERN)
    @Expect(what = "a checkpoint location", form = URI_FORM)
    public String uri = "runs";
}
