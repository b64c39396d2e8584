package dev.saeforge.report;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

import java.util.List;
import java.util.Map;

/**
 * What {@code saeforge report} found out about a checkpoint's SAEs: report.json, and everything
 * index.html shows. One section per SAE of the run, in the run's order. Keys are snake_case; the
 * README documents the schema, and {@link #SCHEMA} changes whenever a key changes meaning.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Report(int schema, String run, String checkpoint, String uri, long tokensTrained, HeldOut heldOut, List<SaeSection> saes) {
    public static final int SCHEMA = 1;

    /**
     * The tokens the latents were collected over: how many, where they came from (the run's
     * dataset.eval, or its training dataset after the training range), and whether that data ran
     * out and was read again from its start.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record HeldOut(long tokens, String source, boolean wrapped) {
    }

    /**
     * One SAE: its training curves and evaluation points from the run's logged metrics, the
     * density of its latents over the held-out tokens (dead: never fired; dense: fired on more than
     * {@link #DENSE_FREQUENCY} of them) and the cards of its chosen latents.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SaeSection(String name, String hook, String architecture, int dIn, int dSae, Curves curves, List<EvaluationPoint> evaluations,
                             Histogram densityHistogram, int deadLatents, int denseLatents, List<Latent> latents) {
    }

    /** Latents firing on more than this fraction of tokens are dense. */
    public static final double DENSE_FREQUENCY = 0.1;

    /**
     * Logged training metrics over tokens, column-wise: {@code series} maps a metric's name (its
     * SAELens name without the section, e.g. overall_loss, mse_loss, l0, explained_variance,
     * dead_features, learning_rate, and the architecture's sparsity and auxiliary loss and
     * coefficient) to one value per entry of {@code tokens}.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Curves(List<Long> tokens, Map<String, List<Double>> series) {
    }

    /** One held-out evaluation during training: after {@code tokens}, its metrics by name (ce_loss_score, kl_div_score, ...). */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record EvaluationPoint(long tokens, Map<String, Double> metrics) {
    }

    /** Counts of values in consecutive bins: bin i is [edges[i], edges[i+1]), the last one closed. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Histogram(List<Double> edges, List<Long> counts) {
    }

    /**
     * One latent's card. {@code frequency}: the fraction of held-out tokens it fired on;
     * {@code chosenAs}: why it has a card (frequent, sample or requested); {@code topContexts}: the
     * windows around its highest activations, highest first; {@code activationHistogram}: its
     * non-zero activations; {@code topLogits}: the logit lens of its decoder direction.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Latent(int index, double frequency, double maxActivation, String chosenAs, List<Context> topContexts,
                         Histogram activationHistogram, TopLogits topLogits) {
    }

    /**
     * Tokens around one high activation, each with the latent's activation on it; {@code peak} is
     * the index in {@code tokens} of the activation the context was chosen for.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Context(List<String> tokens, List<Double> activations, int peak) {
    }

    /**
     * The tokens whose logits the latent's decoder direction raises most ({@code positive}) and
     * lowers most ({@code negative}) through the unembedding: each entry is [token, value].
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TopLogits(List<List<Object>> positive, List<List<Object>> negative) {
    }
}
