package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/**
 * An activation cache (SAELens' cached_activations_path): shards of hook activations with the
 * token ids and positions they came from, a cache key naming everything that determines them, and
 * a manifest written last.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"uri", "mode", "dtype", "rowsPerShard"})
public class ActivationCacheSpec {
    /** 65536 rows of d_in 4096 in bfloat16 is 512 MiB: large enough for S3 throughput, small enough to redo. */
    public static final int DEFAULT_ROWS_PER_SHARD = 65_536;
    /** A shard is read whole; more rows than this would not fit a reader's memory at Qwen3-8B widths. */
    public static final int MAX_ROWS_PER_SHARD = 1 << 22;

    @JsonPropertyDescription("Where the cache is: s3://BUCKET/PREFIX, file://PATH or a local path (with spec.checkpoints.volume"
            + " set, a relative path inside that volume). Every pod of a parallel build must reach it.")
    @Required
    @Pattern(CheckpointSpec.URI_PATTERN)
    @Expect(what = "a cache location", form = CheckpointSpec.URI_FORM)
    public String uri;

    @JsonPropertyDescription("write: generate the cache from the model and dataset (while training, or in the Indexed Job when"
            + " parallelism is set); read: train from a complete cache whose key matches, with no language model loaded for"
            + " training; auto: read when a complete matching cache exists, else write it. Default auto.")
    public Mode mode = Mode.AUTO;

    @JsonPropertyDescription("Precision of the stored rows (bfloat16 or float32); defaults to the model's forward precision"
            + " (spec.model.dtype or the checkpoint's torch_dtype).")
    public Dtype dtype;

    @JsonPropertyDescription("Rows (tokens) per shard file. Default 65536.")
    @Min(1)
    @Max(MAX_ROWS_PER_SHARD)
    public int rowsPerShard = DEFAULT_ROWS_PER_SHARD;

    /**
     * Where a process opens the cache: {@code uri} inside the checkpoint volume's mount when the
     * Job mounted one and uri is a relative path (the Job sets {@link CheckpointSpec#MOUNT_VARIABLE}),
     * otherwise {@code uri} itself.
     */
    public String location(CheckpointSpec checkpoints, java.util.Map<String, String> env) {
        String mount = env.get(CheckpointSpec.MOUNT_VARIABLE);
        boolean relative = !uri.contains("://") && !uri.startsWith("/");
        return checkpoints.volume != null && mount != null && relative ? mount + "/" + uri : uri;
    }

    /**
     * Whether every pod of a Job reaches the cache: in an object store, or a relative path inside
     * the checkpoint volume (a path that climbs out of it with .. does not count).
     */
    public boolean reachableFromEveryPod(CheckpointSpec checkpoints) {
        return uri.startsWith("s3://") || checkpoints.volume != null && insideVolume();
    }

    /** A relative path that stays inside the directory it is resolved against. */
    boolean insideVolume() {
        return !uri.contains("://") && !uri.startsWith("/") && !java.util.List.of(uri.split("/")).contains("..");
    }

    public enum Mode {
        @JsonProperty("write") WRITE,
        @JsonProperty("read") READ,
        @JsonProperty("auto") AUTO;

        public String value() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public enum Dtype {
        @JsonProperty("bfloat16") BFLOAT16,
        @JsonProperty("float32") FLOAT32;

        public String value() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
