package dev.saeforge.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Spec files as users hand them over: too large, not UTF-8, or just at the cap. */
class TextFilesTest {
    @TempDir
    Path dir;

    /** A 3 GiB spec (sparse: no disk, no memory) is refused by its size, before it is read. */
    @Test
    void aSpecOf3GiBIsRefusedByItsSizeNamingTheFile() throws Exception {
        Path spec = dir.resolve("huge.yaml");
        try (RandomAccessFile file = new RandomAccessFile(spec.toFile(), "rw")) {
            file.setLength(3L << 30);
        }

        InvalidSpecException e = catchThrowableOfType(InvalidSpecException.class, () -> TrainingRuns.read(spec));

        assertThat(e.source()).isEqualTo(spec.toString());
        assertThat(e.problems()).extracting(Problem::toString)
                .containsExactly("(file): is 3,221,225,472 bytes; a TrainingRun file is at most 1,048,576 bytes (1 MiB)");
    }

    @Test
    void aSpecThatIsNotUtf8IsRefusedNamingTheLineAndByte() throws Exception {
        Path spec = Files.write(dir.resolve("latin1.yaml"), "apiVersion: saeforge.dev/v1alpha1\nkind: TrainingRun\nmetadata: {name: caf\u00e9}\n"
                .getBytes(StandardCharsets.ISO_8859_1));

        InvalidSpecException e = catchThrowableOfType(InvalidSpecException.class, () -> TrainingRuns.read(spec));

        assertThat(e.problems()).extracting(Problem::toString).containsExactly(
                "(file): is not UTF-8 text: line 3 has the byte 0xE9, which UTF-8 does not allow there; save the file as UTF-8");
    }

    @Test
    void aFileOfExactlyTheCapIsReadAndOneByteMoreIsNot() throws Exception {
        Path file = Files.writeString(dir.resolve("t.txt"), "é".repeat(50));

        assertThat(TextFiles.read(file, 100, "a text")).isEqualTo("é".repeat(50));
        assertThat(catchThrowableOfType(TextFiles.NotText.class, () -> TextFiles.read(file, 99, "a text")))
                .hasMessage(file + " is 100 bytes; a text is at most 99 bytes");
    }
}
