package dev.saeforge.train;

import dev.saeforge.cache.CacheLayout;
import dev.saeforge.cache.CacheWriter;
import dev.saeforge.store.CheckpointRef;

import java.util.List;

/** What a run is doing, for terminals, status reporters and telemetry. Every method has a do-nothing default. */
public interface TrainingListener {
    default void started(Plan plan) {
    }

    /** Every spec.training.logEverySteps steps and at the last: each SAE's metrics and the run's pace. */
    default void progress(Progress progress) {
    }

    /** A checkpoint of every SAE was published. */
    default void checkpointed(CheckpointRef checkpoint) {
    }

    /** SAE {@code sae} was evaluated on held-out data, at spec.training.evalEverySteps and at the end (after {@code step} steps). */
    default void evaluated(long step, long tokens, String sae, Evaluation evaluation) {
    }

    /** A piece of work that took a while (loading the model, a checkpoint, an evaluation), after it ended. */
    default void timed(Operation operation) {
    }

    /** Who hears of the activation cache a run builds before it trains (spec.activations.cache, mode write or auto). */
    default CacheWriter.Listener cacheBuild() {
        return CacheWriter.Listener.NONE;
    }

    /** Tells every listener in turn. */
    static TrainingListener all(List<TrainingListener> listeners) {
        return new TrainingListener() {
            @Override
            public void started(Plan plan) {
                listeners.forEach(l -> l.started(plan));
            }

            @Override
            public void progress(Progress progress) {
                listeners.forEach(l -> l.progress(progress));
            }

            @Override
            public void checkpointed(CheckpointRef checkpoint) {
                listeners.forEach(l -> l.checkpointed(checkpoint));
            }

            @Override
            public void evaluated(long step, long tokens, String sae, Evaluation evaluation) {
                listeners.forEach(l -> l.evaluated(step, tokens, sae, evaluation));
            }

            @Override
            public void timed(Operation operation) {
                listeners.forEach(l -> l.timed(operation));
            }

            @Override
            public CacheWriter.Listener cacheBuild() {
                List<CacheWriter.Listener> each = listeners.stream().map(TrainingListener::cacheBuild).toList();
                return new CacheWriter.Listener() {
                    @Override
                    public void started(CacheWriter.Part part) {
                        each.forEach(l -> l.started(part));
                    }

                    @Override
                    public void progress(CacheWriter.Progress progress) {
                        each.forEach(l -> l.progress(progress));
                    }

                    @Override
                    public void finished(CacheWriter.Part part, CacheLayout.IndexManifest manifest) {
                        each.forEach(l -> l.finished(part, manifest));
                    }
                };
            }
        };
    }
}
