package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.cache.CacheFiles;
import dev.saeforge.cache.CacheLayout;
import dev.saeforge.store.Directories;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.SafetensorsArrays;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongPredicate;

/**
 * The rows of a sequence of cache shards, read in order: one shard in memory at a time (its hooks'
 * rows widened to float32 on the device, and its rows' positions), the next shard's file fetched
 * ahead on a background thread. A local cache is read in place; an S3 shard is downloaded to a
 * scratch directory first ({@link CacheFiles#fetch}), deleted once it is read.
 */
final class CacheRows implements AutoCloseable {
    /** A shard of the sequence: its path in the cache and its rows. */
    record ShardRef(String path, long rows) {
    }

    /** A shard in memory. */
    private record Loaded(NDManager manager, List<NDArray> hooks, long[] positions, int rows) {
        /** The training-stream window of row {@code row}. */
        long window(int row) {
            return positions[2 * row];
        }
    }

    /** A shard's file on this machine, and whether it is a temporary copy to delete once read. */
    private record Fetched(Path file, boolean temporary) {
    }

    private final CacheFiles files;
    private final List<ShardRef> shards;
    private final List<String> hooks;
    private final List<Integer> widths;
    private final Device device;
    private final NDManager manager;
    private final ExecutorService fetcher;
    private Loaded loaded;
    private int shard = -1;
    private int row;
    private Future<Fetched> ahead;
    private Path scratch;
    private int aheadShard = -1;

    CacheRows(CacheFiles files, List<ShardRef> shards, List<String> hooks, List<Integer> widths, Device device) {
        this.files = files;
        this.shards = List.copyOf(shards);
        this.hooks = List.copyOf(hooks);
        this.widths = List.copyOf(widths);
        this.device = device;
        this.manager = Torch.engine().newBaseManager(device);
        this.fetcher = Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "cache-reader");
            thread.setDaemon(true);
            return thread;
        });
    }

    List<ShardRef> shards() {
        return shards;
    }

    /** Moves to row {@code row} of shard {@code shard} (row 0 of shard 0: the start). */
    void seek(int shard, int row) {
        if (shard != this.shard) {
            if (aheadShard != shard) {
                discardAhead();
            }
            unload();
            this.shard = shard - 1;
            if (shard < shards.size()) {
                advance();
            }
            this.shard = shard;
        }
        this.row = row;
    }

    /** Whether every row has been taken. */
    boolean atEnd() {
        return shard >= shards.size() || (shard == shards.size() - 1 && loaded != null && row >= loaded.rows());
    }

    /**
     * The next rows, at most {@code max}, while their window satisfies {@code belongs} (the first
     * row that does not stops the take and stays next), per hook, created by {@code target}: fewer
     * than asked at the end of the sequence.
     */
    List<NDArray> take(NDManager target, long max, LongPredicate belongs) {
        List<List<NDArray>> parts = new ArrayList<>();
        hooks.forEach(h -> parts.add(new ArrayList<>()));
        long taken = 0;
        // The slices outlive their shard when a take crosses into the next one (a slice keeps its storage alive).
        try (NDManager slices = manager.newSubManager()) {
            while (taken < max) {
                if (loaded == null || row >= loaded.rows()) {
                    if (shard + 1 >= shards.size()) {
                        break;
                    }
                    advance();
                    continue;
                }
                int end = row;
                while (end < loaded.rows() && taken + (end - row) < max && belongs.test(loaded.window(end))) {
                    end++;
                }
                if (end > row) {
                    for (int h = 0; h < hooks.size(); h++) {
                        NDArray slice = loaded.hooks().get(h).get(new NDIndex(row + ":" + end));
                        slice.attach(slices);
                        parts.get(h).add(slice);
                    }
                    taken += end - row;
                    row = end;
                }
                if (row < loaded.rows()) {
                    break;
                }
            }
            List<NDArray> out = new ArrayList<>();
            for (int h = 0; h < hooks.size(); h++) {
                out.add(joined(parts.get(h), widths.get(h), target));
            }
            return out;
        }
    }

    /** The window of the next row, or -1 at the end. */
    long nextWindow() {
        while (loaded == null || row >= loaded.rows()) {
            if (shard + 1 >= shards.size()) {
                return -1;
            }
            advance();
        }
        return loaded.window(row);
    }

    /** Skips the rows whose window is below {@code window}; the next row's window is then at least it. */
    void skipWindowsBelow(long window) {
        long next;
        while ((next = nextWindow()) >= 0 && next < window) {
            int end = row;
            while (end < loaded.rows() && loaded.window(end) < window) {
                end++;
            }
            row = end;
        }
    }

    /** {@code parts} as one new array of {@code target}: a copy, so that no shard stays alive for a view of it. */
    private static NDArray joined(List<NDArray> parts, int width, NDManager target) {
        NDArray out;
        if (parts.isEmpty()) {
            out = target.create(new Shape(0, width), DataType.FLOAT32);
        } else if (parts.size() == 1) {
            out = parts.get(0).duplicate();
        } else {
            out = NDArrays.concat(new NDList(parts), 0);
        }
        out.attach(target);
        return out;
    }

    /** Loads the next shard (fetched ahead) and starts fetching the one after it. */
    private void advance() {
        unload();
        shard++;
        row = 0;
        Future<Fetched> file = aheadShard == shard ? ahead : fetcher.submit(() -> fetch(shard));
        int next = shard + 1;
        if (next < shards.size()) {
            ahead = fetcher.submit(() -> fetch(next));
            aheadShard = next;
        } else {
            ahead = null;
            aheadShard = -1;
        }
        loaded = load(shards.get(shard), await(file));
    }

    /** Shard {@code index} as a local file: a local cache's own, or an object downloaded under the scratch directory. */
    private Fetched fetch(int index) throws IOException {
        String path = shards.get(index).path();
        Path file = files.fetch(path, scratch()).orElseThrow(() -> new IOException(files.uri() + "/" + path
                + " is missing, though the cache's manifest lists it; was the cache deleted while it was read?"));
        return new Fetched(file, file.startsWith(scratch()));
    }

    private synchronized Path scratch() throws IOException {
        if (scratch == null) {
            scratch = Files.createTempDirectory("saeforge-cache-");
        }
        return scratch;
    }

    private static Fetched await(Future<Fetched> file) {
        try {
            return file.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the activation cache", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw new UncheckedIOException(io.getMessage(), io);
            }
            throw new IllegalStateException("reading the activation cache failed: " + e.getCause(), e.getCause());
        }
    }

    private Loaded load(ShardRef ref, Fetched fetched) {
        NDManager shardManager = manager.newSubManager(device);
        try (Safetensors.Reader reader = Safetensors.read(fetched.file())) {
            List<NDArray> rows = new ArrayList<>();
            for (int h = 0; h < hooks.size(); h++) {
                NDArray hookRows = SafetensorsArrays.readFloat32(reader, hooks.get(h), shardManager);
                // A shard outlives the caller's scope (a seek or the held-out rows load one on the trainer's thread).
                NDScope.unregister(hookRows);
                if (hookRows.getShape().dimension() != 2 || hookRows.getShape().get(0) != ref.rows()
                        || hookRows.getShape().get(1) != widths.get(h)) {
                    throw new IOException(files.uri() + "/" + ref.path() + ": " + hooks.get(h) + " has shape " + hookRows.getShape()
                            + "; its record says " + ref.rows() + " rows of width " + widths.get(h));
                }
                rows.add(hookRows);
            }
            long[] positions = reader.longs(CacheLayout.POSITIONS);
            if (positions.length != 2 * ref.rows()) {
                throw new IOException(files.uri() + "/" + ref.path() + ": " + CacheLayout.POSITIONS + " has " + positions.length
                        + " values; expected 2 per row for " + ref.rows() + " rows");
            }
            return new Loaded(shardManager, rows, positions, Math.toIntExact(ref.rows()));
        } catch (IOException e) {
            shardManager.close();
            throw new UncheckedIOException(e.getMessage(), e);
        } catch (RuntimeException e) {
            shardManager.close();
            throw e;
        } finally {
            if (fetched.temporary()) {
                try {
                    Files.deleteIfExists(fetched.file());
                } catch (IOException ignored) {
                    // a temporary file; the operating system's cleanup takes it
                }
            }
        }
    }

    private void unload() {
        if (loaded != null) {
            loaded.manager().close();
            loaded = null;
        }
    }

    /** Drops the shard fetched ahead, deleting its temporary copy. */
    private void discardAhead() {
        if (ahead != null) {
            try {
                Fetched fetched = ahead.get();
                if (fetched.temporary()) {
                    Files.deleteIfExists(fetched.file());
                }
            } catch (Exception ignored) {
                // nothing was fetched, or the fetch failed: nothing to delete
            }
            ahead = null;
            aheadShard = -1;
        }
    }

    @Override
    public void close() {
        discardAhead();   // before the shutdown: a fetch still queued would never finish
        fetcher.shutdownNow();
        unload();
        manager.close();
        if (scratch != null) {
            Directories.deleteQuietly(scratch);
        }
    }
}
