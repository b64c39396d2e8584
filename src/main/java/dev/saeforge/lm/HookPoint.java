package dev.saeforge.lm;

import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A TransformerLens hook point of a Qwen3 decoder layer, e.g. {@code blocks.28.hook_mlp_out}
 * (reference/saelens-qwen3.md §7.3). Sites are listed in the order the forward pass reaches them.
 */
public record HookPoint(int layer, Site site) {
    private static final Pattern NAME = Pattern.compile("blocks\\.(0|[1-9][0-9]{0,8})\\.(.+)");

    public enum Site {
        /** The residual stream entering the layer (the embeddings for layer 0). */
        RESID_PRE("hook_resid_pre"),
        /** The attention output after o_proj, before the residual add. */
        ATTN_OUT("hook_attn_out"),
        /** resid_pre + attn_out. */
        RESID_MID("hook_resid_mid"),
        /** SiLU(gate_proj(x)) * up_proj(x): the input of down_proj, intermediate_size wide. */
        MLP_POST("mlp.hook_post"),
        /** The MLP output (down_proj), before the residual add. */
        MLP_OUT("hook_mlp_out"),
        /** resid_mid + mlp_out: the layer's output. */
        RESID_POST("hook_resid_post");

        public final String suffix;

        Site(String suffix) {
            this.suffix = suffix;
        }
    }

    public HookPoint {
        if (layer < 0) {
            throw new IllegalArgumentException("hook layer must be >= 0, got " + layer);
        }
    }

    /** Parses {@code blocks.<layer>.<site>}. */
    public static HookPoint parse(String name) {
        Matcher m = NAME.matcher(name == null ? "" : name);
        if (m.matches()) {
            for (Site site : Site.values()) {
                if (site.suffix.equals(m.group(2))) {
                    return new HookPoint(Integer.parseInt(m.group(1)), site);
                }
            }
        }
        throw new IllegalArgumentException("hook \"" + name + "\" is not a Qwen3 hook point; expected blocks.<layer>.<"
                + String.join("|", Arrays.stream(Site.values()).map(s -> s.suffix).toList()) + ">");
    }

    /** The width of the activation at this hook: hidden_size, or intermediate_size for mlp.hook_post. */
    public int width(Qwen3Config config) {
        return site == Site.MLP_POST ? config.intermediateSize() : config.hiddenSize();
    }

    /** Refuses a hook whose layer the model does not have. */
    public void checkAgainst(Qwen3Config config, String model) {
        if (layer >= config.numLayers()) {
            throw new InvalidModelException("hook " + this + " needs layer " + layer + ", but " + model + " has "
                    + config.numLayers() + " layers (blocks.0 to blocks." + (config.numLayers() - 1) + ")");
        }
    }

    @Override
    public String toString() {
        return "blocks." + layer + "." + site.suffix;
    }
}
