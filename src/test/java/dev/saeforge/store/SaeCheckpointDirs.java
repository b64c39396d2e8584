package dev.saeforge.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Checkpoint directories for tests: written as SAELens lays them out, with random weights, and compared. */
public final class SaeCheckpointDirs {
    private SaeCheckpointDirs() {
    }

    /**
     * A JumpReLU checkpoint of width {@code dSae} on {@code dIn}-dimensional activations: cfg.json,
     * sae_weights.safetensors (about 8 * dIn * dSae bytes), sparsity.safetensors and
     * activations_store_state.safetensors. The same seed gives the same bytes.
     */
    static Path write(Path dir, int dIn, int dSae, long tokens, long seed) throws IOException {
        writeSae(dir, "blocks.14.hook_mlp_out", dIn, dSae, seed);
        Safetensors.writer().addLongs("n_dataset_processed", new long[]{}, new long[]{tokens / 1024})
                .write(dir.resolve("activations_store_state.safetensors"));
        return dir;
    }

    /**
     * A checkpoint of several SAEs as the trainer lays one out: a directory per SAE, named after it,
     * holding its SAELens files (cfg.json, sae_weights.safetensors, sparsity.safetensors,
     * activation_scaler.json, trainer_state.json), and training_run.yaml and
     * activation_stream.json at the root. {@code hooks} maps each SAE's name to its hook, in order.
     */
    public static Path writeSeveral(Path dir, int dIn, int dSae, long tokens, Map<String, String> hooks) throws IOException {
        long seed = tokens;
        for (Map.Entry<String, String> sae : hooks.entrySet()) {
            Path saeDir = writeSae(dir.resolve(sae.getKey()), sae.getValue(), dIn, dSae, seed++);
            Files.writeString(saeDir.resolve("activation_scaler.json"), "{\"scaling_factor\": null}");
            Files.writeString(saeDir.resolve("trainer_state.json"), "{\"tokens\": " + tokens + "}");
        }
        Files.writeString(dir.resolve("training_run.yaml"), "apiVersion: saeforge.dev/v1alpha1\nkind: TrainingRun\n");
        Files.writeString(dir.resolve("activation_stream.json"), "{\"tokens\": " + tokens + "}");
        return dir;
    }

    /** One SAE's SAELens files: cfg.json, sae_weights.safetensors and sparsity.safetensors. */
    private static Path writeSae(Path dir, String hook, int dIn, int dSae, long seed) throws IOException {
        Files.createDirectories(dir);
        SplittableRandom random = new SplittableRandom(seed);
        ObjectNode cfg = new ObjectMapper().createObjectNode()
                .put("architecture", "jumprelu").put("d_in", dIn).put("d_sae", dSae).put("dtype", "float32")
                .put("device", "cpu").put("apply_b_dec_to_input", true).put("normalize_activations", "none")
                .put("jumprelu_bandwidth", 0.05).put("l0_coefficient", 1.0);
        cfg.putObject("metadata").put("sae_lens_version", "6.48.0").put("model_name", "Qwen/Qwen3-0.6B")
                .put("hook_name", hook).put("context_size", 1024).put("prepend_bos", false);
        Files.write(dir.resolve("cfg.json"), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(cfg));
        Safetensors.writer()
                .addFloats("W_enc", Safetensors.Dtype.F32, new long[]{dIn, dSae}, floats(random, dIn * dSae))
                .addFloats("W_dec", Safetensors.Dtype.F32, new long[]{dSae, dIn}, floats(random, dSae * dIn))
                .addFloats("b_enc", Safetensors.Dtype.F32, new long[]{dSae}, floats(random, dSae))
                .addFloats("b_dec", Safetensors.Dtype.F32, new long[]{dIn}, floats(random, dIn))
                .addFloats("threshold", Safetensors.Dtype.F32, new long[]{dSae}, floats(random, dSae))
                .write(dir.resolve("sae_weights.safetensors"));
        Safetensors.writer().addFloats("sparsity", Safetensors.Dtype.F32, new long[]{dSae}, floats(random, dSae))
                .write(dir.resolve("sparsity.safetensors"));
        return dir;
    }

    private static float[] floats(SplittableRandom random, int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return values;
    }

    /**
     * Asserts that two checkpoints hold the same JumpReLU weights, to within 1e-6: what a resumed run
     * must end with (the trainer's resume is exact to rounding).
     */
    public static void assertSameWeights(Path straight, Path resumed) throws IOException {
        try (Safetensors.Reader x = Safetensors.read(straight.resolve(SaeLensCheckpoint.WEIGHTS));
             Safetensors.Reader y = Safetensors.read(resumed.resolve(SaeLensCheckpoint.WEIGHTS))) {
            for (String key : SaeLensCheckpoint.weightNames("jumprelu")) {
                float[] u = x.floats(key);
                float[] v = y.floats(key);
                double maxDifference = 0;
                for (int i = 0; i < u.length; i++) {
                    maxDifference = Math.max(maxDifference, Math.abs(u[i] - v[i]));
                }
                assertThat(maxDifference).as(key + ": max |straight - resumed|").isLessThanOrEqualTo(1e-6);
            }
        }
    }

    /** Changes one byte in the middle of {@code file}, keeping its size: the corruption a sha256 must catch. */
    static byte[] flipOneByte(byte[] content) {
        byte[] changed = content.clone();
        changed[changed.length / 2] ^= (byte) (1 + new Random(content.length).nextInt(255));
        return changed;
    }
}
