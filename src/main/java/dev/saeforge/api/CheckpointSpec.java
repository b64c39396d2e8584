package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;

/**
 * Checkpoints: SAELens-loadable directories under {@code <uri>/<run name>/}, or
 * {@code <uri>/<namespace>/<run name>/} for a run in a cluster ({@link RunIdentity#checkpointLocation}).
 */
@JsonPropertyOrder({"count", "keep", "uri", "retryFor"})
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

    /** Enough to fall back past a damaged newest checkpoint, few enough that on-stop checkpoints of a preempted week do not fill storage. */
    public static final int DEFAULT_KEEP = 3;

    @JsonPropertyDescription("How many of the newest periodic and on-stop (SIGTERM) checkpoints are kept; older ones are deleted "
            + "after each checkpoint. The final checkpoints and the newest complete one are always kept. Default 3; SAELens keeps all "
            + "n_checkpoints, which count + 1 also does here (each stop writes one more).")
    @Min(0)
    public int keep = DEFAULT_KEEP;

    @JsonPropertyDescription("Base location; each run writes under <uri>/<run name>/, in a cluster under <uri>/<namespace>/<run name>/ "
            + "(SAELens checkpoint_path).")
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
