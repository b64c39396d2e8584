package dev.saeforge.train;

import dev.saeforge.api.Problem;
import dev.saeforge.api.ReportSpec;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.Qwen3Config;

import java.util.ArrayList;
import java.util.List;

/**
 * What a model's shape says about the SAEs of a run before it starts: each hook must be in a
 * layer the model has, and an SAE's sae.dIn, where set, must be its hook's width (hidden_size,
 * intermediate_size for mlp.hook_post). The trainer checks the same when it loads the model.
 */
public final class HookWidths {
    private HookWidths() {
    }

    /** What is wrong with {@code saes} for the model {@code model} of shape {@code config}, named by field. */
    public static List<Problem> problems(List<SaeDefinition> saes, Qwen3Config config, String model) {
        List<Problem> problems = new ArrayList<>();
        for (SaeDefinition sae : saes) {
            HookPoint hook = HookPoint.parse(sae.hook());
            if (hook.layer() >= config.numLayers()) {
                problems.add(new Problem(sae.hookPath(), "\"" + hook + "\" needs layer " + hook.layer() + ", but " + model + " has "
                        + config.numLayers() + " layers (blocks.0 to blocks." + (config.numLayers() - 1) + ")"));
            } else if (sae.sae().dIn != null && sae.sae().dIn != hook.width(config)) {
                String size = hook.site() == HookPoint.Site.MLP_POST ? "intermediate_size" : "hidden_size";
                problems.add(new Problem(sae.saePath() + ".dIn", sae.sae().dIn + " does not match " + hook + " of " + model + ", which is "
                        + hook.width(config) + " wide (its " + size + ")"));
            }
        }
        return problems.stream().distinct().toList();
    }

    /**
     * What is wrong with the latents {@code report} names, for the SAEs whose width only the model's
     * shape gives (sae.expansionFactor times the hook's width); the spec's check covers the others.
     */
    public static List<Problem> reportProblems(List<SaeDefinition> saes, Qwen3Config config, ReportSpec report) {
        List<Problem> problems = new ArrayList<>();
        for (SaeDefinition sae : saes) {
            if (sae.sae().dSae == null && sae.sae().dIn == null && sae.sae().expansionFactor != null) {
                problems.addAll(report.problems(sae.name(), sae.sae().expansionFactor * HookPoint.parse(sae.hook()).width(config)));
            }
        }
        return problems;
    }
}
