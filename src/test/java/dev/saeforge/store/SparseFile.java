package dev.saeforge.store;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;

/**
 * A file written through a channel that leaves 4 KiB pages of zeros as holes: a mostly-zero
 * tensor of gigabytes takes a few megabytes of disk, while a writer streams every byte of it.
 */
public final class SparseFile implements WritableByteChannel {
    private static final ByteBuffer ZEROS = ByteBuffer.allocate(4096);
    private final RandomAccessFile file;
    private long position;

    public SparseFile(Path path) throws IOException {
        this.file = new RandomAccessFile(path.toFile(), "rw");
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        int n = src.remaining();
        while (src.hasRemaining()) {
            int length = Math.min(ZEROS.capacity(), src.remaining());
            ByteBuffer page = src.slice(src.position(), length);
            if (page.mismatch(ZEROS.slice(0, length)) >= 0) {
                file.getChannel().write(page, position);
            }
            position += length;
            src.position(src.position() + length);
        }
        return n;
    }

    @Override
    public boolean isOpen() {
        return file.getChannel().isOpen();
    }

    /** Ends the file after the last byte written, hole or not. */
    @Override
    public void close() throws IOException {
        file.setLength(position);
        file.close();
    }
}
