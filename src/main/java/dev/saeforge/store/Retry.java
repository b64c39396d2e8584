package dev.saeforge.store;

import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * Retries a call on transient failures with exponential backoff and jitter, up to a budget of
 * attempts, then fails with the last error. The jitter is "equal jitter": the wait before retry n
 * is between half and all of min(maxDelay, firstDelay * 2^(n-1)), so concurrent clients spread
 * out yet the budget always spans a known minimum time (a restarting server gets that long).
 */
final class Retry {
    private static final Logger LOG = Logger.getLogger(Retry.class);

    /** A call that may fail. */
    interface Call<T> {
        T call() throws Exception;
    }

    private final int attempts;
    private final Duration firstDelay;
    private final Duration maxDelay;
    private final Predicate<Throwable> isTransient;
    private final Function<Throwable, String> describe;
    private final RandomGenerator random;
    private final String budgetName;

    /**
     * @param budgetName how the user sets {@code attempts}, quoted in the final error
     */
    Retry(int attempts, Duration firstDelay, Duration maxDelay, String budgetName, Predicate<Throwable> isTransient,
          Function<Throwable, String> describe, RandomGenerator random) {
        if (attempts < 1) {
            throw new IllegalArgumentException("retry attempts is " + attempts + "; expected >= 1");
        }
        this.attempts = attempts;
        this.firstDelay = firstDelay;
        this.maxDelay = maxDelay;
        this.budgetName = budgetName;
        this.isTransient = isTransient;
        this.describe = describe;
        this.random = random;
    }

    int attempts() {
        return attempts;
    }

    /** The wait before retry {@code retry} (1 for the first retry). */
    Duration delay(int retry) {
        long ceiling = firstDelay.toMillis() << Math.min(retry - 1, 30);
        long exponential = Math.min(maxDelay.toMillis(), ceiling < 0 ? Long.MAX_VALUE : ceiling);
        long half = exponential / 2;
        return Duration.ofMillis(exponential - half + (half == 0 ? 0 : random.nextLong(half + 1)));
    }

    /** Runs {@code call}; {@code what} names the operation (and its object) in warnings and errors. */
    <T> T run(String what, Call<T> call) throws IOException {
        long start = System.nanoTime();
        for (int attempt = 1; ; attempt++) {
            Throwable failure;
            try {
                return call.call();
            } catch (Exception e) {
                failure = unwrap(e);
            }
            if (failure instanceof InterruptedException || Thread.currentThread().isInterrupted()) {
                Thread.currentThread().interrupt();
                InterruptedIOException interrupted = new InterruptedIOException(what + " was interrupted");
                interrupted.initCause(failure);
                throw interrupted;
            }
            if (!isTransient.test(failure)) {
                if (failure instanceof IOException io) {
                    throw io;
                }
                throw new IOException(what + ": " + describe.apply(failure), failure);
            }
            if (attempt >= attempts) {
                throw new IOException(String.format("%s failed %d times in %.1f s, giving up (retry budget %s=%d); last error: %s",
                        what, attempts, (System.nanoTime() - start) / 1e9, budgetName, attempts, describe.apply(failure)), failure);
            }
            Duration wait = delay(attempt);
            LOG.warnf("%s failed (%s); retry %d of %d in %d ms", what, describe.apply(failure), attempt, attempts - 1, wait.toMillis());
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(what + " was interrupted while waiting to retry");
            }
        }
    }

    private static Throwable unwrap(Throwable e) {
        while ((e instanceof ExecutionException || e instanceof CompletionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }
}
