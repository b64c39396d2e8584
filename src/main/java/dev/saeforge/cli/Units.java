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

    /** "25s", "2m", "1h30m" or plain seconds, for options that take a duration. */
    static final class DurationConverter implements picocli.CommandLine.ITypeConverter<java.time.Duration> {
        private static final java.util.regex.Pattern PART = java.util.regex.Pattern.compile("(\\d+)(h|m|s|ms)");

        @Override
        public java.time.Duration convert(String value) {
            if (value.matches("\\d+")) {
                return java.time.Duration.ofSeconds(Long.parseLong(value));
            }
            java.util.regex.Matcher m = PART.matcher(value);
            java.time.Duration total = java.time.Duration.ZERO;
            int end = 0;
            while (m.find() && m.start() == end) {
                long n = Long.parseLong(m.group(1));
                total = total.plus(switch (m.group(2)) {
                    case "h" -> java.time.Duration.ofHours(n);
                    case "m" -> java.time.Duration.ofMinutes(n);
                    case "s" -> java.time.Duration.ofSeconds(n);
                    default -> java.time.Duration.ofMillis(n);
                });
                end = m.end();
            }
            if (end == 0 || end != value.length()) {
                throw new picocli.CommandLine.TypeConversionException("\"" + value + "\" is not a duration; expected e.g. 25s, 2m, 1h30m");
            }
            return total;
        }
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
