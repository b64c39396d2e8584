package dev.saeforge.cache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.data.LanguageModelData;
import dev.saeforge.data.TrainingWindows;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.store.CheckpointFiles;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Torch;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Writes a run's activation cache ({@link CacheLayout}), one index at a time: the rows the live
 * stream would read before its mixing buffer, from the same windows, in forward passes of
 * storeBatchSizePrompts windows, through the same model program.
 *
 * <p>Index i of N writes passes [⌊i·P/N⌋, ⌊(i+1)·P/N⌋): it packs and drops the windows of the
 * passes before its own without running the model, then runs its passes and cuts their rows into
 * shards of rowsPerShard rows (the last may be shorter). Each shard goes up whole, then its
 * record (size and sha256); the index's manifest goes up last. Index 0 also writes the held-out
 * rows. Everything written is a function of the spec and the inputs alone, so building an index
 * twice gives the same bytes, and any number of processes may build different indexes at once.
 *
 * <p>Resuming: shards are not aligned to passes. A rerun keeps the shards, from the first, whose
 * record exists and whose bytes still match it, and rewrites from the first one that does not:
 * it counts each pass's kept rows from its tokens alone (no model) up to the pass that holds the
 * shard's first row, and runs the model from that pass on, dropping the rows before the shard.
 */
public final class CacheWriter {
    /** What a writer reports as it goes; a listener that throws stops the writer (what it wrote so far stays valid). */
    public interface Listener {
        Listener NONE = new Listener() {
        };

        /** The writer begins {@code part} (an index, or held_out). */
        default void started(Part part) {
        }

        /** Rows written so far of the part. */
        default void progress(Progress progress) {
        }

        /** The part is complete. */
        default void finished(Part part, CacheLayout.IndexManifest manifest) {
        }
    }

    /**
     * One part of a cache being written.
     *
     * @param index       the index, or -1 for held_out
     * @param of          indexes in the cache
     * @param passes      its forward passes
     * @param mostRows    the most rows it can hold (passes · rowsPerPass, or the held-out rows)
     * @param resumedRows rows kept from an earlier writer
     */
    public record Part(int index, int of, long passes, long mostRows, long resumedRows) {
        public String describe() {
            return index < 0 ? "held-out rows" : "index " + index + " of " + of;
        }
    }

    /**
     * Rows written of a part.
     *
     * @param rows         rows of the part complete in the cache (resumed ones included)
     * @param rowsComputed rows this writer computed with the model
     * @param bytes        bytes this writer wrote
     * @param nanos        time since this writer started the part
     */
    public record Progress(Part part, long rows, long rowsComputed, long bytes, long nanos) {
    }

    private final TrainingRunSpec spec;
    private final LanguageModelData data;
    private final List<HookPoint> hooks;
    private final CacheFiles files;
    private final Listener listener;
    private final CachePlan plan;
    private final Safetensors.Dtype stored;
    private final String dtype;
    private final int rowsPerShard;

    public CacheWriter(TrainingRunSpec spec, LanguageModelData data, List<HookPoint> hooks, CacheFiles files, Listener listener) {
        if (spec.activations == null || spec.activations.cache == null) {
            throw new IllegalArgumentException("spec.activations.cache is not set; expected {uri: s3://BUCKET/PREFIX or a directory}");
        }
        this.spec = spec;
        this.data = data;
        this.hooks = List.copyOf(hooks);
        this.files = files;
        this.listener = listener;
        this.plan = counted(CachePlan.of(spec), spec, data);
        this.dtype = CacheKey.storedDtype(spec, data.model().precision().toString());
        this.stored = dtype.equals("bfloat16") ? Safetensors.Dtype.BF16 : Safetensors.Dtype.F32;
        this.rowsPerShard = spec.activations.cache.rowsPerShard;
    }

    /**
     * {@code plan} with its passes counted from the tokens when spec.dataset.excludeSpecialTokens
     * drops rows: packing the windows without the model until their kept rows reach what the stream
     * reads. Every writer counts the same passes, for the windows are a function of the spec alone.
     */
    private static CachePlan counted(CachePlan plan, TrainingRunSpec spec, LanguageModelData data) {
        if (spec.dataset.excludeSpecialTokens.none()) {
            return plan;
        }
        long rows = 0;
        long passes = 0;
        try (TrainingWindows windows = data.trainingWindows()) {
            while (rows < plan.neededRows()) {
                rows += data.keptCount(windows.next());
                passes++;
                if (passes > 100 * plan.passes()) {
                    throw new IllegalArgumentException("spec.dataset.excludeSpecialTokens drops almost every row: " + passes
                            + " forward passes kept only " + rows + " of the " + plan.neededRows() + " rows the run reads");
                }
            }
        }
        return plan.withPasses(passes);
    }

    /** The cache's description for {@code of} indexes: what every writer writes as cache.json. */
    public CacheLayout.Info info(int of) {
        List<String> names = hooks.stream().map(HookPoint::toString).toList();
        CacheKey key = CacheKey.of(spec, names, data.inputs(), data.model().precision().toString());
        List<CacheLayout.HookWidth> widths = hooks.stream()
                .map(h -> new CacheLayout.HookWidth(h.toString(), h.width(data.model().config()))).toList();
        return new CacheLayout.Info(CacheLayout.SCHEMA, key, of, plan.passes(), plan.rowsPerPass(), plan.heldOutRows(), rowsPerShard,
                dtype, widths);
    }

    /** Builds every index of {@code of} in turn (and the held-out rows); returns the complete cache's manifest. */
    public CacheLayout.Manifest buildAll(int of) throws IOException {
        for (int i = 0; i < of; i++) {
            build(i, of);
        }
        CacheManifests.Completeness state = CacheManifests.complete(files);
        return state.manifest().orElseThrow(() -> new IOException("the cache at " + files.uri() + " is not complete after writing every"
                + " index: " + state.describe()));
    }

    /**
     * Builds index {@code index} of {@code of} (and, for index 0, the held-out rows), resuming
     * what an earlier writer left; writes the top manifest when every index is complete. Refuses
     * a location whose cache.json describes another cache, naming the differences.
     */
    public CacheLayout.IndexManifest build(int index, int of) throws IOException {
        CacheLayout.Info info = info(of);
        CachePlan.PassRange range = plan.range(index, of);
        claim(info);
        CacheLayout.IndexManifest manifest = CacheManifests.index(files, index, of).orElse(null);
        if (manifest == null) {
            manifest = writeTraining(index, of, range);
        }
        if (index == 0 && CacheManifests.index(files, -1, of).isEmpty()) {
            writeHeldOut(of);
        }
        CacheManifests.complete(files);
        return manifest;
    }

    /** Writes cache.json, or checks that the one there is this cache's. */
    private void claim(CacheLayout.Info info) throws IOException {
        byte[] wanted = CacheFiles.json(info);
        Optional<byte[]> existing = files.get(CacheLayout.INFO);
        if (existing.isEmpty()) {
            files.put(CacheLayout.INFO, wanted);
            return;
        }
        if (Arrays.equals(existing.get(), wanted)) {
            return;
        }
        CacheLayout.Info there = files.readJson(CacheLayout.INFO, CacheLayout.Info.class).orElseThrow();
        List<String> differences = differences(there, info);
        throw new CacheMismatchException(files.uri() + " holds another cache (" + CacheLayout.INFO + " differs: "
                + (differences.isEmpty() ? "its bytes" : String.join("; ", differences))
                + "); write this spec's cache elsewhere, or delete that one with: saeforge cache rm " + files.uri());
    }

    /** How the cache {@code there} differs from {@code wanted}, field by field; its hooks must be the same, not a superset. */
    static List<String> differences(CacheLayout.Info there, CacheLayout.Info wanted) {
        List<String> out = new ArrayList<>(there.key().differences(wanted.key()));
        if (!there.key().hooks().equals(wanted.key().hooks()) && out.stream().noneMatch(d -> d.startsWith("hooks:"))) {
            out.add("hooks: cache has " + there.key().hooks() + ", the spec has " + wanted.key().hooks());
        }
        CacheKey.differ(out, "schema", there.schema(), wanted.schema());
        CacheKey.differ(out, "of (indexes)", there.of(), wanted.of());
        CacheKey.differ(out, "passes", there.passes(), wanted.passes());
        CacheKey.differ(out, "rowsPerPass", there.rowsPerPass(), wanted.rowsPerPass());
        CacheKey.differ(out, "heldOutRows", there.heldOutRows(), wanted.heldOutRows());
        CacheKey.differ(out, "rowsPerShard", there.rowsPerShard(), wanted.rowsPerShard());
        CacheKey.differ(out, "hook widths", there.hooks(), wanted.hooks());
        return out;
    }

    /** The shards of {@code directory} complete from the first: each has its record, and its bytes match it. */
    private List<CacheLayout.ShardRecord> keptShards(String directory) throws IOException {
        List<CacheLayout.ShardRecord> kept = new ArrayList<>();
        long next = 0;
        for (int shard = 0; ; shard++) {
            Optional<CacheLayout.ShardRecord> record = files.readJson(directory + "/" + CacheLayout.shardRecord(shard), CacheLayout.ShardRecord.class);
            if (record.isEmpty() || record.get().firstRow() != next || !verifies(files, directory, record.get())) {
                return kept;
            }
            kept.add(record.get());
            next += record.get().rows();
        }
    }

    /** Whether the shard file of {@code record} has its size and sha256. */
    public static boolean verifies(CacheFiles files, String directory, CacheLayout.ShardRecord record) throws IOException {
        Optional<InputStream> in = files.open(directory + "/" + record.file());
        if (in.isEmpty()) {
            return false;
        }
        CheckpointFiles.Digest digest;
        try (InputStream stream = in.get()) {
            digest = CheckpointFiles.sha256(stream);
        }
        return digest.bytes() == record.bytes() && digest.sha256().equals(record.sha256());
    }

    /** Index {@code index}'s passes: skip the passes before them, then shard their rows. */
    private CacheLayout.IndexManifest writeTraining(int index, int of, CachePlan.PassRange range) throws IOException {
        String directory = CacheManifests.directory(index, of);
        List<CacheLayout.ShardRecord> kept = keptShards(directory);
        long resumeRow = kept.stream().mapToLong(CacheLayout.ShardRecord::rows).sum();
        Part part = new Part(index, of, range.count(), range.count() * plan.rowsPerPass(), resumeRow);
        listener.started(part);
        int windowsPerPass = data.windowsPerForward();
        try (TrainingWindows windows = data.trainingWindows();
             ShardSink sink = new ShardSink(part, directory, kept)) {
            windows.skip(range.first());
            long row = 0;
            for (long pass = range.first(); pass < range.end(); pass++) {
                long[][] batch = windows.next();
                long count = data.keptCount(batch);
                if (row + count > resumeRow) {
                    sink.add(batch, pass * windowsPerPass, (int) Math.max(0, resumeRow - row));
                }
                row += count;
            }
            return sink.finish(range.first(), range.count());
        }
    }

    /** The held-out rows: the held-out batches in order, starting over after the last, as the evaluation reads them. */
    private void writeHeldOut(int of) throws IOException {
        String directory = CacheManifests.directory(-1, of);
        List<CacheLayout.ShardRecord> kept = keptShards(directory);
        long resumeRow = kept.stream().mapToLong(CacheLayout.ShardRecord::rows).sum();
        List<long[][]> batches = data.heldOutBatches();
        if (plan.heldOutRows() > 0 && batches.stream().mapToLong(data::keptCount).sum() == 0) {
            throw new IllegalArgumentException("the run's held-out windows keep no rows (none held out, or spec.dataset.seqposSlice and"
                    + " excludeSpecialTokens drop them all), but its evaluation reads " + plan.heldOutRows() + " rows");
        }
        Part part = new Part(-1, of, batches.size(), plan.heldOutRows(), resumeRow);
        listener.started(part);
        try (ShardSink sink = new ShardSink(part, directory, kept)) {
            long row = 0;
            long passes = 0;
            for (int b = 0; row < plan.heldOutRows(); b = (b + 1) % batches.size(), passes++) {
                long[][] batch = batches.get(b);
                long count = Math.min(data.keptCount(batch), plan.heldOutRows() - row);
                if (row + count > resumeRow) {
                    sink.add(batch, (long) b * data.windowsPerForward(), (int) Math.max(0, resumeRow - row), (int) count);
                }
                row += count;
            }
            sink.finish(0, passes);
        }
    }

    /** Rows collected into shards of rowsPerShard rows, each written whole and then its record. */
    private final class ShardSink implements AutoCloseable {
        private final Part part;
        private final String directory;
        private final List<CacheLayout.ShardRecord> records;
        private final int[] widths;
        private final float[][] values;
        private final long[] tokens;
        private final long[] positions;
        private final NDManager manager = Torch.engine().newBaseManager(data.model().device());
        private final long started = System.nanoTime();
        private int filled;
        private long rows;
        private long computed;
        private long bytes;

        ShardSink(Part part, String directory, List<CacheLayout.ShardRecord> kept) {
            this.part = part;
            this.directory = directory;
            this.records = new ArrayList<>(kept);
            this.rows = kept.stream().mapToLong(CacheLayout.ShardRecord::rows).sum();
            this.widths = hooks.stream().mapToInt(h -> h.width(data.model().config())).toArray();
            this.values = new float[hooks.size()][];
            for (int h = 0; h < hooks.size(); h++) {
                values[h] = new float[Math.multiplyExact(rowsPerShard, widths[h])];
            }
            this.tokens = new long[rowsPerShard];
            this.positions = new long[2 * rowsPerShard];
        }

        /** One forward pass of {@code batch} (its first window is window {@code firstWindow}), its kept rows from {@code from} on. */
        void add(long[][] batch, long firstWindow, int from) throws IOException {
            add(batch, firstWindow, from, Integer.MAX_VALUE);
        }

        /** As above, taking the rows [from, until) of the pass. */
        void add(long[][] batch, long firstWindow, int from, int until) throws IOException {
            long[] indices = data.keptRowIndices(batch);
            int end = Math.min(until, indices.length);
            int context = data.contextSize();
            List<float[]> hookRows = new ArrayList<>();
            try (NDManager pass = manager.newSubManager()) {
                for (NDArray rowsOfHook : data.keptActivations(batch, hooks, pass)) {
                    hookRows.add(rowsOfHook.toFloatArray());
                }
            }
            for (int r = from; r < end; r++) {
                int window = (int) (indices[r] / context);
                int position = (int) (indices[r] % context);
                for (int h = 0; h < hooks.size(); h++) {
                    System.arraycopy(hookRows.get(h), r * widths[h], values[h], filled * widths[h], widths[h]);
                }
                tokens[filled] = batch[window][position];
                positions[2 * filled] = firstWindow + window;
                positions[2 * filled + 1] = position;
                filled++;
                computed++;
                if (filled == rowsPerShard) {
                    flush();
                }
            }
            listener.progress(new Progress(part, rows + filled, computed, bytes, System.nanoTime() - started));
        }

        /** Writes the rows collected as the next shard, then its record. */
        private void flush() throws IOException {
            if (filled == 0) {
                return;
            }
            int shard = records.size();
            Safetensors.Writer writer = Safetensors.writer();
            for (int h = 0; h < hooks.size(); h++) {
                writer.addFloats(hooks.get(h).toString(), stored, new long[]{filled, widths[h]},
                        filled == rowsPerShard ? values[h] : Arrays.copyOf(values[h], filled * widths[h]));
            }
            writer.addLongs(CacheLayout.TOKENS, new long[]{filled}, Arrays.copyOf(tokens, filled));
            writer.addLongs(CacheLayout.POSITIONS, new long[]{filled, 2}, Arrays.copyOf(positions, 2 * filled));
            Path local = Files.createTempFile("saeforge-shard-", ".safetensors");
            try {
                MessageDigest digest = CheckpointFiles.newSha256();
                try (OutputStream out = new DigestOutputStream(new BufferedOutputStream(Files.newOutputStream(local), 1 << 20), digest)) {
                    writer.write(out);
                }
                long size = Files.size(local);
                CacheLayout.ShardRecord record = new CacheLayout.ShardRecord(CacheLayout.shardFile(shard), filled, rows, size,
                        HexFormat.of().formatHex(digest.digest()));
                files.putFile(directory + "/" + record.file(), local);
                files.writeJson(directory + "/" + CacheLayout.shardRecord(shard), record);
                records.add(record);
                rows += filled;
                bytes += size;
                filled = 0;
            } finally {
                Files.deleteIfExists(local);
            }
        }

        /** Writes the last shard and the part's manifest. */
        CacheLayout.IndexManifest finish(long firstPass, long passes) throws IOException {
            flush();
            CacheLayout.IndexManifest manifest = new CacheLayout.IndexManifest(part.index(), part.of(), firstPass, passes, rows, List.copyOf(records));
            files.writeJson(directory + "/" + CacheLayout.MANIFEST, manifest);
            listener.progress(new Progress(part, rows, computed, bytes, System.nanoTime() - started));
            listener.finished(part, manifest);
            return manifest;
        }

        @Override
        public void close() {
            manager.close();
        }
    }
}
