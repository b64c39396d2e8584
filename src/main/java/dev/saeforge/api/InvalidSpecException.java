package dev.saeforge.api;

import java.util.List;
import java.util.stream.Collectors;

/** A spec that cannot run, with every problem found in it, not just the first. */
public final class InvalidSpecException extends Exception {
    private final String source;
    private final List<Problem> problems;

    public InvalidSpecException(String source, List<Problem> problems) {
        super(source + ": " + problems.size() + " problem" + (problems.size() == 1 ? "" : "s") + "\n"
                + problems.stream().map(p -> "  " + p).collect(Collectors.joining("\n")));
        this.source = source;
        this.problems = List.copyOf(problems);
    }

    public String source() {
        return source;
    }

    public List<Problem> problems() {
        return problems;
    }
}
