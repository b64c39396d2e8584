package dev.saeforge.cli;

/** The values of -o/--output that print documents. */
public enum OutputFormat {
    yaml, json
}
