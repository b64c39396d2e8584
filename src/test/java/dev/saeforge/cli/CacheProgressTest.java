package dev.saeforge.cli;

import dev.saeforge.cache.CacheWriter;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** A cache build's progress line: tokens of the part, GB written, the pace of the rows this process computed, and the time left at it. */
class CacheProgressTest {
    @Test
    void theLineShowsTokensGigabytesPaceAndEta() {
        CacheWriter.Part part = new CacheWriter.Part(1, 4, 100, 40_000, 10_000);
        // 10,000 rows were kept from an earlier writer; this one computed 6,000 in 3 s: 2,000 tokens/s, 24,000 left → 12 s.
        assertThat(CacheProgress.line(new CacheWriter.Progress(part, 16_000, 6_000, 1_500_000_000L, 3_000_000_000L)))
                .isEqualTo("index 1 of 4: 16,000 / 40,000 tokens (40%), 1.500 GB written, 2,000 tokens/s, ETA " + Units.duration(12));
        assertThat(CacheProgress.line(new CacheWriter.Progress(new CacheWriter.Part(-1, 4, 1, 64, 0), 0, 0, 0, 0)))
                .isEqualTo("held-out rows: 0 / 64 tokens (0%), 0.000 GB written, 0 tokens/s, ETA -");
    }
}
