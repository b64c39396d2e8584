package dev.saeforge.store;

import java.io.IOException;

/** A checkpoint's bytes do not match its manifest: retrying the read will not help, an older checkpoint might. */
public class CorruptCheckpointException extends IOException {
    public CorruptCheckpointException(String message) {
        super(message);
    }
}
