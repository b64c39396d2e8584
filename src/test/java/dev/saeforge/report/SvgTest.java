package dev.saeforge.report;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The page's charts: what a reader needs to see survives thinning, gaps and lone points, and numbers read like numbers. */
class SvgTest {

    @Test
    void numbersReadAsPeopleWriteThem() {
        assertThat(Svg.format(12_288_000)).isEqualTo("12.3M");
        assertThat(Svg.format(1234)).isEqualTo("1.23k");
        assertThat(Svg.format(0.5)).isEqualTo("0.5");
        assertThat(Svg.format(0.000312)).isEqualTo("3.12e-4");
        assertThat(Svg.format(-0.0003)).isEqualTo("-3e-4");
        assertThat(Svg.format(0)).isEqualTo("0");
    }

    @Test
    void aLongCurveIsThinnedButKeepsItsSpike() {
        List<Long> tokens = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            tokens.add(i * 4096L);
            values.add(i == 54_321 ? 100.0 : 1.0);
        }

        String chart = Svg.lineChart("loss", tokens, values, List.of(), List.of());

        assertThat(chart.chars().filter(c -> c == 'L').count()).isLessThanOrEqualTo(Svg.MAX_CURVE_POINTS);
        assertThat(chart).as("the y axis reaches the spike").contains(">100</text>");
    }

    @Test
    void aMissingValueBreaksTheLineAndALonePointIsADot() {
        String gap = Svg.lineChart("l0", List.of(1L, 2L, 3L, 4L, 5L), List.of(1.0, 2.0, Double.NaN, 3.0, 4.0), List.of(), List.of());
        String lone = Svg.lineChart("l0", List.of(10L), List.of(7.0), List.of(), List.of());

        String path = gap.substring(gap.indexOf(" d=\"") + 4, gap.indexOf('"', gap.indexOf(" d=\"") + 4));
        assertThat(path.chars().filter(c -> c == 'M').count()).isEqualTo(2);
        assertThat(gap).doesNotContain("class=\"dot\"");
        assertThat(lone).contains("class=\"dot\"");
    }
}
