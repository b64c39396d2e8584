package dev.saeforge.store;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetryTest {
    static Retry retry(int attempts, long firstMs, long maxMs) {
        return new Retry(new Retry.Budget(attempts, "TEST_ATTEMPTS", Duration.ofDays(1), "TEST_FOR=1d"), Duration.ofMillis(firstMs),
                Duration.ofMillis(maxMs), null, e -> e instanceof ConnectException, Throwable::toString, new SplittableRandom(7),
                Retry.Clock.SYSTEM);
    }

    /** A clock whose sleeps only move its time on, so that minutes of backoff take no time. */
    static final class FakeClock implements Retry.Clock {
        long nanos;

        @Override
        public long nanoTime() {
            return nanos;
        }

        @Override
        public void sleep(Duration duration) {
            nanos += duration.toNanos();
        }

        Duration elapsed() {
            return Duration.ofNanos(nanos);
        }
    }

    /** A retry with a time budget only, as the checkpoint store's in a training run. */
    static Retry retryFor(Duration budget, FakeClock clock) {
        return new Retry(new Retry.Budget(Integer.MAX_VALUE, "AWS_MAX_ATTEMPTS", budget, "checkpoints.retryFor=10m"),
                Duration.ofMillis(200), Duration.ofSeconds(20), "http://minio.minio:9000", e -> e instanceof ConnectException,
                Throwable::toString, new SplittableRandom(7), clock);
    }

    @Test
    void delaysGrowExponentiallyWithJitterInTheUpperHalfUpToTheCap() {
        Retry retry = retry(10, 100, 1000);
        long[] ceilings = {100, 200, 400, 800, 1000, 1000};
        for (int i = 0; i < ceilings.length; i++) {
            for (int sample = 0; sample < 200; sample++) {
                assertThat(retry.delay(i + 1).toMillis()).as("retry %d", i + 1).isBetween(ceilings[i] / 2, ceilings[i]);
            }
        }
        assertThat(java.util.stream.IntStream.range(0, 200).mapToLong(i -> retry.delay(4).toMillis()).distinct().count())
                .as("jittered").isGreaterThan(50);
    }

    @Test
    void aTransientFailureIsRetriedUntilItSucceeds() throws IOException {
        AtomicInteger calls = new AtomicInteger();

        String result = retry(5, 1, 2).run("GET thing", () -> {
            if (calls.incrementAndGet() < 3) {
                throw new ConnectException("Connection refused");
            }
            return "ok";
        });

        assertThat(result).isEqualTo("ok");
        assertThat(calls).hasValue(3);
    }

    @Test
    void afterTheBudgetItFailsNamingTheOperationTheBudgetAndTheLastError() {
        AtomicInteger calls = new AtomicInteger();

        assertThatThrownBy(() -> retry(3, 1, 2).run("PUT s3://b/k", () -> {
            calls.incrementAndGet();
            throw new ConnectException("Connection refused");
        })).isInstanceOf(IOException.class)
                .hasMessageStartingWith("PUT s3://b/k failed 3 times in ")
                .hasMessageEndingWith("giving up (retry budget TEST_ATTEMPTS=3); last error: java.net.ConnectException: Connection refused");
        assertThat(calls).hasValue(3);
    }

    @Test
    void aPermanentFailureIsNotRetried() {
        AtomicInteger calls = new AtomicInteger();

        assertThatThrownBy(() -> retry(5, 1, 2).run("PUT s3://b/k", () -> {
            calls.incrementAndGet();
            throw new IllegalStateException("AccessDenied");
        })).isInstanceOf(IOException.class).hasMessage("PUT s3://b/k: java.lang.IllegalStateException: AccessDenied");
        assertThat(calls).hasValue(1);
    }

    @Test
    void aTimeBudgetKeepsRetryingForItsWholeSpanThenGivesUpAsTransientNamingTheServer() {
        FakeClock clock = new FakeClock();
        AtomicInteger calls = new AtomicInteger();

        assertThatThrownBy(() -> retryFor(Duration.ofMinutes(10), clock).run("PUT s3://b/k", () -> {
            calls.incrementAndGet();
            throw new ConnectException("Connection refused");
        })).isInstanceOf(TransientIOException.class)
                .hasMessageContaining("at http://minio.minio:9000, giving up (retry budget checkpoints.retryFor=10m)")
                .satisfies(e -> assertThat(Failures.isTransient(e)).isTrue());

        // No retry starts past the budget, and none is skipped while a wait still fits in it.
        assertThat(clock.elapsed()).isBetween(Duration.ofMinutes(10).minusSeconds(20), Duration.ofMinutes(10));
        assertThat(calls.get()).as("far more tries than a fixed 8").isGreaterThan(30);
    }

    @Test
    void aServerBackWithinTheTimeBudgetIsWaitedFor() throws IOException {
        FakeClock clock = new FakeClock();

        String result = retryFor(Duration.ofMinutes(10), clock).run("PUT s3://b/k", () -> {
            if (clock.elapsed().compareTo(Duration.ofMinutes(4)) < 0) {
                throw new ConnectException("Connection refused"); // MinIO restarting for 4 minutes
            }
            return "ok";
        });

        assertThat(result).isEqualTo("ok");
    }
}
