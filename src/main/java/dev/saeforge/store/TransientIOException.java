package dev.saeforge.store;

import java.io.IOException;

/**
 * A failure that waiting may cure: a server that could not be reached, or answered with an error
 * of its own (5xx) or a request to slow down, for as long as the retry budget allowed. A training
 * run that meets one exits 75, so that a new attempt resumes from its last complete checkpoint
 * ({@link Failures#isTransient}).
 */
public class TransientIOException extends IOException {
    public TransientIOException(String message, Throwable cause) {
        super(message, cause);
    }

    public TransientIOException(String message) {
        super(message);
    }
}
