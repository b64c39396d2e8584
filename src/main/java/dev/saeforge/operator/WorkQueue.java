package dev.saeforge.operator;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The keys (namespace/name) of runs waiting to be reconciled, as client-go's work queue keeps
 * them: a key is queued at most once however many events arrive for it, one worker at a time
 * holds a key (an event arriving meanwhile queues it again once the worker is done), and a key
 * whose reconcile failed comes back after an exponential back-off that resets on success.
 */
public final class WorkQueue {
    private final Duration baseDelay;
    private final Duration maxDelay;
    private final LinkedHashSet<String> queue = new LinkedHashSet<>();
    private final Set<String> processing = new HashSet<>();
    /** Keys added while a worker held them: queued again when it is done. */
    private final Set<String> dirty = new HashSet<>();
    private final Map<String, Integer> failures = new HashMap<>();
    private final ScheduledExecutorService delays = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "saeforge-workqueue-delays");
        thread.setDaemon(true);
        return thread;
    });
    private boolean shutDown;

    public WorkQueue(Duration baseDelay, Duration maxDelay) {
        this.baseDelay = baseDelay;
        this.maxDelay = maxDelay;
    }

    /** The delay before the {@code failures}-th retry: base, 2 base, 4 base, ... at most max. */
    public static Duration backoff(int failures, Duration base, Duration max) {
        if (failures <= 0) {
            return Duration.ZERO;
        }
        int doublings = Math.min(failures - 1, 30);
        long millis = base.toMillis() << doublings;
        return millis <= 0 || millis > max.toMillis() ? max : Duration.ofMillis(millis);
    }

    public synchronized void add(String key) {
        if (shutDown) {
            return;
        }
        if (processing.contains(key)) {
            dirty.add(key);
        } else if (queue.add(key)) {
            notifyAll();
        }
    }

    /** Queues the key again after the back-off its failures so far have earned. */
    public void retry(String key) {
        int count;
        synchronized (this) {
            count = failures.merge(key, 1, Integer::sum);
        }
        addAfter(key, backoff(count, baseDelay, maxDelay));
    }

    public synchronized int failures(String key) {
        return failures.getOrDefault(key, 0);
    }

    public void addAfter(String key, Duration delay) {
        synchronized (this) {
            if (shutDown) {
                return;
            }
        }
        delays.schedule(() -> add(key), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The key reconciled fine: its next failure starts the back-off from the base again. */
    public synchronized void forget(String key) {
        failures.remove(key);
    }

    /** The next key, which the caller holds until {@link #done}; null once the queue is shut down. */
    public synchronized String take() throws InterruptedException {
        while (queue.isEmpty() && !shutDown) {
            wait();
        }
        if (shutDown) {
            return null;
        }
        String key = queue.removeFirst();
        processing.add(key);
        return key;
    }

    public synchronized void done(String key) {
        processing.remove(key);
        if (dirty.remove(key) && !shutDown) {
            queue.add(key);
            notifyAll();
        }
    }

    public synchronized int size() {
        return queue.size();
    }

    public void shutDown() {
        synchronized (this) {
            shutDown = true;
            notifyAll();
        }
        delays.shutdownNow();
    }
}
