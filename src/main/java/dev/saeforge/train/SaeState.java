package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.sae.SaeArchitecture;
import dev.saeforge.sae.SaeArchitectures;
import dev.saeforge.sae.TrainingSae;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Everything one SAE of a run is while it trains: its definition, weights, optimiser, firing
 * statistics, step counters, activation scale, and its newest evaluation. Checkpoints write and
 * read it as one thing ({@link TrainerState} and the SAELens files), so a run with many SAEs
 * passes one of these per SAE.
 */
final class SaeState implements AutoCloseable {
    private final SaeDefinition definition;
    private final int hookIndex;
    private final TrainingSae sae;
    private final Adam adam;
    private final FeatureStats stats;
    private final SaeTrainer trainer;
    private final double activationScale;
    private boolean folded;
    private Evaluation lastEvaluation;
    private long lastEvaluationStep;

    /** {@code sae} as it is, with a fresh optimiser and statistics. */
    SaeState(SaeDefinition definition, int hookIndex, TrainingSae sae, double activationScale, NDManager manager) {
        TrainingSpec training = definition.training();
        this.definition = definition;
        this.hookIndex = hookIndex;
        this.sae = sae;
        this.activationScale = activationScale;
        this.adam = new Adam(sae.parameters(), training.adamBeta1, training.adamBeta2, 1e-8, manager);
        this.stats = new FeatureStats(sae.dSae(), training.deadFeatureWindow, training.featureSamplingWindow, manager);
        SaeArchitecture architecture = architecture(definition);
        this.trainer = new SaeTrainer(sae, adam, stats, Schedules.LearningRate.of(training),
                architecture.sparsityCoefficient(definition.sae()), architecture.sparsityWarmUpSteps(definition.sae()),
                architecture.needsDeadMask(definition.sae()), activationScale);
    }

    /** A fresh SAE, initialised from its own seed, fed by the stream's hook {@code hookIndex} of width {@code dIn}. */
    static SaeState start(SaeDefinition definition, int hookIndex, int dIn, double activationScale, NDManager manager) {
        TrainingSae sae = architecture(definition).initialise(definition.sae(), dIn, manager, definition.seed());
        return new SaeState(definition, hookIndex, sae, activationScale, manager);
    }

    /** The SAE as a checkpoint's directory {@code dir} left it. */
    static SaeState resume(SaeDefinition definition, int hookIndex, int dIn, Path dir, String checkpoint, NDManager manager)
            throws IOException {
        try (TrainerState saved = TrainerState.read(dir, checkpoint, manager)) {
            TrainingSae sae = architecture(definition).fromParameters(definition.sae(), dIn, manager, saved.weights());
            SaeState state = new SaeState(definition, hookIndex, sae, saved.activationScale(), manager);
            saved.restoreInto(state);
            return state;
        }
    }

    /** The SAE's architecture, from the registry. */
    SaeArchitecture architecture() {
        return architecture(definition);
    }

    private static SaeArchitecture architecture(SaeDefinition definition) {
        return SaeArchitectures.of(definition.sae().architecture);
    }

    /** One training step on this SAE's hook's rows of a stream batch. */
    SaeTrainer.Step step(NDArray rows) {
        return trainer.step(rows);
    }

    Metrics metrics(SaeTrainer.Step step) {
        return trainer.metrics(step, definition.name(), definition.hook());
    }

    /** Folds the expected_average_only_in scale into the weights, as SAELens does at the end of training. */
    void foldActivationScale() {
        sae.foldActivationScale(activationScale);
        folded = true;
    }

    /** The scale still to apply to inputs: 1 once folded. */
    double unfoldedScale() {
        return folded ? 1.0 : activationScale;
    }

    void evaluated(long step, Evaluation evaluation) {
        lastEvaluation = evaluation;
        lastEvaluationStep = step;
    }

    SaeDefinition definition() {
        return definition;
    }

    String name() {
        return definition.name();
    }

    int hookIndex() {
        return hookIndex;
    }

    TrainingSae sae() {
        return sae;
    }

    Adam adam() {
        return adam;
    }

    FeatureStats stats() {
        return stats;
    }

    SaeTrainer trainer() {
        return trainer;
    }

    double activationScale() {
        return activationScale;
    }

    boolean folded() {
        return folded;
    }

    Evaluation lastEvaluation() {
        return lastEvaluation;
    }

    long lastEvaluationStep() {
        return lastEvaluationStep;
    }

    @Override
    public void close() {
        trainer.close();
        sae.close();
    }
}
