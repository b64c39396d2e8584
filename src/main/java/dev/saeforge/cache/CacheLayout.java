package dev.saeforge.cache;

import java.util.List;
import java.util.Map;

/**
 * The activation cache's files under its location (spec.activations.cache.uri), the one place
 * their names and JSON shapes are defined. Writers and readers go through these records.
 *
 * <pre>
 * cache.json                                      {@link Info}: written first by every writer (the same bytes each time)
 * index-00000-of-00004/shard-000000.safetensors   rows of passes, in stream order (tensors below)
 * index-00000-of-00004/shard-000000.json          {@link ShardRecord}: written after its shard; a shard without it is incomplete
 * index-00000-of-00004/manifest.json              {@link IndexManifest}: written last by the index's writer
 * held_out/shard-000000.safetensors, .json        the held-out rows (written by index 0)
 * held_out/manifest.json                          {@link IndexManifest} of the held-out rows
 * manifest.json                                   {@link Manifest}: written last, once every index and held_out are complete
 * </pre>
 *
 * A shard holds, for rows r of its passes: one tensor per hook named as the hook
 * ({@code blocks.1.hook_mlp_out}) [rows, width] in the cache's dtype; {@code tokens} int64 [rows],
 * each row's token id; {@code positions} int64 [rows, 2], each row's (window index in the training
 * stream, position in that window). Index i of N holds the forward passes
 * [⌊i·P/N⌋, ⌊(i+1)·P/N⌋) of the P passes the run needs ({@link Info#passes}), each pass being
 * storeBatchSizePrompts windows, so that concatenating the indexes in order gives exactly the
 * rows the live stream reads, before its mixing buffer.
 */
public final class CacheLayout {
    public static final int SCHEMA = 1;
    public static final String INFO = "cache.json";
    public static final String MANIFEST = "manifest.json";
    public static final String HELD_OUT = "held_out";
    public static final String TOKENS = "tokens";
    public static final String POSITIONS = "positions";

    private CacheLayout() {
    }

    /** The directory of index {@code index} of {@code of}. */
    public static String indexDirectory(int index, int of) {
        return String.format("index-%05d-of-%05d", index, of);
    }

    /** Shard {@code shard}'s safetensors file name inside its directory. */
    public static String shardFile(int shard) {
        return String.format("shard-%06d.safetensors", shard);
    }

    /** Shard {@code shard}'s record (written after the shard) inside its directory. */
    public static String shardRecord(int shard) {
        return String.format("shard-%06d.json", shard);
    }

    /** The first of index {@code index}'s passes when {@code passes} are split into {@code of} indexes. */
    public static long firstPass(long passes, int index, int of) {
        return Math.floorDiv(passes * index, of);
    }

    /** A hook the cache holds and its width. */
    public record HookWidth(String hook, int width) {
    }

    /**
     * What a cache is, fixed before any row is written.
     *
     * @param key          what determines its rows; a run whose key differs cannot read it
     * @param of           the number of indexes it is split into
     * @param passes       forward passes of training rows, split over the indexes
     * @param rowsPerPass  the most rows a pass yields (storeBatchSizePrompts · kept positions per window)
     * @param heldOutRows  held-out rows
     * @param rowsPerShard rows per shard file
     * @param dtype        bfloat16 or float32
     * @param hooks        hooks in shard order, with their widths
     */
    public record Info(int schema, CacheKey key, int of, long passes, int rowsPerPass, long heldOutRows, int rowsPerShard,
                       String dtype, List<HookWidth> hooks) {
    }

    /**
     * A complete shard.
     *
     * @param file        its file name
     * @param rows        rows in it
     * @param firstRow    its first row's number within its index (or held_out)
     * @param bytes       the file's size
     * @param sha256      the file's sha256, hex
     */
    public record ShardRecord(String file, long rows, long firstRow, long bytes, String sha256) {
    }

    /**
     * A complete index (or held_out, with index -1).
     *
     * @param firstPass its first forward pass in the training stream
     * @param passes    its passes
     * @param rows      its rows, the sum of its shards'
     */
    public record IndexManifest(int index, int of, long firstPass, long passes, long rows, List<ShardRecord> shards) {
    }

    /**
     * A complete cache: {@link Info} and every index's manifest, in index order.
     *
     * @param trainingRows rows over all indexes
     * @param extra        free-form facts for people (when and how it was written)
     */
    public record Manifest(int schema, Info info, long trainingRows, List<IndexManifest> indexes, IndexManifest heldOut,
                           Map<String, Object> extra) {
    }
}
