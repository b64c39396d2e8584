package dev.saeforge.cache;

import ai.djl.Device;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.LanguageModelData;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One index of a cache built by a process of its own, as a pod of the Indexed Job builds it:
 * {@code SPEC INDEX OF MODEL_CACHE_DIR}. Tests start several at once ({@link #command}).
 */
public final class IndexBuildProcess {
    private IndexBuildProcess() {
    }

    public static void main(String[] args) throws Exception {
        TrainingRunSpec spec = TrainingRuns.read(Path.of(args[0])).get(0).getSpec();
        List<HookPoint> hooks = List.of(HookPoint.parse(spec.hook));
        try (LanguageModelData data = LanguageModelData.open(spec, hooks, Device.cpu(), new ModelSources(Path.of(args[3]), null, Map.of()))) {
            new CacheWriter(spec, data, hooks, CacheFiles.open(spec.activations.cache.uri, Map.of()), CacheWriter.Listener.NONE)
                    .build(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
        }
    }

    /** The command line of a JVM like this one (its class path and the launcher's flags) running this class with {@code args}. */
    static List<String> command(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "@src/main/launcher/java.args", "-cp", System.getProperty("java.class.path"),
                IndexBuildProcess.class.getName()));
        command.addAll(List.of(args));
        return command;
    }
}
