package dev.saeforge.lm;

/**
 * A model that SAE Forge cannot run as asked: a config.json with a missing or unsupported value,
 * a weight missing or of the wrong shape, a missing shard, a hook beyond the model's depth.
 * The message names the file, key or value and what was expected.
 */
public class InvalidModelException extends RuntimeException {
    public InvalidModelException(String message) {
        super(message);
    }
}
