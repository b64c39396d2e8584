package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

import java.util.List;
import java.util.Map;

/** Checkpoints: SAELens-loadable directories under {@code <uri>/<run name>/}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"count", "uri", "volume"})
public class CheckpointSpec {
    public static final String URI_PATTERN =
            "^(s3://[a-z0-9][a-z0-9.-]+[a-z0-9](/\\S*)?|file://\\S+|[^:\\s][^:]*)$";
    public static final String URI_FORM = "s3://BUCKET/PREFIX, file://PATH or a local path";
    /** A uri that says, in so many words, that checkpoints may be lost with the trainer's pod. */
    public static final String POD_LOCAL = "pod-local";
    /** Where a Job mounts spec.checkpoints.volume; the Job tells the trainer through {@link #MOUNT_VARIABLE}. */
    public static final String MOUNT_PATH = "/checkpoints";
    public static final String MOUNT_VARIABLE = "SAEFORGE_CHECKPOINT_MOUNT";
    /** The directory pod-local stands for: the default uri, relative to the working directory. */
    private static final String LOCAL_DIRECTORY = "runs";

    @JsonPropertyDescription("Evenly spaced checkpoints during training, besides the final one (SAELens n_checkpoints).")
    @Min(0)
    public int count = 0;

    @JsonPropertyDescription("Base location; each run writes under <uri>/<run name>/ (SAELens checkpoint_path). With volume set, a "
            + "relative path inside the volume. A Job needs s3://BUCKET/PREFIX or a volume, for a local path in its pod is lost "
            + "with the pod; pod-local accepts that loss and writes to ./runs in the pod.")
    @Pattern(URI_PATTERN)
    @Expect(what = "a checkpoint location", form = URI_FORM)
    public String uri = LOCAL_DIRECTORY;

    @JsonPropertyDescription("A PersistentVolumeClaim the Job mounts at " + MOUNT_PATH + " to keep checkpoints beyond the pod; "
            + "uri is then a relative path inside it. Ignored by saeforge train outside a Job.")
    public Volume volume;

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
