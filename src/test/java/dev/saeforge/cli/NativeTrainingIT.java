package dev.saeforge.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.tensor.Precision;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.Qwen3Model;
import dev.saeforge.lm.Tokenizer;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The trainer in the native executable: DJL's PyTorch engine and the Rust tokenizers reached
 * through JNI from the image, libtorch and libtokenizers loaded from the directories the
 * environment names (PYTORCH_LIBRARY_PATH, RUST_LIBRARY_PATH), as the container image runs them.
 */
class NativeTrainingIT {
    @TempDir
    Path dir;

    /**
     * With autocast asked for, as GPU runs do: the trainer sets libtorch's TF32 variable in its own
     * environment before libtorch loads (libc's setenv, called through GraalVM's C interface here),
     * which changes nothing on a CPU.
     */
    @Test
    void theToyRunTrainsToTheEndAndRecoversItsFeatures() throws Exception {
        Path spec = dir.resolve("toy.yaml");
        Files.writeString(spec, Files.readString(Path.of("examples/toy-superposition.yaml"))
                .replace("uri: runs", "uri: " + dir.resolve("runs")).replace("    seed: 42\n", "    seed: 42\n    autocast: true\n"));
        assertThat(Files.readString(spec)).contains("autocast: true");
        Path summary = dir.resolve("summary.json");

        NativeBinary.Run train = NativeBinary.run(NativeBinary.libraryEnvironment(), null,
                "train", spec.toString(), "--summary", summary.toString());

        assertThat(train.exitCode()).as(train.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(train.stdout()).contains("outcome              completed").containsPattern("ground truth +6[0-4] of 64 recovered");
        assertThat(summary).exists();
        try (CheckpointStore store = CheckpointStore.open(dir.resolve("runs").toString())) {
            String last = store.latest("toy-superposition").orElseThrow().name();
            assertThat(last).isEqualTo("final_3072000");
            assertThat(store.verify("toy-superposition", last)).as("the final checkpoint verifies").isEmpty();
        }
        try (Safetensors.Reader weights = Safetensors.read(dir.resolve("runs/toy-superposition/final_3072000").resolve(SaeLensCheckpoint.WEIGHTS))) {
            assertThat(weights.floats("W_dec")).hasSize(128 * 32);
        }
    }

    /**
     * The tiny sweep example's whole pipeline natively, from an empty cache: the tiny model and
     * corpus written on first use, the Rust tokenizer, packing, the Qwen3 forward to the deeper of
     * two hooks on producer threads, six SAEs' steps, their evaluation spliced into the model, and a
     * checkpoint directory per SAE. A shorter run than the example's (the JVM's TinyExampleIT trains
     * it in full), with an evaluation in it.
     */
    @Test
    void theTinyQwen3SweepExampleTrainsEvaluatesAndCheckpointsEverySae() throws Exception {
        Path spec = dir.resolve("tiny-qwen3-sweep.yaml");
        String example = Files.readString(Path.of("examples/tiny-qwen3-sweep.yaml"));
        Files.writeString(spec, example.replace("uri: runs", "uri: " + dir.resolve("runs"))
                .replace("tokens: 1024000", "tokens: 204800").replace("evalEverySteps: 500", "evalEverySteps: 100"));
        assertThat(Files.readString(spec)).contains("tokens: 204800", "evalEverySteps: 100");
        Map<String, String> env = new HashMap<>(NativeBinary.libraryEnvironment());
        env.put("SAEFORGE_CACHE", dir.resolve("cache").toString());
        Path summary = dir.resolve("summary.json");

        NativeBinary.Run train = NativeBinary.run(env, null, "train", spec.toString(), "--summary", summary.toString());

        assertThat(train.exitCode()).as(train.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(train.stderr()).contains("saeforge: training tiny-qwen3-sweep", "BOS <|im_end|>", "eval of mlp1-l0coefficient-0.03 at step 100:", "CE score");
        JsonNode figures = new ObjectMapper().readTree(summary.toFile());
        assertThat(figures.path("outcome").asText()).isEqualTo("completed");
        assertThat(figures.path("saes")).hasSize(6);
        for (JsonNode sae : figures.path("saes")) {
            assertThat(sae.path("ce_loss_score").isNumber()).as(sae.toString()).isTrue();
            assertThat(sae.path("explained_variance").asDouble()).as(sae.toString()).isPositive();
            Path last = dir.resolve("runs/tiny-qwen3-sweep/final_204800").resolve(sae.path("name").asText());
            try (Safetensors.Reader weights = Safetensors.read(last.resolve(SaeLensCheckpoint.WEIGHTS))) {
                assertThat(weights.tensors().keySet()).containsExactlyInAnyOrderElementsOf(SaeLensCheckpoint.weightNames("jumprelu"));
                assertThat(weights.tensors().get("W_enc").shape()).containsExactly(64, 256);
            }
        }
        assertThat(dir.resolve("cache/models/tiny/qwen3/model.safetensors")).isRegularFile();
        // The report, collected and written by the native executable (Jackson's snake_case records included).
        Path report = dir.resolve("runs/tiny-qwen3-sweep/final_204800/report");
        assertThat(train.stdout().strip().lines().reduce((a, b) -> b).orElse("")).isEqualTo("report: " + report.resolve("index.html"));
        JsonNode sections = new ObjectMapper().readTree(report.resolve("report.json").toFile()).path("saes");
        assertThat(sections).hasSize(6);
        for (JsonNode section : sections) {
            assertThat(section.path("density_histogram").path("counts").size()).as(section.path("name").asText()).isPositive();
            JsonNode latent = section.path("latents").path(0);
            assertThat(latent.path("top_contexts").path(0).path("tokens").size()).isPositive();
            assertThat(latent.path("top_logits").path("positive").size()).isEqualTo(10);
        }
    }

    /**
     * The cache example natively, as the operator's Indexed Job pods and its training Job run it:
     * index 1 and then index 0 of 2 built by separate processes, listed, verified, and a run
     * trained from the complete cache without the model (the cache's records read and written
     * through Jackson in the image).
     */
    @Test
    void theCacheExampleIsBuiltIndexByIndexVerifiedAndTrainedFrom() throws Exception {
        Path spec = dir.resolve("tiny-qwen3-cache.yaml");
        Path cache = dir.resolve("activations");
        Files.writeString(spec, Files.readString(Path.of("examples/tiny-qwen3-cache.yaml"))
                .replace("uri: runs", "uri: " + dir.resolve("runs")).replace("uri: cache/tiny-qwen3", "uri: " + cache)
                .replace("tokens: 2048000", "tokens: 204800"));
        assertThat(Files.readString(spec)).contains("tokens: 204800", "uri: " + cache);
        Map<String, String> env = new HashMap<>(NativeBinary.libraryEnvironment());
        env.put("SAEFORGE_CACHE", dir.resolve("models").toString());

        for (String index : List.of("1", "0")) {
            NativeBinary.Run build = NativeBinary.run(env, null, "cache", "build", spec.toString(), "--index", index, "--of", "2");
            assertThat(build.exitCode()).as(build.stderr()).isEqualTo(ExitCodes.OK);
            assertThat(build.stderr()).contains("index " + index + " of 2 complete");
        }
        NativeBinary.Run listed = NativeBinary.run(env, null, "cache", "ls", cache.toString(), "-o", "json");
        assertThat(listed.exitCode()).as(listed.stderr()).isEqualTo(ExitCodes.OK);
        JsonNode document = new ObjectMapper().readTree(listed.stdout());
        assertThat(document.path("complete").asBoolean()).as(listed.stdout()).isTrue();
        assertThat(document.path("info").path("of").asInt()).isEqualTo(2);
        NativeBinary.Run verified = NativeBinary.run(env, null, "cache", "verify", cache.toString());
        assertThat(verified.exitCode()).as(verified.stderr()).isEqualTo(ExitCodes.OK);

        Path summary = dir.resolve("summary.json");
        NativeBinary.Run train = NativeBinary.run(env, null, "train", spec.toString(), "--summary", summary.toString());
        assertThat(train.exitCode()).as(train.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(train.stderr()).doesNotContain("saeforge: writing index");
        JsonNode figures = new ObjectMapper().readTree(summary.toFile());
        assertThat(figures.path("outcome").asText()).isEqualTo("completed");
        assertThat(figures.path("evaluation_note").asText()).contains("skipped");
        assertThat(figures.path("explained_variance").asDouble()).isGreaterThan(0.85);
    }

    /**
     * The forward program loaded from the image's resources and run through libtorch by the
     * native executable, in the checkpoint's bfloat16 and in float32: the JVM's activations, bit
     * for bit.
     */
    @Test
    void activationsOfATinyQwen3AreTheJvmsToTheLastBitInBfloat16AndFloat32() throws Exception {
        Path model = dir.resolve("tiny");
        NativeBinary.Run init = NativeBinary.run(NativeBinary.libraryEnvironment(), null, "model", "init-tiny", model.toString());
        assertThat(init.exitCode()).as(init.stderr()).isEqualTo(ExitCodes.OK);
        String text = "Sparse autoencoders find features in superposition.";
        long[] tokens;
        try (Tokenizer tokenizer = Tokenizer.load(model)) {
            tokens = tokenizer.encode(text);
        }
        for (Precision precision : new Precision[]{null, Precision.FLOAT32}) {
            Path out = dir.resolve("acts-" + precision + ".safetensors");
            List<String> args = new ArrayList<>(List.of("activations", "--model", model.toString(), "--hook", "blocks.1.hook_mlp_out",
                    "--text", text, "-o", out.toString()));
            if (precision != null) {
                args.addAll(List.of("--dtype", precision.toString()));
            }

            NativeBinary.Run acts = NativeBinary.run(NativeBinary.libraryEnvironment(), null, args.toArray(String[]::new));

            assertThat(acts.exitCode()).as(acts.stderr()).isEqualTo(ExitCodes.OK);
            float[] expected;
            Precision computed;
            try (Qwen3Model lm = Qwen3Model.load(model, Device.cpu(), precision);
                 NDManager manager = Torch.engine().newBaseManager(Device.cpu())) {
                computed = lm.precision();
                expected = lm.activations(manager.create(new long[][]{tokens}), HookPoint.parse("blocks.1.hook_mlp_out")).toFloatArray();
            }
            assertThat(computed).isEqualTo(precision == null ? Precision.BFLOAT16 : precision);
            try (Safetensors.Reader written = Safetensors.read(out)) {
                assertThat(written.metadata().get("dtype")).isEqualTo(computed.toString());
                assertThat(written.longs("tokens")).as("the Rust tokenizer, natively").containsExactly(tokens);
                assertThat(written.floats("activations")).as("the Qwen3 forward program on libtorch, natively, in " + computed)
                        .containsExactly(expected);
            }
        }
    }

    @Test
    void withoutTheTokenizersLibraryTheModelIsNotBlamed() throws Exception {
        Path model = dir.resolve("tiny");
        assertThat(NativeBinary.run(NativeBinary.libraryEnvironment(), null, "model", "init-tiny", model.toString()).exitCode()).isZero();
        Map<String, String> env = new HashMap<>(NativeBinary.libraryEnvironment());
        env.put("RUST_LIBRARY_PATH", dir.resolve("nothing/libtokenizers.so").toString());

        NativeBinary.Run acts = NativeBinary.run(env, null, "activations", "--model", model.toString(),
                "--hook", "blocks.1.hook_mlp_out", "--text", "text", "-o", dir.resolve("acts.safetensors").toString());

        assertThat(acts.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(acts.stderr()).contains("the Hugging Face tokenizers library (libtokenizers) could not be loaded")
                .contains("RUST_LIBRARY_PATH=" + dir.resolve("nothing/libtokenizers.so")).doesNotContain("is not a tokenizer");
    }

    @Test
    void withoutLibtorchTheTrainerSaysWhereItLooked() throws Exception {
        Map<String, String> env = new HashMap<>(NativeBinary.libraryEnvironment());
        env.put("PYTORCH_LIBRARY_PATH", dir.resolve("no-libtorch-here").toString());
        Path spec = dir.resolve("toy.yaml");
        Files.writeString(spec, Files.readString(Path.of("examples/toy-superposition.yaml"))
                .replace("uri: runs", "uri: " + dir.resolve("runs")));

        NativeBinary.Run train = NativeBinary.run(env, null, "train", spec.toString());

        assertThat(train.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(train.stderr()).contains("libtorch could not be loaded from PYTORCH_LIBRARY_PATH=" + dir.resolve("no-libtorch-here"));
    }
}
