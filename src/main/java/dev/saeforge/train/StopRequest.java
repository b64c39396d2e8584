package dev.saeforge.train;

import java.util.Optional;

/**
 * A request, from another thread (a signal handler), that training stop at the next step
 * boundary: the loop then writes a checkpoint and returns, so the run can resume from it.
 */
public final class StopRequest {
    private volatile String reason;

    /** Asks the loop to stop; the first reason given is kept. */
    public void request(String why) {
        if (reason == null) {
            reason = why;
        }
    }

    public Optional<String> reason() {
        return Optional.ofNullable(reason);
    }
}
