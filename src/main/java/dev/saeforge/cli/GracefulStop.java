package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.train.StopRequest;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.PrintWriter;
import java.time.Duration;

/**
 * SIGTERM (Kubernetes preemption, eviction, a node drain) and Ctrl-C ask training to stop at the
 * next step with a checkpoint. If that takes longer than the grace period the process exits
 * anyway with the resume code: a checkpoint is only complete once its manifest is written, so an
 * unfinished one is never resumed from, and the run continues from its previous checkpoint.
 */
final class GracefulStop implements AutoCloseable {
    private static final int INTERRUPTED_TWICE = 130;

    private final StopRequest stop;
    private final Duration grace;
    private final PrintWriter err;
    private final SignalHandler previousTerm;
    private final SignalHandler previousInt;
    private volatile Thread watchdog;

    GracefulStop(StopRequest stop, Duration grace, PrintWriter err) {
        this.stop = stop;
        this.grace = grace;
        this.err = err;
        this.previousTerm = Signal.handle(new Signal("TERM"), this::onSignal);
        this.previousInt = Signal.handle(new Signal("INT"), this::onSignal);
    }

    private void onSignal(Signal signal) {
        if (stop.reason().isPresent()) {
            if (signal.getName().equals("INT")) {
                err.println("saeforge: interrupted again; exiting without a checkpoint");
                err.flush();
                Runtime.getRuntime().halt(INTERRUPTED_TWICE);
            }
            return;
        }
        stop.request("SIG" + signal.getName());
        err.printf("saeforge: SIG%s: writing a checkpoint after this step, then exiting (grace period %ds)%n",
                signal.getName(), grace.toSeconds());
        err.flush();
        Thread timer = new Thread(() -> {
            try {
                Thread.sleep(grace.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            err.printf("saeforge: the grace period of %ds ran out before the checkpoint was complete; exiting, "
                    + "the run resumes from its previous checkpoint%n", grace.toSeconds());
            err.flush();
            Runtime.getRuntime().halt(ExitCodes.RESUME);
        }, "saeforge-grace-period");
        timer.setDaemon(true);
        timer.start();
        watchdog = timer;
    }

    @Override
    public void close() {
        Signal.handle(new Signal("TERM"), previousTerm);
        Signal.handle(new Signal("INT"), previousInt);
        Thread timer = watchdog;
        if (timer != null) {
            timer.interrupt();
        }
    }
}
