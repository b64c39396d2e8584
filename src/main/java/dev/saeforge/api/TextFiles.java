package dev.saeforge.api;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whole text files a user hands over (a spec, a model's config.json, a text to run): read only up
 * to a size that such a file can sensibly have, and only as UTF-8, so that a 3 GiB file or a
 * Latin-1 one is refused at once, by name, instead of filling memory or failing with a decoder's
 * "Input length = 1".
 */
public final class TextFiles {
    public static final long MIB = 1 << 20;

    private TextFiles() {
    }

    /** A file that is too large or not UTF-8; {@link #reason()} says which, without the file's name. */
    public static final class NotText extends IOException {
        private final String reason;

        NotText(Path file, String reason) {
            super(file + " " + reason);
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    /**
     * The text of {@code file}, a {@code what} ("a TrainingRun file") of at most {@code maxBytes}.
     *
     * @throws NotText when it is larger or not UTF-8
     */
    public static String read(Path file, long maxBytes, String what) throws IOException {
        if (Files.isRegularFile(file) && Files.size(file) > maxBytes) {
            throw tooLarge(file, String.format("is %,d bytes", Files.size(file)), maxBytes, what);
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
        }
        if (bytes.length > maxBytes) { // not a regular file, or one that grew while it was read
            throw tooLarge(file, "is larger than that", maxBytes, what);
        }
        return utf8(file, bytes);
    }

    private static NotText tooLarge(Path file, String size, long maxBytes, String what) {
        return new NotText(file, String.format("%s; %s is at most %,d bytes%s", size, what, maxBytes,
                maxBytes >= MIB ? " (" + maxBytes / MIB + " MiB)" : ""));
    }

    private static String utf8(Path file, byte[] bytes) throws NotText {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            int offset = in.position();
            int line = 1;
            for (int i = 0; i < offset; i++) {
                line += bytes[i] == '\n' ? 1 : 0;
            }
            throw new NotText(file, String.format("is not UTF-8 text: line %d has the byte 0x%02X, which UTF-8 does not allow there;"
                    + " save the file as UTF-8", line, bytes[offset] & 0xff));
        }
        decoder.flush(out);
        return out.flip().toString();
    }
}
