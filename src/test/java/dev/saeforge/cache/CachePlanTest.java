package dev.saeforge.cache;

import dev.saeforge.api.TrainingRunSpec;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A run needs the rows of its normalisation draws, its steps, its buffer and one more pass; indexes split those passes. */
class CachePlanTest {
    @Test
    void theRunsPassesCoverItsDrawsStepsBufferAndOneMorePass() throws Exception {
        // 10 steps of 64 rows; a pass is 32 windows of 16 tokens (512 rows); the buffer 20 passes.
        CachePlan plan = CachePlan.of(CacheKeyTest.spec("", ""));
        assertThat(plan.rowsPerPass()).isEqualTo(512);
        assertThat(plan.bufferRows()).isEqualTo(20 * 512);
        assertThat(plan.neededRows()).isEqualTo(10 * 64 + 20 * 512 + 512);
        assertThat(plan.passes()).isEqualTo(23);   // ⌈11392 / 512⌉
        assertThat(plan.heldOutRows()).isEqualTo(64 * CacheKeyTest.spec("", "").training.evalBatches);

        TrainingRunSpec normalised = CacheKeyTest.spec(", storeBatchSizePrompts: 4, nBatchesInBuffer: 2, seqposSlice: [4, null]", "");
        normalised.sae.normalizeActivations = dev.saeforge.api.SaeSpec.ActivationNormalization.EXPECTED_AVERAGE_ONLY_IN;
        normalised.sae.nBatchesForNormEstimate = 3;
        CachePlan withDraws = CachePlan.of(normalised);
        assertThat(withDraws.rowsPerPass()).isEqualTo(4 * 12);
        assertThat(withDraws.neededRows()).isEqualTo((3 + 10) * 64 + 2 * 48 + 48);
        assertThat(withDraws.passes()).isEqualTo(21);   // ⌈976 / 48⌉
    }

    @Test
    void indexIOfNHoldsPassesFloorIPOverNToFloorIPlusOnePOverN() {
        assertThat(CachePlan.range(13, 0, 4)).isEqualTo(new CachePlan.PassRange(0, 3));
        assertThat(CachePlan.range(13, 3, 4)).isEqualTo(new CachePlan.PassRange(9, 13));
        assertThat(CachePlan.range(2, 0, 4).count()).isZero();
        long covered = 0;
        for (int i = 0; i < 7; i++) {
            CachePlan.PassRange range = CachePlan.range(100, i, 7);
            assertThat(range.first()).isEqualTo(covered);
            covered = range.end();
        }
        assertThat(covered).isEqualTo(100);
        assertThatThrownBy(() -> CachePlan.range(13, 4, 4)).hasMessage("index 4 of 4: expected 0 <= index < of and of >= 1");
    }
}
