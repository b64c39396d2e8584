package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The mixing buffer of SAELens (reference §3.3) on rows that carry their own identity: row r of
 * window w holds the values (w, r), so each served batch shows where its rows came from.
 */
class MixingBufferTest {
    static final int WINDOW = 8;       // rows per window (the context size)
    static final int CHUNK = 4;        // windows per chunk (per forward pass)

    NDManager manager;

    @BeforeEach
    void open() {
        manager = Torch.engine().newBaseManager(Device.cpu());
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** Chunks of CHUNK windows, numbered from 0 on. */
    static final class Windows {
        int next;

        /** The chunks refill {@code round} of {@code buffer} needs after {@code kept}. */
        List<NDArray> forRefill(MixingBuffer buffer, NDArray kept, NDManager target) {
            List<NDArray> chunks = new ArrayList<>();
            int count = buffer.chunksNeeded(kept == null ? 0 : kept.getShape().get(0), (long) CHUNK * WINDOW);
            for (int i = 0; i < count; i++) {
                chunks.add(next(target));
            }
            return chunks;
        }

        NDArray next(NDManager target) {
            float[] values = new float[CHUNK * WINDOW * 2];
            for (int w = 0; w < CHUNK; w++) {
                for (int r = 0; r < WINDOW; r++) {
                    values[(w * WINDOW + r) * 2] = next + w;
                    values[(w * WINDOW + r) * 2 + 1] = r;
                }
            }
            next += CHUNK;
            return target.create(values, new Shape(CHUNK * WINDOW, 2));
        }
    }

    /** Serves {@code refills} refills, returning every batch as (window, row) pairs. */
    static List<float[]> serve(MixingBuffer buffer, Windows chunks, NDManager manager, int refills) {
        List<float[]> batches = new ArrayList<>();
        NDArray kept = null;
        for (int r = 0; r < refills; r++) {
            MixingBuffer.Round round = buffer.refill(r, kept, chunks.forRefill(buffer, kept, manager), manager);
            for (int j = 0; j < round.batches(); j++) {
                batches.add(round.batch(j).toFloatArray());
            }
            kept = round.kept();
        }
        return batches;
    }

    @Test
    void eachRefillServesSaeLensBatchCountAndKeepsTheRest() {
        // 96 rows wanted, chunks of 32: 96 rows, serve floor(96 * 0.5) / 16 = 3 batches, keep 48;
        // then 48 + 64 = 112 rows: serve floor(56 / 16) = 3, keep 64.
        MixingBuffer buffer = new MixingBuffer(96, 16, 0.5, 1);
        Windows windows = new Windows();
        MixingBuffer.Round first = buffer.refill(0, null, windows.forRefill(buffer, null, manager), manager);
        assertThat(first.rows().getShape()).isEqualTo(new Shape(96, 2));
        assertThat(first.batches()).isEqualTo(3);
        assertThat(first.kept().getShape().get(0)).isEqualTo(48);
        MixingBuffer.Round second = buffer.refill(1, first.kept(), windows.forRefill(buffer, first.kept(), manager), manager);
        assertThat(second.rows().getShape().get(0)).isEqualTo(112);
        assertThat(second.batches()).isEqualTo(3);
        assertThat(second.kept().getShape().get(0)).isEqualTo(64);
    }

    @Test
    void everyRowIsServedAtMostOnceAndNoneIsLost() {
        MixingBuffer buffer = new MixingBuffer(96, 16, 0.5, 1);
        Windows windows = new Windows();
        List<float[]> batches = serve(buffer, windows, manager, 20);
        Set<String> seen = new HashSet<>();
        for (float[] batch : batches) {
            for (int i = 0; i < batch.length; i += 2) {
                assertThat(seen.add(batch[i] + "/" + batch[i + 1])).as("row served twice").isTrue();
            }
        }
        long made = (long) windows.next * WINDOW;
        assertThat(made - seen.size()).as("rows made but not yet served are the ones kept").isLessThanOrEqualTo(96 + CHUNK * WINDOW);
    }

    @Test
    void aBatchMixesRowsFromManyWindows() {
        // A buffer of 24 windows, batches of 16 rows: a batch of consecutive rows would hold 2 windows;
        // 16 rows drawn at random from 24 windows fall in about 11.5.
        MixingBuffer buffer = new MixingBuffer(24 * WINDOW, 16, 0.5, 7);
        for (float[] batch : serve(buffer, new Windows(), manager, 10)) {
            Set<Float> windowsInBatch = new HashSet<>();
            for (int i = 0; i < batch.length; i += 2) {
                windowsInBatch.add(batch[i]);
            }
            assertThat(windowsInBatch.size()).as("windows in one batch of 16 rows").isGreaterThanOrEqualTo(7);
        }
    }

    @Test
    void aBufferTooSmallToServeABatchWhileMixingIsRefused() {
        assertThatThrownBy(() -> new MixingBuffer(2560, 4096, 0.5, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the mixing buffer holds 2,560 rows (spec.dataset.nBatchesInBuffer * storeBatchSizePrompts * contextSize); "
                        + "keeping 50% of them leaves fewer than one batch of 4,096 (spec.training.batchSizeTokens) to serve, so batches "
                        + "would mix too few windows; expected at least 8,192 rows");
    }

    @Test
    void withoutMixingRowsAreServedInTheOrderTheyCame() {
        MixingBuffer buffer = new MixingBuffer(32, 16, 0, 1);
        List<float[]> batches = serve(buffer, new Windows(), manager, 3);
        float expectedWindow = 0;
        for (float[] batch : batches) {
            for (int i = 0; i < batch.length; i += 2 * WINDOW) {
                assertThat(batch[i]).isEqualTo(expectedWindow++);
            }
        }
    }

    @Test
    void theSameSeedServesTheSameBatchesAndAnotherSeedOthers() {
        List<float[]> a = serve(new MixingBuffer(96, 16, 0.5, 1), new Windows(), manager, 6);
        List<float[]> b = serve(new MixingBuffer(96, 16, 0.5, 1), new Windows(), manager, 6);
        List<float[]> c = serve(new MixingBuffer(96, 16, 0.5, 2), new Windows(), manager, 6);
        assertThat(a).usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(b);
        assertThat(a.get(0)).isNotEqualTo(c.get(0));
    }

    @Test
    void aRoundResumedFromItsUnservedRowsServesWhatTheUninterruptedRunServes() {
        MixingBuffer buffer = new MixingBuffer(96, 16, 0.5, 1);
        List<float[]> straight = serve(buffer, new Windows(), manager, 5);

        // Stop after batch 1 of refill 2 (the 8th batch): keep its unserved rows, as a checkpoint does.
        Windows windows = new Windows();
        NDArray kept = null;
        MixingBuffer.Round round = null;
        for (int r = 0; r <= 2; r++) {
            round = buffer.refill(r, kept, windows.forRefill(buffer, kept, manager), manager);
            kept = round.kept();
        }
        float[] pending = round.after(2).toFloatArray();
        int left = round.batches() - 2;

        MixingBuffer.Round resumed = buffer.resumed(2, manager.create(pending, new Shape(pending.length / 2, 2)), left);
        List<float[]> after = new ArrayList<>();
        for (int j = 0; j < resumed.batches(); j++) {
            after.add(resumed.batch(j).toFloatArray());
        }
        kept = resumed.kept();
        for (int r = 3; r < 5; r++) {
            MixingBuffer.Round next = buffer.refill(r, kept, windows.forRefill(buffer, kept, manager), manager);
            for (int j = 0; j < next.batches(); j++) {
                after.add(next.batch(j).toFloatArray());
            }
            kept = next.kept();
        }
        assertThat(after).usingElementComparator(java.util.Arrays::compare).containsExactlyElementsOf(straight.subList(8, straight.size()));
    }
}
