package dev.saeforge.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.Qwen3Config;
import dev.saeforge.lm.Qwen3Model;
import dev.saeforge.lm.Tokenizer;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Precision;
import dev.saeforge.tensor.Torch;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** `model init-tiny`, `activations` and `bench lm` as a user meets them. */
@QuarkusMainTest
class LmCommandsTest {
    @TempDir
    Path dir;

    @Test
    void initTinyWritesACheckpointWithTheAskedShape(QuarkusMainLauncher launcher) throws IOException {
        Path model = dir.resolve("tiny");
        LaunchResult result = launcher.launch("model", "init-tiny", model.toString(), "--layers", "3", "--hidden", "32",
                "--intermediate", "48", "--heads", "4", "--kv-heads", "1", "--head-dim", "8", "--vocab", "280", "--untied",
                "--seed", "9", "--dtype", "f32", "--shards", "2");

        assertThat(result.exitCode()).as(result.getErrorOutput()).isZero();
        assertThat(result.getOutput()).startsWith("wrote " + model + ": Qwen3 with 3 layers, hidden 32, intermediate 48, 4 heads (1 kv, head_dim 8), vocab 280, untied, f32 weights");
        Qwen3Config config = Qwen3Config.read(model);
        assertThat(config).isEqualTo(new Qwen3Config(280, 32, 48, 3, 4, 1, 8, 1e6, 1e-6, false, 32768, "float32"));
        assertThat(model.resolve("model.safetensors.index.json")).exists();
        try (Safetensors.Reader reader = Safetensors.read(model.resolve("model-00002-of-00002.safetensors"))) {
            assertThat(reader.tensor("lm_head.weight").dtype()).isEqualTo(Safetensors.Dtype.F32);
        }
    }

    @Test
    void initTinyDefaultsToTheTestShapeInBf16AndRefusesAFullDirectory(QuarkusMainLauncher launcher) throws IOException {
        Path model = dir.resolve("tiny");
        assertThat(launcher.launch("model", "init-tiny", model.toString()).exitCode()).isZero();
        assertThat(Qwen3Config.read(model)).isEqualTo(new Qwen3Config(300, 64, 128, 2, 4, 2, 16, 1e6, 1e-6, true, 32768, "bfloat16"));

        LaunchResult again = launcher.launch("model", "init-tiny", model.toString());
        assertThat(again.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(again.getErrorOutput()).isEqualTo(model + " is not an empty directory; init-tiny writes a fresh checkpoint into a new or empty one");

        LaunchResult badShape = launcher.launch("model", "init-tiny", dir.resolve("bad").toString(), "--kv-heads", "3");
        assertThat(badShape.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(badShape.getErrorOutput()).isEqualTo("num_key_value_heads is 3; expected > 0 and dividing num_attention_heads (4)");
    }

    /**
     * Sizes that cannot be written are refused before anything is: no directory is left, not
     * even the parents init-tiny would have made.
     */
    @Test
    void initTinyRefusesSizesThatCannotFitAndLeavesNothingBehind(QuarkusMainLauncher launcher) {
        Path model = dir.resolve("new/parent/huge");

        LaunchResult huge = launcher.launch("model", "init-tiny", model.toString(), "--hidden", "100000", "--vocab", "100000");
        assertThat(huge.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(huge.getErrorOutput()).isEqualTo("a Qwen3 of 10,115,700,064 parameters (18.8 GiB as BF16) cannot be written: its largest"
                + " tensor, model.embed_tokens.weight [100000, 100000], has 10,000,000,000 values, more than one Java buffer of 2 GiB holds;"
                + " choose smaller sizes");
        assertThat(dir.resolve("new")).doesNotExist();

        LaunchResult deep = launcher.launch("model", "init-tiny", model.toString(), "--layers", "2000000000");
        assertThat(deep.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(deep.getErrorOutput()).isEqualTo("num_hidden_layers is 2000000000; expected > 0 and <= 10000");
        assertThat(dir.resolve("new")).doesNotExist();

        LaunchResult heavy = launcher.launch("model", "init-tiny", model.toString(), "--hidden", "30000", "--intermediate", "30000",
                "--layers", "100");
        assertThat(heavy.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(heavy.getErrorOutput()).startsWith("a Qwen3 of ").contains(" of memory to write, but only ", " of Java heap is free");
        assertThat(dir.resolve("new")).doesNotExist();
    }

    @Test
    void activationsWritesWhatTheModelComputesInTokenOrder(QuarkusMainLauncher launcher) throws IOException {
        Path model = dir.resolve("tiny");
        assertThat(launcher.launch("model", "init-tiny", model.toString(), "--untied").exitCode()).isZero();
        String text = "Sparse autoencoders read the activations of a language model, token by token.";
        Path textFile = dir.resolve("text.txt");
        Files.writeString(textFile, text);
        Path out = dir.resolve("out/acts.safetensors");

        LaunchResult result = launcher.launch("activations", "--model", model.toString(), "--hook", "blocks.1.mlp.hook_post",
                "--file", textFile.toString(), "--context-size", "8", "--dtype", "float32", "-o", out.toString());

        assertThat(result.exitCode()).as(result.getErrorOutput()).isZero();
        long[] tokens;
        float[] expected;
        try (Tokenizer tokenizer = Tokenizer.load(model)) {
            tokens = tokenizer.encode(text);
        }
        assertThat(tokens.length % 8).as("a shorter last window is part of the test").isNotZero();
        try (NDManager manager = Torch.engine().newBaseManager(Device.cpu());
             Qwen3Model lm = Qwen3Model.load(model, Device.cpu(), Precision.FLOAT32)) {
            // Window w covers tokens [8w, 8w + 8), each run from position 0.
            int full = tokens.length / 8 * 8;
            float[] head = lm.activations(manager.create(Arrays.copyOf(tokens, full)).reshape(full / 8, 8),
                    HookPoint.parse("blocks.1.mlp.hook_post")).toFloatArray();
            float[] tail = lm.activations(manager.create(new long[][]{Arrays.copyOfRange(tokens, full, tokens.length)}),
                    HookPoint.parse("blocks.1.mlp.hook_post")).toFloatArray();
            expected = Arrays.copyOf(head, head.length + tail.length);
            System.arraycopy(tail, 0, expected, head.length, tail.length);
        }
        try (Safetensors.Reader reader = Safetensors.read(out)) {
            assertThat(reader.tensor("activations").shape()).containsExactly(tokens.length, 128);
            assertThat(reader.tensor("activations").dtype()).isEqualTo(Safetensors.Dtype.F32);
            assertThat(reader.longs("tokens")).containsExactly(tokens);
            assertThat(reader.floats("activations")).containsExactly(expected);
            assertThat(reader.metadata()).containsEntry("hook", "blocks.1.mlp.hook_post").containsEntry("context_size", "8");
        }
        assertThat(result.getOutput()).isEqualTo("wrote " + out + ": activations [" + tokens.length + ", 128] float32 and tokens ["
                + tokens.length + "] int64 at blocks.1.mlp.hook_post of " + model);
    }

    @Test
    void activationsRefusesBadInputWithExitTwo(QuarkusMainLauncher launcher) {
        Path model = dir.resolve("tiny");
        assertThat(launcher.launch("model", "init-tiny", model.toString()).exitCode()).isZero();
        String out = dir.resolve("a.safetensors").toString();

        LaunchResult deep = launcher.launch("activations", "--model", model.toString(), "--hook", "blocks.2.hook_mlp_out", "--text", "hi", "-o", out);
        assertThat(deep.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(deep.getErrorOutput()).isEqualTo("hook blocks.2.hook_mlp_out needs layer 2, but " + model + " has 2 layers (blocks.0 to blocks.1)");

        LaunchResult badHook = launcher.launch("activations", "--model", model.toString(), "--hook", "blocks.0.attn.hook_z", "--text", "hi", "-o", out);
        assertThat(badHook.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(badHook.getErrorOutput()).startsWith("hook \"blocks.0.attn.hook_z\" is not a Qwen3 hook point");

        LaunchResult noModel = launcher.launch("activations", "--model", dir.resolve("none").toString(), "--hook", "blocks.0.hook_mlp_out",
                "--text", "hi", "-o", out);
        assertThat(noModel.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(noModel.getErrorOutput()).startsWith("model directory " + dir.resolve("none") + " does not exist");

        LaunchResult both = launcher.launch("activations", "--model", model.toString(), "--hook", "blocks.0.hook_mlp_out",
                "--text", "hi", "--file", "x.txt", "-o", out);
        assertThat(both.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(both.getErrorOutput()).contains("mutually exclusive");
        assertThat(Path.of(out)).doesNotExist();
    }

    @Test
    void activationsRefusesAMalformedHubAddressBeforeAnyRequest(QuarkusMainLauncher launcher) {
        String out = dir.resolve("hub.safetensors").toString();

        LaunchResult revision = launcher.launch("activations", "--model", "hf://Qwen/Qwen3-0.6B@main..x", "--hook", "blocks.0.hook_mlp_out",
                "--text", "hi", "-o", out);
        LaunchResult repo = launcher.launch("activations", "--model", "hf://Qwen/Qwen3--0.6B", "--hook", "blocks.0.hook_mlp_out",
                "--text", "hi", "-o", out);

        assertThat(revision.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(revision.getErrorOutput()).contains("hf://Qwen/Qwen3-0.6B@main..x: \"main..x\" is not a revision");
        assertThat(repo.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(repo.getErrorOutput()).contains("\"Qwen/Qwen3--0.6B\" is not a Hugging Face repository id");
        assertThat(Path.of(out)).doesNotExist();
    }

    @Test
    void modelProgramWritesTheForwardAsAnArchiveLibtorchLoadsAndRuns(QuarkusMainLauncher launcher) throws Exception {
        Path out = dir.resolve("programs/qwen3.pt");

        LaunchResult result = launcher.launch("model", "program", "--out", out.toString());

        assertThat(result.exitCode()).as(result.getErrorOutput()).isZero();
        assertThat(result.getOutput()).startsWith("wrote " + out + ": the TorchScript program dev/saeforge/lm/qwen3.py (");
        try (PtNDManager manager = (PtNDManager) Torch.engine().newBaseManager(Device.cpu());
             PtSymbolBlock program = JniUtils.loadModule(manager, out, true, new String[0], new String[0], false)) {
            NDArray x = manager.create(new float[]{1, 2, 3, 4}, new Shape(1, 4));
            try (IValue halfTurned = IValueUtils.runMethod(program, "rotate_half", IValue.from((PtNDArray) x))) {
                assertThat(halfTurned.toTensor(manager).toFloatArray()).as("rotate_half([1, 2, 3, 4])").containsExactly(-3, -4, 1, 2);
            }
        }
    }

    @Test
    void benchLmPrintsItsFiguresWithTheRatio(QuarkusMainLauncher launcher) throws IOException {
        LaunchResult result = launcher.launch("bench", "lm", "--layers", "2", "--hidden", "64", "--intermediate", "128",
                "--heads", "4", "--kv-heads", "2", "--head-dim", "16", "--vocab", "300", "--batch", "2", "--context-size", "16",
                "--repetitions", "2", "-o", "json");

        assertThat(result.exitCode()).as(result.getErrorOutput()).isZero();
        JsonNode figures = new ObjectMapper().readTree(result.getOutput());
        assertThat(figures.path("hook").asText()).isEqualTo("blocks.1.hook_resid_post");
        assertThat(figures.path("tokens").asInt()).isEqualTo(32);
        assertThat(figures.path("matmul_parameters").asLong()).isEqualTo(2 * TinyShape.layerMatmulParameters());
        assertThat(figures.path("dtype").asText()).as("the headline figures are float32's").isEqualTo("float32");
        assertThat(figures.path("bfloat16").path("dtype").asText()).isEqualTo("bfloat16");
        for (JsonNode precision : new JsonNode[]{figures, figures.path("bfloat16")}) {
            double ratio = precision.path("ratio").asDouble();
            assertThat(ratio).isEqualTo(precision.path("matmul_seconds").asDouble() / precision.path("forward_seconds").asDouble());
            assertThat(precision.path("tokens_per_second").asDouble()).isEqualTo(32 / precision.path("forward_seconds").asDouble());
        }
    }

    @Test
    void benchAloneListsItsBenchmarks(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("bench");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.getErrorOutput()).contains("Usage: saeforge bench", "lm");
    }

    /** The tiny test model's numbers. */
    static final class TinyShape {
        static long layerMatmulParameters() {
            return dev.saeforge.lm.TinyQwen3.Options.defaults().config().layerMatmulParameters();
        }
    }
}
