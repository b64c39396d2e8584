package dev.saeforge.cli;

/** The one value of -o/--output for commands that print their figures as JSON only (the benches). */
public enum JsonOutput {
    json
}
