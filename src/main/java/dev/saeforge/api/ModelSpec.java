package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** The language model: a Hugging Face Qwen3 checkpoint, from the hub, object storage or disk. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"name", "uri", "dtype"})
public class ModelSpec {
    public static final String URI_PATTERN =
            "^(hf://[A-Za-z0-9][\\w.-]*/[\\w.-]+(@[\\w.-]+)?|s3://[a-z0-9][a-z0-9.-]+[a-z0-9](/\\S*)?|file://\\S+|tiny://qwen3|[^:\\s][^:]*)$";
    public static final String URI_FORM = "hf://ORG/NAME[@REVISION], s3://BUCKET/PREFIX, file://PATH, a local path, or tiny://qwen3";

    @JsonPropertyDescription("Model id recorded in checkpoints (SAELens model_name), e.g. Qwen/Qwen3-8B.")
    @Required
    public String name;

    @JsonPropertyDescription("Where the weights, config.json and tokenizer.json are; defaults to hf://<name>."
            + " tiny://qwen3 is a small random Qwen3 written to the cache on first use.")
    @Pattern(URI_PATTERN)
    @Expect(what = "a model location", form = URI_FORM)
    public String uri;

    @JsonPropertyDescription("Precision of the forward pass (bfloat16, float16 or float32); defaults to the checkpoint's"
            + " torch_dtype, bfloat16 for Qwen3, as SAELens' autocast_lm runs it. Activations reach the SAEs as float32."
            + " float16 overflows on Qwen3's large activations; a non-finite activation stops the run.")
    public Dtype dtype;

    public enum Dtype {
        @JsonProperty("bfloat16") BFLOAT16,
        @JsonProperty("float16") FLOAT16,
        @JsonProperty("float32") FLOAT32
    }
}
