package dev.saeforge.api;

import org.junit.jupiter.api.Test;

import java.util.BitSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CacheStatusTest {
    static CacheStatus of(int indexes, String succeeded, String failed) {
        CacheStatus status = new CacheStatus();
        status.indexes = indexes;
        status.succeeded = succeeded;
        status.failed = failed;
        return status;
    }

    @Test
    void indexRangesReadAsTheJobControllerWritesThem() {
        assertThat(CacheStatus.count("0-3,5")).isEqualTo(5);
        assertThat(CacheStatus.count("7")).isEqualTo(1);
        assertThat(CacheStatus.count(null)).isZero();
        assertThat(CacheStatus.count("")).isZero();
        assertThat(CacheStatus.parse("1,3-4").stream().toArray()).containsExactly(1, 3, 4);
    }

    @Test
    void formattingIsTheInverseOfParsing() {
        for (String ranges : new String[]{"0-3,5", "0", "2-3,6,8-9"}) {
            assertThat(CacheStatus.format(CacheStatus.parse(ranges))).isEqualTo(ranges);
        }
        assertThat(CacheStatus.format(new BitSet())).isNull();
    }

    @Test
    void progressCountsSucceededIndexesAndTheRestAreUnfinished() {
        CacheStatus status = of(8, "0-2,5", "4");

        assertThat(status.progress()).isEqualTo("4/8");
        assertThat(status.unfinished()).isEqualTo("3,6-7");
        assertThat(of(4, "0-3", null).unfinished()).isNull();
        assertThat(of(4, null, null).unfinished()).isEqualTo("0-3");
    }

    @Test
    void aRangeThatIsNoneIsRefusedByName() {
        assertThatThrownBy(() -> CacheStatus.count("0-x")).hasMessage("index ranges \"0-x\": \"0-x\" is not an index or a range FIRST-LAST");
    }
}
