package dev.saeforge.api;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as a spec or an environment variable writes them: 90s, 10m, 1h30m, 500ms. */
public final class DurationText {
    /** The form, for the CRD's validation and the parser alike. */
    public static final String PATTERN = "^([0-9]{1,9}(ms|s|m|h))+$";
    public static final String FORM = "a number with h, m, s or ms, e.g. 90s, 10m or 1h30m";
    private static final Pattern PART = Pattern.compile("([0-9]{1,9})(ms|s|m|h)");

    private DurationText() {
    }

    /** {@code text} as a Duration; IllegalArgumentException naming {@code what} when it is not one. */
    public static Duration parse(String what, String text) {
        if (text == null || !text.matches(PATTERN)) {
            throw new IllegalArgumentException(what + " is \"" + text + "\"; expected a duration: " + FORM);
        }
        Duration total = Duration.ZERO;
        Matcher m = PART.matcher(text);
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            total = total.plus(switch (m.group(2)) {
                case "h" -> Duration.ofHours(n);
                case "m" -> Duration.ofMinutes(n);
                case "s" -> Duration.ofSeconds(n);
                default -> Duration.ofMillis(n);
            });
        }
        return total;
    }

    /** The shortest text {@link #parse} reads back as {@code duration}, to whole milliseconds: 10m, 1h30m, 2500ms. */
    public static String format(Duration duration) {
        long ms = duration.toMillis();
        if (ms % 1000 != 0) {
            return ms + "ms";
        }
        long s = ms / 1000;
        String text = (s >= 3600 ? s / 3600 + "h" : "") + (s % 3600 >= 60 ? s % 3600 / 60 + "m" : "") + (s % 60 > 0 ? s % 60 + "s" : "");
        return text.isEmpty() ? "0s" : text;
    }
}
