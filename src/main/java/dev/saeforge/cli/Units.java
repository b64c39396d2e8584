package dev.saeforge.cli;

/** Numbers as people read them in a terminal: 1.23M, 3h12m. */
final class Units {
    private Units() {
    }

    static String count(long n) {
        if (n < 1_000) {
            return Long.toString(n);
        }
        if (n < 1_000_000) {
            return String.format("%.1fk", n / 1e3);
        }
        if (n < 1_000_000_000) {
            return String.format("%.2fM", n / 1e6);
        }
        return String.format("%.2fB", n / 1e9);
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format("%dm%02ds", s / 60, s % 60);
        }
        return String.format("%dh%02dm", s / 3600, s % 3600 / 60);
    }
}
