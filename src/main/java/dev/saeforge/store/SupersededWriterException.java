package dev.saeforge.store;

/**
 * A trainer whose attempt is no longer the run's current one tried to start or to publish a
 * checkpoint ({@link AttemptClaim}). Not a storage fault: retrying cannot help, the trainer stops.
 */
public final class SupersededWriterException extends IllegalStateException {
    SupersededWriterException(String message) {
        super(message);
    }
}
