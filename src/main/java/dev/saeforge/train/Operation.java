package dev.saeforge.train;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/** Work done between {@code start} and {@code end}, with what describes it (snake_case keys). */
public record Operation(String name, Instant start, Instant end, Map<String, Object> attributes) {
    public Duration duration() {
        return Duration.between(start, end);
    }
}
