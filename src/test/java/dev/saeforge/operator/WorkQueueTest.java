package dev.saeforge.operator;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class WorkQueueTest {
    final WorkQueue queue = new WorkQueue(Duration.ofMillis(10), Duration.ofMillis(100));

    @Test
    void aKeyIsQueuedOnceHoweverManyEventsArrive() throws Exception {
        queue.add("research/a");
        queue.add("research/b");
        queue.add("research/a");

        assertThat(queue.size()).isEqualTo(2);
        assertThat(queue.take()).isEqualTo("research/a");
        assertThat(queue.take()).isEqualTo("research/b");
    }

    @Test
    void aKeyHeldByAWorkerIsNotHandedOutAgainUntilItIsDoneThenComesBack() throws Exception {
        queue.add("research/a");
        String held = queue.take();

        queue.add("research/a"); // an event while a worker reconciles it
        assertThat(queue.size()).as("not given to a second worker meanwhile").isZero();

        queue.done(held);
        assertThat(queue.size()).isEqualTo(1);
        assertThat(queue.take()).isEqualTo("research/a");
    }

    @Test
    void theBackoffDoublesFromTheBaseUpToTheMaximum() {
        Duration base = Duration.ofSeconds(1);
        Duration max = Duration.ofMinutes(5);

        assertThat(WorkQueue.backoff(1, base, max)).isEqualTo(Duration.ofSeconds(1));
        assertThat(WorkQueue.backoff(2, base, max)).isEqualTo(Duration.ofSeconds(2));
        assertThat(WorkQueue.backoff(5, base, max)).isEqualTo(Duration.ofSeconds(16));
        assertThat(WorkQueue.backoff(9, base, max)).isEqualTo(Duration.ofSeconds(256));
        assertThat(WorkQueue.backoff(10, base, max)).isEqualTo(Duration.ofMinutes(5));
        assertThat(WorkQueue.backoff(1000, base, max)).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void aFailedKeyComesBackAfterItsBackoffAndSuccessResetsTheCount() throws Exception {
        queue.add("research/a");
        String key = queue.take();
        queue.retry(key);
        queue.done(key);
        assertThat(queue.failures(key)).isEqualTo(1);

        CompletableFuture<String> next = CompletableFuture.supplyAsync(() -> {
            try {
                return queue.take();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(next.get(10, TimeUnit.SECONDS)).isEqualTo("research/a");
        queue.retry(key);
        assertThat(queue.failures(key)).isEqualTo(2);

        queue.forget(key);
        assertThat(queue.failures(key)).isZero();
    }

    @Test
    void shuttingDownReleasesWaitingWorkers() throws Exception {
        CompletableFuture<String> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return queue.take();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        queue.shutDown();

        assertThat(waiting.get(10, TimeUnit.SECONDS)).isNull();
    }
}
