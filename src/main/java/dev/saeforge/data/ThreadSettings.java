package dev.saeforge.data;

import ai.djl.pytorch.jni.JniUtils;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How a run's work is spread over threads: {@code forwards} forward passes run at once, each with
 * {@code lmThreads} libtorch intra-op threads, while the trainer's SAE steps use
 * {@code saeThreads}, split over {@code saeSteps} steps of different SAEs at once.
 */
public record ThreadSettings(int forwards, int lmThreads, int saeThreads, int saeSteps) {
    public ThreadSettings {
        if (forwards < 1 || lmThreads < 1 || saeThreads < 1 || saeSteps < 1) {
            throw new IllegalArgumentException("thread counts must be >= 1, got " + forwards + ", " + lmThreads + ", " + saeThreads
                    + " and " + saeSteps);
        }
    }

    /** One SAE step at a time. */
    public ThreadSettings(int forwards, int lmThreads, int saeThreads) {
        this(forwards, lmThreads, saeThreads, 1);
    }

    /**
     * One forward pass at a time with half the cores' libtorch threads, and the other half for
     * the SAE steps. The producer thread's packing runs ahead of the forward passes, so the model
     * never waits for it; on the 2-core machine this beats two single-threaded passes at once,
     * which leave the SAE step too little of the CPU (bench train measures both).
     * Steps of different SAEs run at once, up to one per core, each with its share of saeThreads
     * (at least one): a small SAE's step uses a second libtorch thread poorly, and the forward
     * thread waits on a full buffer while several SAEs train, so a second SAE's step on its own
     * thread beats it (bench train --saes 4: ratio 1.07 against 0.86 one after another, here).
     * One SAE steps on the trainer thread with all of saeThreads, as before. On a GPU the steps
     * go one after another ({@code gpu}): they queue on one CUDA stream whichever thread issues
     * them, and steps at once would only hold several steps' [batch, d_sae] arrays at once.
     * SAEFORGE_LM_FORWARDS, SAEFORGE_LM_THREADS, SAEFORGE_SAE_THREADS and SAEFORGE_SAE_STEPS
     * override each.
     */
    public static ThreadSettings fromEnvironment(boolean gpu) {
        int cores = Runtime.getRuntime().availableProcessors();
        int lm = Math.max(1, cores / 2);
        return new ThreadSettings(number("SAEFORGE_LM_FORWARDS", 1), number("SAEFORGE_LM_THREADS", lm),
                number("SAEFORGE_SAE_THREADS", Math.max(1, cores - lm)), number("SAEFORGE_SAE_STEPS", gpu ? 1 : cores));
    }

    /** Sets the calling thread's libtorch intra-op threads (libtorch reads its count once per thread, lazily: settle that first). */
    public static void useLibtorchThreads(int count) {
        JniUtils.getNumThreads();
        JniUtils.setNumThreads(count);
    }

    /**
     * {@code threads} daemon threads named NAME-1, NAME-2..., each with {@code libtorchThreads}
     * intra-op threads of its own: the forward passes' pool, the SAE steps' pool.
     */
    public static ExecutorService pool(int threads, int libtorchThreads, String name) {
        AtomicInteger counter = new AtomicInteger();
        return Executors.newFixedThreadPool(threads, task -> {
            Thread thread = new Thread(() -> {
                useLibtorchThreads(libtorchThreads);
                task.run();
            }, name + "-" + counter.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    private static int number(String variable, int fallback) {
        String value = System.getenv(variable);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(value.strip());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(variable + " is \"" + value + "\"; expected a whole number of threads >= 1");
    }
}
