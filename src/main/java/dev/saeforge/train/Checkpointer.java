package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.saeforge.api.DatasetSpec;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.sae.JumpReluSae;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a run's checkpoints: a SAELens checkpoint directory (cfg.json, sae_weights, sparsity,
 * activation_scaler.json; cfg.json's metadata records the packing choices, such as the BOS id, and
 * the newest evaluation) and the trainer state that makes resume exact, staged locally and then
 * published to the run's {@link CheckpointStore}, which makes it visible only once complete.
 */
final class Checkpointer {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final TrainingRun run;
    private final JumpReluSae.Config config;
    private final CheckpointStore store;
    private final TrainingListener listener;
    private double activationScale;
    private boolean folded;
    private Evaluation lastEvaluation;
    private long lastEvaluationStep;

    Checkpointer(TrainingRun run, JumpReluSae.Config config, CheckpointStore store, double activationScale, TrainingListener listener) {
        this.run = run;
        this.config = config;
        this.store = store;
        this.activationScale = activationScale;
        this.listener = listener;
    }

    double activationScale() {
        return activationScale;
    }

    /**
     * Folds the expected_average_only_in scale into the weights, as SAELens does at the end of
     * training, so the final SAE takes raw activations: W_enc·s, W_dec/s, b_dec/s.
     */
    void foldActivationScale(JumpReluSae sae) {
        if (activationScale != 1.0) {
            sae.parameters().get(JumpReluSae.W_ENC).muli(activationScale);
            sae.parameters().get(JumpReluSae.W_DEC).divi(activationScale);
            sae.parameters().get(JumpReluSae.B_DEC).divi(activationScale);
        }
        folded = true;
    }

    /** Remembers the newest interval evaluation, recorded in the checkpoints that follow it. */
    void evaluated(long step, Evaluation evaluation) {
        lastEvaluation = evaluation;
        lastEvaluationStep = step;
    }

    CheckpointRef write(String name, JumpReluSae sae, SaeTrainer trainer, Adam adam, FeatureStats stats,
                        ActivationSource source, Metrics metrics, boolean isFinal) throws IOException {
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("step", trainer.stepsDone());
        info.put("tokens", trainer.tokensDone());
        info.put("final", isFinal);
        info.put("dead_features", stats.deadCount());
        if (metrics != null) {
            info.put("metrics", metricsJson(metrics));
        }
        Map<String, Object> extraMetadata = new LinkedHashMap<>();
        if (lastEvaluation != null) {
            Map<String, Object> evaluation = new LinkedHashMap<>(lastEvaluation.toJson());
            evaluation.put("evaluation_step", lastEvaluationStep);
            info.put("evaluation", evaluation);
            extraMetadata.putAll(evaluation);
        }
        return publish(name, sae, trainer, adam, stats, source, info, extraMetadata);
    }

    CheckpointRef writeFinal(String name, JumpReluSae sae, SaeTrainer trainer, Adam adam, FeatureStats stats,
                             ActivationSource source, Evaluation evaluation) throws IOException {
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("step", trainer.stepsDone());
        info.put("tokens", trainer.tokensDone());
        info.put("final", true);
        info.put("dead_features", stats.deadCount());
        info.put("evaluation", evaluation.toJson());
        Map<String, Object> extraMetadata = new LinkedHashMap<>(evaluation.toJson());
        extraMetadata.put("dead_features", stats.deadCount());
        return publish(name, sae, trainer, adam, stats, source, info, extraMetadata);
    }

    private CheckpointRef publish(String name, JumpReluSae sae, SaeTrainer trainer, Adam adam, FeatureStats stats,
                                  ActivationSource source, Map<String, Object> info, Map<String, Object> extraMetadata) throws IOException {
        java.time.Instant start = java.time.Instant.now();
        String runName = run.getMetadata().getName();
        Path dir = Training.stagingDirectory(runName, name);
        try {
            JSON.writeValue(dir.resolve(SaeLensCheckpoint.CONFIG).toFile(), cfg(trainer.tokensDone(), stats.deadCount(), source, extraMetadata));
            Safetensors.Writer weights = Safetensors.writer();
            sae.parameters().forEach((key, value) -> add(weights, key, value));
            weights.write(dir.resolve(SaeLensCheckpoint.WEIGHTS));
            Safetensors.Writer sparsity = Safetensors.writer();
            add(sparsity, "sparsity", stats.log10Sparsity());
            sparsity.write(dir.resolve(SaeLensCheckpoint.SPARSITY));
            Map<String, Object> scaler = new LinkedHashMap<>();
            scaler.put("scaling_factor", activationScale == 1.0 || folded ? null : activationScale);
            JSON.writeValue(dir.resolve(SaeLensCheckpoint.ACTIVATION_SCALER).toFile(), scaler);
            TrainerState.write(dir, trainer, adam, stats, source, activationScale, folded);
            Files.writeString(dir.resolve(SaeLensCheckpoint.TRAINING_RUN), TrainingRuns.toYaml(run));
            CheckpointRef ref = store.publish(runName, name, dir, info);
            Map<String, Object> attributes = new LinkedHashMap<>();
            attributes.put("checkpoint", name);
            attributes.put("uri", ref.uri());
            attributes.put("bytes", ref.bytes());
            attributes.put("tokens", trainer.tokensDone());
            listener.timed(new Operation("checkpoint", start, java.time.Instant.now(), attributes));
            listener.checkpointed(ref);
            return ref;
        } finally {
            deleteRecursively(dir);
        }
    }

    /**
     * cfg.json: the keys SAELens' loader reads (§4.3 of the format), the JumpReLU training keys,
     * and metadata describing where the activations came from.
     */
    private Map<String, Object> cfg(long tokens, int deadFeatures, ActivationSource source, Map<String, Object> extraMetadata) {
        TrainingRunSpec spec = run.getSpec();
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("architecture", "jumprelu");
        cfg.put("d_in", config.dIn());
        cfg.put("d_sae", config.dSae());
        cfg.put("dtype", "float32");
        cfg.put("device", "cpu");
        cfg.put("apply_b_dec_to_input", config.applyBDecToInput());
        // Unfolded mid-training checkpoints say so, with the factor in activation_scaler.json.
        cfg.put("normalize_activations", activationScale == 1.0 || folded ? "none" : "expected_average_only_in");
        cfg.put("reshape_activations", "none");
        cfg.put("decoder_init_norm", config.decoderInitNorm());
        cfg.put("jumprelu_init_threshold", config.initThreshold());
        cfg.put("jumprelu_bandwidth", config.bandwidth());
        cfg.put("jumprelu_sparsity_loss_mode", spec.sae.sparsityLossMode == dev.saeforge.api.SaeSpec.SparsityLossMode.STEP ? "step" : "tanh");
        cfg.put("jumprelu_tanh_scale", config.tanhScale());
        cfg.put("l0_coefficient", spec.sae.l0Coefficient);
        cfg.put("l0_warm_up_steps", spec.sae.l0WarmUpSteps);
        cfg.put("pre_act_loss_coefficient", config.preActLossCoefficient());

        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("sae_lens_version", SaeLensCheckpoint.SAE_LENS_FORMAT_VERSION);
        metadata.put("sae_lens_training_version", SaeLensCheckpoint.SAE_LENS_FORMAT_VERSION);
        metadata.put("saeforge_run", run.getMetadata().getName());
        if (spec.synthetic != null) {
            metadata.put("model_name", "saeforge/toy-superposition");
            metadata.put("hook_name", "synthetic");
            metadata.put("hook_head_index", null);
            metadata.put("context_size", 1);
            metadata.put("prepend_bos", false);
            metadata.put("dataset_path", "synthetic://superposition?features=" + spec.synthetic.features + "&d_in="
                    + spec.synthetic.dIn + "&p=" + spec.synthetic.firingProbability + "&seed=" + spec.training.seed);
        } else {
            DatasetSpec dataset = spec.dataset;
            metadata.put("model_name", spec.model.name);
            metadata.put("hook_name", spec.hook);
            metadata.put("hook_head_index", null);
            metadata.put("context_size", dataset.contextSize);
            metadata.put("prepend_bos", dataset.prependBos);
            metadata.put("dataset_path", dataset.uri);
            metadata.put("sequence_separator_token", switch (dataset.sequenceSeparator) {
                case BOS -> "bos";
                case EOS -> "eos";
                case NONE -> null;
            });
            metadata.put("disable_concat_sequences", dataset.disableConcatSequences);
            metadata.putAll(source.metadata());
        }
        metadata.put("seqpos_slice", java.util.Arrays.asList((Object) null));
        metadata.put("model_class_name", "HookedTransformer");
        metadata.putIfAbsent("model_from_pretrained_kwargs", Map.of("center_writing_weights", false));
        metadata.put("exclude_special_tokens", false);
        metadata.put("training_tokens", tokens);
        metadata.put("dead_features", deadFeatures);
        metadata.putAll(extraMetadata);
        cfg.put("metadata", metadata);
        return cfg;
    }

    private static Map<String, Object> metricsJson(Metrics m) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("overall_loss", m.overallLoss());
        out.put("mse_loss", m.mseLoss());
        out.put("l0_loss", m.sparsityLoss());
        out.put("pre_act_loss", m.auxiliaryLoss());
        out.put("explained_variance", m.explainedVariance());
        out.put("l0", m.l0());
        out.put("dead_features", m.deadFeatures());
        out.put("learning_rate", m.learningRate());
        out.put("l0_coefficient", m.sparsityCoefficient());
        return out;
    }

    /** Adds a float tensor, widened or narrowed to F32, in little-endian order. */
    static void add(Safetensors.Writer writer, String name, NDArray value) {
        NDArray f32 = value.toType(DataType.FLOAT32, false);
        ByteBuffer bytes = f32.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        writer.add(name, Safetensors.Dtype.F32, f32.getShape().getShape(), bytes);
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
