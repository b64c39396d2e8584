package dev.saeforge.cli;

import dev.saeforge.cache.CacheLayout;
import dev.saeforge.cache.CacheWriter;

import java.io.PrintWriter;

/** A cache build's progress on the terminal every few seconds, as training's is: tokens, GB written, tokens/s and ETA. */
final class CacheProgress implements CacheWriter.Listener {
    private static final long INTERVAL_NANOS = 2_000_000_000L;

    private final PrintWriter err;
    private long lastPrinted;

    CacheProgress(PrintWriter err) {
        this.err = err;
    }

    @Override
    public void started(CacheWriter.Part part) {
        err.printf("saeforge: writing %s: %,d pass%s, at most %,d tokens%s%n", part.describe(), part.passes(),
                part.passes() == 1 ? "" : "es", part.mostRows(),
                part.resumedRows() == 0 ? "" : String.format(" (%,d already written, kept)", part.resumedRows()));
        err.flush();
        lastPrinted = System.nanoTime();
    }

    @Override
    public void progress(CacheWriter.Progress progress) {
        long now = System.nanoTime();
        if (now - lastPrinted >= INTERVAL_NANOS) {
            err.println(line(progress));
            err.flush();
            lastPrinted = now;
        }
    }

    @Override
    public void finished(CacheWriter.Part part, CacheLayout.IndexManifest manifest) {
        err.printf("saeforge: %s complete: %,d tokens in %d shard%s%n", part.describe(), manifest.rows(), manifest.shards().size(),
                manifest.shards().size() == 1 ? "" : "s");
        err.flush();
    }

    /** "index 1 of 4: 12,800 / 40,960 tokens (31%), 0.052 GB written, 1,234 tokens/s, ETA 22s". */
    static String line(CacheWriter.Progress progress) {
        double seconds = progress.nanos() / 1e9;
        double rate = seconds > 0 ? progress.rowsComputed() / seconds : 0;
        long left = Math.max(0, progress.part().mostRows() - progress.rows());
        return String.format("%s: %,d / %,d tokens (%.0f%%), %.3f GB written, %,.0f tokens/s, ETA %s", progress.part().describe(),
                progress.rows(), progress.part().mostRows(), 100.0 * progress.rows() / Math.max(1, progress.part().mostRows()),
                progress.bytes() / 1e9, rate, rate > 0 ? Units.duration(left / rate) : "-");
    }
}
