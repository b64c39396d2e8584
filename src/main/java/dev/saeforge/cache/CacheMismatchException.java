package dev.saeforge.cache;

/** A cache location holds a cache other than the one a spec describes; the message names the differing fields. */
public final class CacheMismatchException extends IllegalArgumentException {
    public CacheMismatchException(String message) {
        super(message);
    }
}
