package dev.saeforge.report;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.sae.RuntimeNormalization;
import dev.saeforge.sae.SaeArchitecture;
import dev.saeforge.sae.SaeArchitectures;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.SafetensorsArrays;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The report reads the SAE of every architecture from both kinds of checkpoint files: a training
 * checkpoint's (parameters and buffers, the training cfg) and a final one's (the inference
 * weights SAELens loads, with batchtopk saved as jumprelu), and reconstructs as the SAE it was
 * saved from.
 */
class SaeLoadingTest {
    static final int D_IN = 8;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(SaeSpec.Architecture.class)
    void everyArchitectureLoadsFromTrainingAndFinalCheckpoints(SaeSpec.Architecture architecture) throws Exception {
        SaeSpec spec = new SaeSpec();
        spec.architecture = architecture;
        spec.dSae = 16;
        if (architecture != SaeSpec.Architecture.JUMPRELU && architecture != SaeSpec.Architecture.STANDARD) {
            spec.k = 4.0;
        }
        if (architecture == SaeSpec.Architecture.MATRYOSHKA_BATCHTOPK) {
            spec.matryoshkaWidths = List.of(4, 16);
        }
        spec = spec.withDefaults();
        SaeDefinition definition = new SaeDefinition("spec", "sae", "blocks.0.hook_resid_post", spec, new TrainingSpec(), 1);
        SaeArchitecture saved = SaeArchitectures.of(architecture);
        try (NDManager manager = Torch.engine().newBaseManager(Torch.device(false));
             TrainingSae sae = saved.initialise(spec, D_IN, manager, 11)) {
            NDArray x = manager.randomNormal(new Shape(32, D_IN));
            float[] expected = reconstruction(sae, x);
            write(dir.resolve("training"), saved.cfg(spec, D_IN), concat(sae.parameters(), sae.buffers()));
            write(dir.resolve("final"), saved.inferenceCfg(spec, D_IN), sae.inferenceWeights());

            for (String kind : List.of("training", "final")) {
                Reports.LoadedSae loaded = Reports.load(definition, dir.resolve(kind), "file:///" + kind, manager);
                assertThat(loaded.sae().dSae()).isEqualTo(16);
                assertThat(loaded.architecture()).isEqualTo(architecture.value());
                float[] actual = reconstruction(loaded.sae(), x);
                for (int i = 0; i < expected.length; i++) {
                    assertThat(actual[i]).as("%s checkpoint, element %d", kind, i).isCloseTo(expected[i], within(1e-4f));
                }
                loaded.sae().close();
            }
        }
    }

    private static float[] reconstruction(TrainingSae sae, NDArray x) {
        RuntimeNormalization.Batch input = sae.normalise(x);
        return input.output(sae.decode(sae.encode(input.input()))).toFloatArray();
    }

    private static Map<String, NDArray> concat(Map<String, NDArray> a, Map<String, NDArray> b) {
        Map<String, NDArray> out = new LinkedHashMap<>(a);
        out.putAll(b);
        return out;
    }

    private static void write(Path dir, Map<String, Object> cfg, Map<String, NDArray> weights) throws Exception {
        Files.createDirectories(dir);
        JSON.writeValue(dir.resolve(SaeLensCheckpoint.CONFIG).toFile(), cfg);
        Safetensors.Writer writer = Safetensors.writer();
        weights.forEach((name, value) -> writer.add(name, Safetensors.Dtype.F32, value.getShape().getShape(), SafetensorsArrays.float32(value)));
        writer.write(dir.resolve(SaeLensCheckpoint.WEIGHTS));
    }
}
