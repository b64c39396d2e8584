package dev.saeforge.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A child process for the crash test: publishes 4 MiB checkpoints into a file store one after
 * another until killed. Arguments: store root, run, first checkpoint number. The files are
 * generated once and copied, so the process spends most of its time inside publish.
 */
public final class PublishLoop {
    private PublishLoop() {
    }

    public static void main(String[] args) throws Exception {
        Path scratch = Files.createTempDirectory(Path.of(args[0]).getParent(), "publisher-");
        Path template = SaeCheckpointDirs.write(scratch.resolve("template"), 64, 8192, 0, 1);
        try (CheckpointStore store = CheckpointStore.open(args[0], Map.of())) {
            for (long n = Long.parseLong(args[2]) + 1; ; n++) {
                long tokens = n * 4096;
                Path dir = Files.createDirectory(scratch.resolve(Long.toString(tokens)));
                try (Stream<Path> files = Files.list(template)) {
                    for (Path file : files.toList()) {
                        Files.copy(file, dir.resolve(file.getFileName()));
                    }
                }
                store.publish(args[1], Long.toString(tokens), dir, Map.of("tokens", tokens, "step", n));
            }
        }
    }
}
