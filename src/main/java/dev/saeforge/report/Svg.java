package dev.saeforge.report;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The report page's charts as inline SVG text: a line chart with axes and a bar chart of a
 * histogram. Drawn in Java so the page needs no script to show them and the same report always
 * gives the same bytes. Styling (colours, fonts) lives in the page's CSS through class names.
 */
final class Svg {
    /** A point drawn as a marker (an evaluation result), its tooltip saying what it is. */
    record Marker(double x, double y, String label) {
    }

    /** A vertical rule across the plot (an evaluation's token count, the dense threshold). */
    record Rule(double x, String label) {
    }

    /** Above this many points a curve is thinned to each bucket's extremes: spikes stay visible, the page stays small. */
    static final int MAX_CURVE_POINTS = 600;

    private Svg() {
    }

    /** A line chart of ys over xs (non-finite values break the line; ys may be shorter), with markers and vertical rules. */
    static String lineChart(String label, List<Long> xs, List<Double> ys, List<Marker> markers, List<Rule> rules) {
        List<double[]> points = thin(xs, ys);
        Extent x = new Extent();
        Extent y = new Extent();
        // All of xs spans the x axis, even where ys is missing, so an evaluation-only chart lines up with the curves beside it.
        xs.forEach(v -> x.add(v == null ? Double.NaN : v));
        points.forEach(p -> y.add(p[1]));
        markers.forEach(m -> {
            x.add(m.x());
            y.add(m.y());
        });
        Plot plot = new Plot(340, 190, 52, 12, 10, 36, Scale.nice(x), Scale.nice(y));
        StringBuilder svg = plot.open(label);
        plot.axes(svg, "tokens", true);
        plot.rules(svg, rules);
        svg.append("<path class=\"line\" d=\"").append(plot.path(points)).append("\"/>");
        plot.dots(svg, points);
        markers.forEach(m -> svg.append("<circle class=\"marker\" cx=\"").append(num(plot.px(m.x()))).append("\" cy=\"").append(num(plot.py(m.y())))
                .append("\" r=\"3.5\"><title>").append(ReportPage.escape(m.label())).append("</title></circle>"));
        return svg.append("</svg>").toString();
    }

    /** A histogram as bars with both axes; {@code rules} mark thresholds on the x axis. */
    static String histogram(String label, String xLabel, Report.Histogram histogram, List<Rule> rules) {
        Plot plot = histogramPlot(histogram, 520, 210, 52, 36);
        StringBuilder svg = plot.open(label);
        plot.axes(svg, xLabel, false);
        plot.bars(svg, histogram);
        plot.rules(svg, rules);
        return svg.append("</svg>").toString();
    }

    /** A small histogram for a latent card: bars and the first and last edge, no y axis. */
    static String smallHistogram(String label, Report.Histogram histogram) {
        Plot plot = histogramPlot(histogram, 240, 64, 4, 16);
        StringBuilder svg = plot.open(label);
        plot.bars(svg, histogram);
        List<Double> edges = histogram.edges();
        plot.text(svg, 4, 62, "start", format(edges.get(0)));
        plot.text(svg, 236, 62, "end", format(edges.get(edges.size() - 1)));
        return svg.append("</svg>").toString();
    }

    /** Whether a histogram can be drawn: one more finite, increasing edge than counts. */
    static boolean drawable(Report.Histogram histogram) {
        if (histogram == null || histogram.edges() == null || histogram.counts() == null || histogram.counts().isEmpty()
                || histogram.edges().size() != histogram.counts().size() + 1) {
            return false;
        }
        List<Double> edges = histogram.edges();
        for (int i = 0; i < edges.size(); i++) {
            if (edges.get(i) == null || !Double.isFinite(edges.get(i)) || (i > 0 && edges.get(i) <= edges.get(i - 1))) {
                return false;
            }
        }
        return histogram.counts().stream().allMatch(c -> c != null && c >= 0);
    }

    private static Plot histogramPlot(Report.Histogram histogram, int width, int height, int left, int bottom) {
        Extent x = new Extent();
        histogram.edges().forEach(x::add);
        Extent y = new Extent();
        y.add(0);
        histogram.counts().forEach(y::add);
        return new Plot(width, height, left, 12, 8, bottom, Scale.exact(x), Scale.nice(y));
    }

    /** The finite (x, y) points of a series, thinned to at most about {@link #MAX_CURVE_POINTS}; NaN y marks a gap. */
    private static List<double[]> thin(List<Long> xs, List<Double> ys) {
        int n = Math.min(xs.size(), ys.size());
        List<double[]> points = new ArrayList<>();
        int buckets = MAX_CURVE_POINTS / 2;
        if (n <= MAX_CURVE_POINTS) {
            for (int i = 0; i < n; i++) {
                points.add(point(xs.get(i), ys.get(i)));
            }
            return points;
        }
        for (int b = 0; b < buckets; b++) {
            int start = (int) ((long) n * b / buckets);
            int end = (int) ((long) n * (b + 1) / buckets);
            int low = -1;
            int high = -1;
            for (int i = start; i < end; i++) {
                double v = value(ys.get(i));
                if (!Double.isFinite(v)) {
                    continue;
                }
                if (low < 0 || v < value(ys.get(low))) {
                    low = i;
                }
                if (high < 0 || v > value(ys.get(high))) {
                    high = i;
                }
            }
            if (low < 0) {
                points.add(new double[]{xs.get(start), Double.NaN});
            } else {
                points.add(point(xs.get(Math.min(low, high)), ys.get(Math.min(low, high))));
                if (low != high) {
                    points.add(point(xs.get(Math.max(low, high)), ys.get(Math.max(low, high))));
                }
            }
        }
        return points;
    }

    private static double[] point(Long x, Double y) {
        return new double[]{x == null ? Double.NaN : x, value(y)};
    }

    private static double value(Double v) {
        return v == null ? Double.NaN : v;
    }

    /** The range of the finite values seen. */
    private static final class Extent {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;

        void add(double v) {
            if (Double.isFinite(v)) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
    }

    /** An axis' domain and tick step; ticks fall on multiples of the step. */
    private record Scale(double min, double max, double step) {
        /** A domain widened to round numbers around the extent, about five ticks. */
        static Scale nice(Extent extent) {
            double min = extent.min <= extent.max ? extent.min : 0;
            double max = extent.min <= extent.max ? extent.max : 1;
            if (max == min) {
                double pad = min == 0 ? 1 : Math.abs(min) * 0.1;
                min -= pad;
                max += pad;
            }
            double step = step(max - min);
            return new Scale(Math.floor(min / step) * step, Math.ceil(max / step) * step, step);
        }

        /** The extent itself (histogram edges), ticks at round numbers inside it. */
        static Scale exact(Extent extent) {
            return new Scale(extent.min, extent.max, step(extent.max - extent.min));
        }

        private static double step(double range) {
            double raw = range / 5;
            double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
            double residual = raw / magnitude;
            return (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude;
        }

        List<Double> ticks() {
            List<Double> ticks = new ArrayList<>();
            for (long i = (long) Math.ceil(min / step - 1e-9); i * step <= max + step * 1e-9; i++) {
                ticks.add(i * step);
            }
            return ticks;
        }

        double fraction(double v) {
            return (v - min) / (max - min);
        }
    }

    /** A plot area inside a width × height box with margins, mapping data to pixels. */
    private record Plot(int width, int height, int left, int right, int top, int bottom, Scale x, Scale y) {
        double px(double v) {
            return left + x.fraction(v) * (width - left - right);
        }

        double py(double v) {
            return height - bottom - y.fraction(v) * (height - top - bottom);
        }

        StringBuilder open(String label) {
            return new StringBuilder(4096).append("<svg class=\"chart\" viewBox=\"0 0 ").append(width).append(' ').append(height)
                    .append("\" width=\"").append(width).append("\" height=\"").append(height).append("\" role=\"img\" aria-label=\"")
                    .append(ReportPage.escape(label)).append("\"><title>").append(ReportPage.escape(label)).append("</title>");
        }

        /** Grid lines and labels at the y ticks, the x ticks (as token counts when {@code counts}), and the x axis' name. */
        void axes(StringBuilder svg, String xLabel, boolean counts) {
            double bottomY = height - bottom;
            svg.append("<g class=\"axis\">");
            for (double tick : y.ticks()) {
                double ty = py(tick);
                svg.append("<line class=\"grid\" x1=\"").append(left).append("\" x2=\"").append(width - right).append("\" y1=\"").append(num(ty))
                        .append("\" y2=\"").append(num(ty)).append("\"/>");
                text(svg, left - 4, ty + 3, "end", tickLabel(tick, y.step()));
            }
            for (double tick : x.ticks()) {
                double tx = px(tick);
                svg.append("<line x1=\"").append(num(tx)).append("\" x2=\"").append(num(tx)).append("\" y1=\"").append(num(bottomY))
                        .append("\" y2=\"").append(num(bottomY + 4)).append("\"/>");
                text(svg, tx, bottomY + 14, "middle", counts ? format(tick) : tickLabel(tick, x.step()));
            }
            svg.append("<line x1=\"").append(left).append("\" x2=\"").append(width - right).append("\" y1=\"").append(num(bottomY))
                    .append("\" y2=\"").append(num(bottomY)).append("\"/>");
            svg.append("<line x1=\"").append(left).append("\" x2=\"").append(left).append("\" y1=\"").append(top).append("\" y2=\"")
                    .append(num(bottomY)).append("\"/>");
            text(svg, left + (width - left - right) / 2.0, height - 4, "middle", xLabel);
            svg.append("</g>");
        }

        void rules(StringBuilder svg, List<Rule> rules) {
            for (Rule rule : rules) {
                if (!Double.isFinite(rule.x()) || rule.x() < x.min() || rule.x() > x.max()) {
                    continue;
                }
                double rx = px(rule.x());
                svg.append("<line class=\"rule\" x1=\"").append(num(rx)).append("\" x2=\"").append(num(rx)).append("\" y1=\"").append(top)
                        .append("\" y2=\"").append(height - bottom).append("\"><title>").append(ReportPage.escape(rule.label()))
                        .append("</title></line>");
            }
        }

        void bars(StringBuilder svg, Report.Histogram histogram) {
            List<Double> edges = histogram.edges();
            double base = py(0);
            svg.append("<g class=\"bars\">");
            for (int i = 0; i < histogram.counts().size(); i++) {
                long count = histogram.counts().get(i);
                double x0 = px(edges.get(i));
                double x1 = px(edges.get(i + 1));
                double barTop = py(count);
                svg.append("<rect x=\"").append(num(x0)).append("\" y=\"").append(num(barTop)).append("\" width=\"")
                        .append(num(Math.max(0.5, x1 - x0 - 0.5))).append("\" height=\"").append(num(base - barTop)).append("\"><title>")
                        .append(format(edges.get(i))).append(" to ").append(format(edges.get(i + 1))).append(": ").append(count)
                        .append("</title></rect>");
            }
            svg.append("</g>");
        }

        /** The points as one path; a NaN point ends a stretch, the next finite one starts another. */
        String path(List<double[]> points) {
            StringBuilder d = new StringBuilder(points.size() * 14);
            boolean pen = false;
            for (double[] p : points) {
                if (!finite(p)) {
                    pen = false;
                    continue;
                }
                d.append(pen ? 'L' : 'M').append(num(px(p[0]))).append(',').append(num(py(p[1])));
                pen = true;
            }
            return d.toString();
        }

        /** A dot for each point with no finite neighbour: a line through one point draws nothing (a run that logged once). */
        void dots(StringBuilder svg, List<double[]> points) {
            for (int i = 0; i < points.size(); i++) {
                if (finite(points.get(i)) && (i == 0 || !finite(points.get(i - 1))) && (i == points.size() - 1 || !finite(points.get(i + 1)))) {
                    svg.append("<circle class=\"dot\" cx=\"").append(num(px(points.get(i)[0]))).append("\" cy=\"").append(num(py(points.get(i)[1])))
                            .append("\" r=\"2\"/>");
                }
            }
        }

        void text(StringBuilder svg, double tx, double ty, String anchor, String text) {
            svg.append("<text x=\"").append(num(tx)).append("\" y=\"").append(num(ty)).append("\" text-anchor=\"").append(anchor).append("\">")
                    .append(ReportPage.escape(text)).append("</text>");
        }
    }

    private static boolean finite(double[] point) {
        return Double.isFinite(point[0]) && Double.isFinite(point[1]);
    }

    /** A coordinate in pixels: one decimal is finer than a screen shows. */
    private static String num(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    /** A tick value with as many decimals as its step needs (0.25 steps show 0.25, not 0.3). */
    private static String tickLabel(double v, double step) {
        if (Math.abs(v) < step / 2) {
            return "0";
        }
        if (Math.abs(v) >= 1e4 || step < 1e-3) {
            return format(v);
        }
        int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** A number for people: three significant digits, SI suffixes for large ones (1.2M tokens), exponents for tiny ones. */
    static String format(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "∞" : "-∞";
        }
        if (v == 0) {
            return "0";
        }
        double magnitude = Math.abs(v);
        if (magnitude >= 1e3) {
            String[] suffixes = {"k", "M", "B", "T"};
            int group = Math.min(suffixes.length, (int) Math.floor(Math.log10(magnitude) / 3));
            return significant(v / Math.pow(1000, group)) + suffixes[group - 1];
        }
        if (magnitude < 1e-3) {
            BigDecimal rounded = new BigDecimal(v).round(new MathContext(3));
            return String.format(Locale.ROOT, "%.2e", rounded.doubleValue()).replaceFirst("\\.?0+e", "e").replaceFirst("e-0*", "e-");
        }
        return significant(v);
    }

    private static String significant(double v) {
        return new BigDecimal(v).round(new MathContext(3)).stripTrailingZeros().toPlainString();
    }
}
