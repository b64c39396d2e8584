package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.cache.CacheFiles;
import dev.saeforge.cache.CacheLayout;
import dev.saeforge.cache.CacheManifests;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A run's activations read from a complete activation cache instead of a language model: the
 * cache's passes, in pass order, feed the same mixing buffers ({@link ActivationProducer},
 * {@link MixingBuffer}) with the same buffer size, batch, mixing fraction and seed as the live
 * stream ({@link LanguageModelActivations}), so a float32 cache of a float32 model serves
 * bit-identical batches. A pass is the rows whose window (their stored position) falls in it;
 * shards are read in order, the next one fetched ahead.
 *
 * <p>Position: as the live stream's ({@link ServedBatches}), with the windows read standing for
 * the passes read (each pass is storeBatchSizePrompts windows): resume is exact. A run that needs
 * more passes than the cache holds starts over from its first pass, with a warning, and says so
 * in {@link #describe()}.
 */
public final class CachedActivations extends BufferedActivations {
    private static final Logger LOG = Logger.getLogger(CachedActivations.class);

    private final CacheFiles files;
    private final CacheLayout.Manifest manifest;
    private final List<String> hooks;
    private final List<Integer> widths;
    private final Device device;
    private final CachePasses passes;
    private final ServedBatches batches;
    private long wrapsServed;

    private CachedActivations(CacheFiles files, CacheLayout.Manifest manifest, List<String> hooks, TrainingRunSpec spec, Device device) {
        this.files = files;
        this.manifest = manifest;
        this.hooks = List.copyOf(hooks);
        this.device = device;
        this.widths = hooks.stream().map(hook -> widthOf(manifest.info(), hook)).toList();
        List<MixingBuffer> buffers = MixingBuffer.perHook(hooks.size(), spec.dataset, spec.training.batchSizeTokens, spec.training.seed);
        this.passes = new CachePasses(new CacheRows(files, trainingShards(manifest), hooks, widths, device), manifest,
                spec.dataset.storeBatchSizePrompts, device);
        this.batches = new ServedBatches(new ActivationProducer(passes, buffers), hooks, widths, spec.training.batchSizeTokens,
                start -> passes.restore(start.windows()));
    }

    /**
     * The cache at {@code files}, which must be complete, for {@code spec}'s batches at {@code hooks}
     * (among the cache's), its rows on {@code device}. Whether the cache's key matches the spec is
     * the caller's to check (see CacheKey.differences).
     */
    public static CachedActivations open(CacheFiles files, TrainingRunSpec spec, List<String> hooks, Device device) throws IOException {
        CacheManifests.Completeness cache = CacheManifests.complete(files);
        if (!cache.complete()) {
            throw new IllegalArgumentException("the activation cache " + files.uri() + " is not complete: " + cache.describe());
        }
        requireDistinct(hooks);
        return new CachedActivations(files, cache.manifest().get(), hooks, spec, device);
    }

    private static int widthOf(CacheLayout.Info info, String hook) {
        return info.hooks().stream().filter(h -> h.hook().equals(hook)).mapToInt(CacheLayout.HookWidth::width).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("the activation cache holds " + info.hooks().stream()
                        .map(CacheLayout.HookWidth::hook).toList() + ", not " + hook));
    }

    private static List<CacheRows.ShardRef> trainingShards(CacheLayout.Manifest manifest) {
        List<CacheRows.ShardRef> out = new ArrayList<>();
        for (CacheLayout.IndexManifest index : manifest.indexes()) {
            String directory = CacheManifests.directory(index.index(), index.of());
            index.shards().forEach(shard -> out.add(new CacheRows.ShardRef(directory + "/" + shard.file(), shard.rows())));
        }
        return out;
    }

    private static List<CacheRows.ShardRef> heldOutShards(CacheLayout.Manifest manifest) {
        return manifest.heldOut().shards().stream()
                .map(shard -> new CacheRows.ShardRef(CacheLayout.HELD_OUT + "/" + shard.file(), shard.rows())).toList();
    }

    /** The cache's manifest. */
    public CacheLayout.Manifest manifest() {
        return manifest;
    }

    @Override
    ServedBatches batches() {
        return batches;
    }

    @Override
    public NDList next(NDManager manager, int rows) {
        NDList batch = super.next(manager, rows);
        // The producer reads ahead past the cache's end near the end of every run; only a batch served from a refill that started over counts.
        long wraps = passes.wrapsOf(batches.position().windows() - 1);
        if (wraps > wrapsServed) {
            wrapsServed = wraps;
            LOG.warnf("the run needs more rows than the activation cache %s holds (%,d passes); starting over from its first pass"
                    + " (reading it for the %d%s time)", files.uri(), manifest.info().passes(), wraps + 1, wraps == 1 ? "nd" : wraps == 2 ? "rd" : "th");
        }
        return batch;
    }

    /**
     * The live stream's position, and where in the cache its input stands: the next pass, how often
     * the cache was read through, and (when the counts tell) the shard and row the pass starts at.
     */
    @Override
    public Map<String, Object> position() {
        StreamPosition position = batches.position();
        Map<String, Object> out = new LinkedHashMap<>(position.toJson());
        out.put("cache_pass", passes.passOf(position.windows()));
        out.put("cache_wraps", passes.wrapsOf(position.windows()));
        passes.describeInput(position.windows(), out);
        return out;
    }

    @Override
    public ActivationSource heldOut() {
        return new HeldOut();
    }

    /** SAELens' config fields for a run trained from cached activations, and the cache's key. */
    @Override
    public Map<String, Object> metadata() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("use_cached_activations", true);
        out.put("cached_activations_path", files.uri());
        out.put("saeforge_cache_key", manifest.info().key());
        return out;
    }

    @Override
    public String describe() {
        long wraps = wrapsServed;
        return "activation cache " + files.uri() + " (" + String.format("%,d", manifest.trainingRows()) + " rows, "
                + manifest.info().dtype() + ", at " + String.join(", ", hooks) + ")"
                + (wraps == 0 ? "" : ", read through " + (wraps + 1) + " times: the run needs more rows than it holds");
    }

    @Override
    public void close() {
        batches.close();
    }

    /** A row of the cache's shards in reading order. */
    private record CacheRowAt(int shard, long row) {
    }

    /**
     * The cache's passes in order, as an activation stream's passes: pass p is the next rows whose
     * window is in [p·storeBatchSizePrompts, (p+1)·storeBatchSizePrompts). Read on the producer's
     * thread, which runs ahead of the trainer; the shard files are fetched ahead of it.
     */
    private static final class CachePasses implements ActivationProducer.Passes {
        private final CacheRows rows;
        private final long cachePasses;
        private final int windowsPerPass;
        private final Device device;
        private final List<CacheLayout.IndexManifest> indexes;
        private final int rowsPerPass;
        private long read;      // passes read since the start of the stream, over every wrap

        CachePasses(CacheRows rows, CacheLayout.Manifest manifest, int windowsPerPass, Device device) {
            this.rows = rows;
            this.cachePasses = manifest.info().passes();
            this.windowsPerPass = windowsPerPass;
            this.device = device;
            this.indexes = manifest.indexes();
            this.rowsPerPass = manifest.info().rowsPerPass();
        }

        @Override
        public Device device() {
            return device;
        }

        @Override
        public int ahead() {
            return 1;
        }

        long passOf(long windows) {
            return (windows / windowsPerPass) % cachePasses;
        }

        long wrapsOf(long windows) {
            return (windows / windowsPerPass) / cachePasses;
        }

        @Override
        public ActivationProducer.Pass next(NDManager manager) {
            long pass = read % cachePasses;
            if (pass == 0 && read > 0) {
                rows.seek(0, 0);
            }
            long first = pass * windowsPerPass;
            long end = first + windowsPerPass;
            rows.skipWindowsBelow(first);
            List<NDArray> passRows = rows.take(manager, Long.MAX_VALUE, window -> window < end);
            read++;
            long count = passRows.get(0).getShape().get(0);
            return new ActivationProducer.Pass(CompletableFuture.completedFuture(passRows), count, StreamPosition.START.text(),
                    read * windowsPerPass);
        }

        /** Continues after {@code windows} windows of the stream: at the pass they end. */
        void restore(long windows) {
            read = windows / windowsPerPass;
            seekPass(read % cachePasses);
        }

        /**
         * Where pass {@code pass} starts: its shard (in reading order) and row there. In an index
         * whose passes all kept every row they follow from the counts; otherwise the row is -1 and
         * the shard is the index's first, from which the rows' windows tell where the pass starts.
         */
        private CacheRowAt locate(long pass) {
            int shardsBefore = 0;
            for (CacheLayout.IndexManifest index : indexes) {
                if (pass >= index.firstPass() && pass < index.firstPass() + index.passes()) {
                    if (index.rows() == index.passes() * rowsPerPass) {
                        long offset = (pass - index.firstPass()) * rowsPerPass;
                        for (int s = 0; s < index.shards().size(); s++) {
                            CacheLayout.ShardRecord shard = index.shards().get(s);
                            if (offset < shard.firstRow() + shard.rows()) {
                                return new CacheRowAt(shardsBefore + s, offset - shard.firstRow());
                            }
                        }
                    }
                    return new CacheRowAt(shardsBefore, -1);
                }
                shardsBefore += index.shards().size();
            }
            return new CacheRowAt(shardsBefore, 0);
        }

        /** Moves to pass {@code pass}'s first row. */
        private void seekPass(long pass) {
            CacheRowAt at = locate(pass);
            rows.seek(at.shard(), Math.toIntExact(Math.max(0, at.row())));
            if (at.row() < 0) {
                rows.skipWindowsBelow(pass * windowsPerPass);
            }
        }

        /** The shard file (its path in the cache) and row where the input stands after {@code windows} windows, when the counts tell. */
        void describeInput(long windows, Map<String, Object> out) {
            CacheRowAt at = locate(passOf(windows));
            if (at.row() >= 0 && at.shard() < rows.shards().size()) {
                out.put("cache_shard", rows.shards().get(at.shard()).path());
                out.put("cache_row", at.row());
            }
        }

        @Override
        public void close() {
            rows.close();
        }
    }

    /** The cache's held-out rows, batch after batch, starting over after the last. */
    private final class HeldOut extends HeldOutStream {
        private final CacheRows rows = new CacheRows(files, heldOutShards(manifest), hooks, widths, device);

        HeldOut() {
            rows.seek(0, 0);
        }

        @Override
        public List<String> hooks() {
            return hooks;
        }

        @Override
        public int dIn(String hook) {
            return CachedActivations.this.dIn(hook);
        }

        @Override
        public NDList next(NDManager manager, int count) {
            List<List<NDArray>> parts = new ArrayList<>();
            hooks.forEach(h -> parts.add(new ArrayList<>()));
            long have = 0;
            while (have < count) {
                if (rows.atEnd()) {
                    if (manifest.heldOut().rows() == 0) {
                        throw new IllegalStateException("the activation cache " + files.uri() + " holds no held-out rows");
                    }
                    rows.seek(0, 0);
                }
                List<NDArray> more = rows.take(manager, count - have, window -> true);
                have += more.get(0).getShape().get(0);
                for (int h = 0; h < hooks.size(); h++) {
                    parts.get(h).add(more.get(h));
                }
            }
            NDList out = new NDList();
            for (List<NDArray> hookParts : parts) {
                NDArray batch = hookParts.size() == 1 ? hookParts.get(0) : NDArrays.concat(new NDList(hookParts), 0);
                if (hookParts.size() > 1) {
                    hookParts.forEach(NDArray::close);
                }
                batch.attach(manager);
                NDScope.register(batch);
                out.add(batch);
            }
            served();
            return out;
        }

        @Override
        public String describe() {
            return "held-out rows of " + CachedActivations.this.describe();
        }

        @Override
        public void close() {
            rows.close();
        }
    }
}
