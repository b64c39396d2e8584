package dev.saeforge.data;

import dev.saeforge.train.MemoryEstimate;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RefillsAliveTest {
    @Test
    void theMemoryEstimateCountsTheRefillsTheActivationsKeepAlive() {
        assertThat(MemoryEstimate.REFILLS_ALIVE).isEqualTo(ActivationProducer.REFILLS_ALIVE);
    }
}
