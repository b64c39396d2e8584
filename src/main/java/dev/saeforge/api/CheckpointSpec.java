package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;

/** Checkpoints: SAELens-loadable directories under {@code <uri>/<run name>/}. */
@JsonPropertyOrder({"count", "uri", "retryFor"})
public class CheckpointSpec {
    public static final String URI_PATTERN =
            "^(s3://[a-z0-9][a-z0-9.-]+[a-z0-9](/\\S*)?|file://\\S+|[^:\\s][^:]*)$";
    public static final String URI_FORM = "s3://BUCKET/PREFIX, file://PATH or a local path";

    @JsonPropertyDescription("Evenly spaced checkpoints during training, besides the final one (SAELens n_checkpoints).")
    @Min(0)
    public int count = 0;

    @JsonPropertyDescription("Base location; each run writes under <uri>/<run name>/ (SAELens checkpoint_path).")
    @Pattern(URI_PATTERN)
    @Expect(what = "a checkpoint location", form = URI_FORM)
    public String uri = "runs";

    @JsonPropertyDescription("How long a request to an s3:// checkpoint store (writing a checkpoint, or finding the one to resume)"
            + " is retried with exponential back-off while the server is unreachable, failing or throttling, e.g. during a"
            + " MinIO restart; after that the trainer exits 75, so that a new attempt resumes from the last complete"
            + " checkpoint. A duration such as 90s, 10m or 1h30m.")
    @Pattern(DurationText.PATTERN)
    @Expect(what = "a duration", form = DurationText.FORM)
    public String retryFor = "10m";
}
