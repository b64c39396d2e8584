package dev.saeforge.data;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The lines of a byte stream, split where {@link java.io.BufferedReader#readLine} splits them
 * (\n, \r or \r\n, so row numbers are the same), each decoded as strict UTF-8. A line is never
 * held beyond {@code maxBytes}: a longer one is reported as soon as it passes the cap, and its
 * rest is passed over, unread into memory, when the next line is asked for. A one-line gzip bomb
 * therefore costs the cap, not the line.
 */
final class BoundedLines implements Closeable {
    /** One line: its text, or (problem set) why it has none. */
    record Line(String text, String problem) {
    }

    private final InputStream in;
    private final int maxBytes;
    private final byte[] buffer = new byte[1 << 16];
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private int position;
    private int limit;
    private byte[] line = new byte[256];
    private boolean afterCarriageReturn;
    private boolean insideLongLine;

    BoundedLines(InputStream in, int maxBytes) {
        if (maxBytes < 1) {
            throw new IllegalArgumentException("the record size cap must be >= 1 byte, got " + maxBytes);
        }
        this.in = in;
        this.maxBytes = maxBytes;
    }

    /** The next line, or null after the last. */
    Line next() throws IOException {
        if (insideLongLine) {
            insideLongLine = false;
            if (!skipRestOfLine()) {
                return null;
            }
        }
        int length = 0;
        boolean any = false;
        while (true) {
            if (position == limit && !fill()) {
                return any ? decode(length) : null;
            }
            byte b = buffer[position++];
            if (afterCarriageReturn) {
                afterCarriageReturn = false;
                if (b == '\n') {
                    continue;
                }
            }
            any = true;
            if (b == '\n' || b == '\r') {
                afterCarriageReturn = b == '\r';
                return decode(length);
            }
            if (length == maxBytes) {
                insideLongLine = true;
                return new Line(null, String.format("is longer than %,d bytes (spec.dataset.maxRecordBytes); "
                        + "raise it if such records are meant to be read", maxBytes));
            }
            if (length == line.length) {
                line = Arrays.copyOf(line, (int) Math.min(maxBytes, 2L * line.length));
            }
            line[length++] = b;
        }
    }

    /** Reads up to the end of the current line; false when the stream ends first. */
    private boolean skipRestOfLine() throws IOException {
        while (true) {
            if (position == limit && !fill()) {
                return false;
            }
            byte b = buffer[position++];
            if (b == '\n' || b == '\r') {
                afterCarriageReturn = b == '\r';
                return true;
            }
        }
    }

    private boolean fill() throws IOException {
        int n;
        do {
            n = in.read(buffer);
        } while (n == 0);
        position = 0;
        limit = Math.max(n, 0);
        return n > 0;
    }

    private Line decode(int length) {
        try {
            return new Line(utf8.decode(ByteBuffer.wrap(line, 0, length)).toString(), null);
        } catch (CharacterCodingException e) {
            return new Line(null, "is not valid UTF-8 text");
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
