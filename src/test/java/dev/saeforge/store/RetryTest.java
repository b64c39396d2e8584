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
        return new Retry(attempts, Duration.ofMillis(firstMs), Duration.ofMillis(maxMs), "TEST_ATTEMPTS",
                e -> e instanceof ConnectException, Throwable::toString, new SplittableRandom(7));
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
}
