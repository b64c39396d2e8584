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
 * Checkpoints: SAELens-loadable directories under {@code <uri>/<run name>/}, or
 * {@code <uri>/<namespace>/<run name>/} for a run in a cluster ({@link RunIdentity#checkpointLocation}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"count", "keep", "uri", "volume", "retryFor"})
public class CheckpointSpec {
    public static final String URI_PATTERN =
            "^(s3://[a-z0-9][a-z0-9.-]+[a-z0-9](/\\S*)?|file://\\S+|[^:\\s][^:]*)$";
    public static final String URI_FORM = "s3://BUCKET/PREFIX, file://PATH or a local path";
    /** Far more than anyone keeps (SAELens' default is 0), and few enough to plan them all up front. */
    public static final int MAX_COUNT = 10_000;
    /** A uri that says, in so many words, that checkpoints may be lost with the trainer's pod. */
    public static final String POD_LOCAL = "pod-local";
    /** Where a Job mounts spec.checkpoints.volume; the Job tells the trainer through {@link #MOUNT_VARIABLE}. */
    public static final String MOUNT_PATH = "/checkpoints";
    public static final String MOUNT_VARIABLE = "SAEFORGE_CHECKPOINT_MOUNT";
    /** The directory pod-local stands for: the default uri, relative to the working directory. */
    private static final String LOCAL_DIRECTORY = "runs";
    /** Enough to fall back past a damaged newest checkpoint, few enough that on-stop checkpoints of a preempted week do not fill storage. */
    public static final int DEFAULT_KEEP = 3;

    @JsonPropertyDescription("Evenly spaced checkpoints during training, besides the final one (SAELens n_checkpoints).")
    @Min(0)
    @Max(MAX_COUNT)
    public int count = 0;

    @JsonPropertyDescription("How many of the newest periodic and on-stop (SIGTERM) checkpoints are kept; older ones are deleted "
            + "after each checkpoint. The final checkpoints and the newest complete one are always kept. Default 3; SAELens keeps all "
            + "n_checkpoints, which count + 1 also does here (each stop writes one more).")
    @Min(0)
    public int keep = DEFAULT_KEEP;

    @JsonPropertyDescription("Base location; each run writes under <uri>/<run name>/, in a cluster under <uri>/<namespace>/<run name>/ "
            + "(SAELens checkpoint_path). With volume set, a relative path inside the volume. A Job needs s3://BUCKET/PREFIX or a "
            + "volume, for a local path in its pod is lost with the pod; pod-local accepts that loss and writes to ./runs in the pod.")
    @Pattern(URI_PATTERN)
    @Expect(what = "a checkpoint location", form = URI_FORM)
    public String uri = LOCAL_DIRECTORY;

    @JsonPropertyDescription("A PersistentVolumeClaim the Job mounts at " + MOUNT_PATH + " to keep checkpoints beyond the pod; "
            + "uri is then a relative path inside it. Ignored by saeforge train outside a Job.")
    public Volume volume;

    @JsonPropertyDescription("How long a request to an s3:// checkpoint store (writing a checkpoint, or finding the one to resume)"
            + " is retried with exponential back-off while the server is unreachable, failing or throttling, e.g. during a"
            + " MinIO restart; after that the trainer exits 75, so that a new attempt resumes from the last complete"
            + " checkpoint. A duration such as 90s, 10m or 1h30m.")
    @Pattern(DurationText.PATTERN)
    @Expect(what = "a duration", form = DurationText.FORM)
    public String retryFor = "10m";

    public static class Volume {
        @JsonPropertyDescription("Name of a PersistentVolumeClaim in the run's namespace.")
        @Required
        public String claimName;

        @JsonPropertyDescription("Directory inside the claim to mount instead of its root.")
        public String subPath;
    }

    /** Whether the checkpoints outlive the trainer's pod: in S3, or in a volume the Job mounts. */
    public boolean outlivesPod() {
        return uri.startsWith("s3://") || volume != null;
    }

    /**
     * Where the trainer opens its checkpoint store: {@code uri} inside the volume's mount when the
     * Job mounted one (environment variable {@link #MOUNT_VARIABLE}), otherwise {@code uri} itself,
     * pod-local being the directory runs.
     */
    public String location(Map<String, String> env) {
        String path = POD_LOCAL.equals(uri) ? LOCAL_DIRECTORY : uri;
        String mount = env.get(MOUNT_VARIABLE);
        return volume != null && mount != null ? mount + "/" + path : path;
    }

    /** Whether uri can name a directory inside a volume: a relative path that does not climb out of it. */
    boolean relativePath() {
        return !uri.contains("://") && !uri.startsWith("/") && !POD_LOCAL.equals(uri) && !List.of(uri.split("/")).contains("..");
    }
}
