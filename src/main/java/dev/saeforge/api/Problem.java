package dev.saeforge.api;

/** One thing wrong with a spec: the field path, as written in YAML, and what was expected. */
public record Problem(String path, String message) {
    @Override
    public String toString() {
        return path + ": " + message;
    }
}
