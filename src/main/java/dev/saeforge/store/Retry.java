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
 * Retries a call on transient failures with exponential backoff and jitter, within a budget of
 * attempts and of time, then fails with the last error as a {@link TransientIOException}. The
 * jitter is "equal jitter": the wait before retry n is between half and all of
 * min(maxDelay, firstDelay * 2^(n-1)), so concurrent clients spread out yet the budget always
 * spans a known minimum time (a restarting server gets that long). No retry starts once the time
 * budget has passed since the first try.
 */
final class Retry {
    private static final Logger LOG = Logger.getLogger(Retry.class);

    /** A call that may fail. */
    interface Call<T> {
        T call() throws Exception;
    }

    /** Time as a retry sees it: now, and waiting. Tests pass one that only pretends to wait. */
    interface Clock {
        Clock SYSTEM = new Clock() {
            @Override
            public long nanoTime() {
                return System.nanoTime();
            }

            @Override
            public void sleep(Duration duration) throws InterruptedException {
                Thread.sleep(duration);
            }
        };

        long nanoTime();

        void sleep(Duration duration) throws InterruptedException;
    }

    /**
     * How long to keep trying: at most {@code attempts} tries, and no retry later than {@code time}
     * after the first. The settings are how the user sets each, quoted in the final error
     * ("AWS_MAX_ATTEMPTS=3", "checkpoints.retryFor=10m").
     */
    record Budget(int attempts, String attemptsSetting, Duration time, String timeSetting) {
        Budget {
            if (attempts < 1) {
                throw new IllegalArgumentException("retry attempts is " + attempts + "; expected >= 1");
            }
        }

        /** The limits that apply, as the user sets them. */
        String describe() {
            return timeSetting + (attempts == Integer.MAX_VALUE ? "" : ", " + attemptsSetting + "=" + attempts);
        }
    }

    private final Budget budget;
    private final Duration firstDelay;
    private final Duration maxDelay;
    private final String server;
    private final Predicate<Throwable> isTransient;
    private final Function<Throwable, String> describe;
    private final RandomGenerator random;
    private final Clock clock;

    /** @param server what is being called (an endpoint URL), named when giving up */
    Retry(Budget budget, Duration firstDelay, Duration maxDelay, String server, Predicate<Throwable> isTransient,
          Function<Throwable, String> describe, RandomGenerator random, Clock clock) {
        this.budget = budget;
        this.firstDelay = firstDelay;
        this.maxDelay = maxDelay;
        this.server = server;
        this.isTransient = isTransient;
        this.describe = describe;
        this.random = random;
        this.clock = clock;
    }

    Budget budget() {
        return budget;
    }

    /** The same retry on another clock (tests). */
    Retry withClock(Clock other) {
        return new Retry(budget, firstDelay, maxDelay, server, isTransient, describe, random, other);
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
        long start = clock.nanoTime();
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
            Duration wait = delay(attempt);
            Duration elapsed = Duration.ofNanos(clock.nanoTime() - start);
            String spent = attempt >= budget.attempts() ? budget.attemptsSetting() + "=" + budget.attempts()
                    : elapsed.plus(wait).compareTo(budget.time()) > 0 ? budget.timeSetting() : null;
            if (spent != null) {
                throw new TransientIOException(String.format("%s failed %d times in %.1f s%s, giving up (retry budget %s); last error: %s",
                        what, attempt, elapsed.toMillis() / 1e3, server == null ? "" : " at " + server, spent,
                        describe.apply(failure)), failure);
            }
            LOG.warnf("%s failed (%s); retry %d in %d ms (retry budget %s)", what, describe.apply(failure),
                    attempt, wait.toMillis(), budget.describe());
            try {
                clock.sleep(wait);
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
