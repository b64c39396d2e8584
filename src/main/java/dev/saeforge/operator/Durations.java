package dev.saeforge.operator;

import java.time.Duration;

/** Durations the way kubectl prints ages: precise when short, coarse when long (90s, 5m10s, 3h12m, 4d). */
public final class Durations {
    private Durations() {
    }

    public static String human(Duration duration) {
        long seconds = duration.getSeconds();
        if (seconds < -1) {
            return "<invalid>";
        }
        if (seconds < 0) {
            return "0s"; // a clock a second ahead of the server's
        }
        if (seconds < 120) {
            return seconds + "s";
        }
        long minutes = seconds / 60;
        if (minutes < 10) {
            return minutes + "m" + (seconds % 60 == 0 ? "" : seconds % 60 + "s");
        }
        if (minutes < 180) {
            return minutes + "m";
        }
        long hours = minutes / 60;
        if (hours < 8) {
            return hours + "h" + (minutes % 60 == 0 ? "" : minutes % 60 + "m");
        }
        if (hours < 48) {
            return hours + "h";
        }
        long days = hours / 24;
        if (hours < 24 * 8) {
            return days + "d" + (hours % 24 == 0 ? "" : hours % 24 + "h");
        }
        if (days < 365 * 2) {
            return days + "d";
        }
        long years = days / 365;
        if (years < 8) {
            return years + "y" + (days % 365 == 0 ? "" : days % 365 + "d");
        }
        return years + "y";
    }
}
