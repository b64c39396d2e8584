package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.lm.InvalidModelException;

import java.io.PrintWriter;
import java.io.UncheckedIOException;

/**
 * The last word on a failure no command turned into a message itself: one line that says what
 * failed, never a stack trace or a Java class name, and the exit code of its kind (refused input
 * 2, anything else 1).
 */
final class FailureMessages {
    /** "java.io.IOException: " and the like, which a wrapping exception puts before its cause's message. */
    private static final java.util.regex.Pattern CLASS_PREFIX =
            java.util.regex.Pattern.compile("^((?:[a-z][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error): )+");

    private FailureMessages() {
    }

    static int report(PrintWriter err, Throwable failure) {
        Throwable e = failure instanceof picocli.CommandLine.ExecutionException && failure.getCause() != null ? failure.getCause() : failure;
        boolean refused = e instanceof IllegalArgumentException || e instanceof InvalidModelException;
        err.println("error: " + describe(e));
        err.flush();
        return refused ? ExitCodes.INVALID_INPUT : ExitCodes.FAILURE;
    }

    /**
     * The exit code of a long command ({@code what}: "training") that failed: {@link ExitCodes#RESUME}
     * for a transient failure, after saying that a new attempt resumes from {@code resumesFrom};
     * {@link ExitCodes#FAILURE} otherwise.
     */
    static int failed(PrintWriter err, String what, String resumesFrom, Exception e) {
        if (dev.saeforge.store.Failures.isTransient(e)) {
            err.println("saeforge: " + what + " stopped by a transient failure; exiting with " + ExitCodes.RESUME
                    + " so that a new attempt resumes from " + resumesFrom + ": " + describe(e));
            return ExitCodes.RESUME;
        }
        err.println("saeforge: " + what + " failed: " + describe(e));
        return ExitCodes.FAILURE;
    }

    static String describe(Throwable e) {
        if (e instanceof UncheckedIOException && e.getCause() != null) {
            e = e.getCause();
        }
        if (e instanceof OutOfMemoryError) {
            return String.format("ran out of memory (%s; the Java heap is limited to %,d MiB): the input asks for more than this"
                    + " machine holds", e.getMessage(), Runtime.getRuntime().maxMemory() >> 20);
        }
        String message = e.getMessage() == null ? null : CLASS_PREFIX.matcher(e.getMessage()).replaceFirst("");
        if (message == null || message.isBlank()) {
            StackTraceElement[] trace = e.getStackTrace();
            return "an internal error" + (trace.length == 0 ? "" : " at " + trace[0].getClassName().replaceAll(".*\\.", "") + "."
                    + trace[0].getMethodName() + " line " + trace[0].getLineNumber()) + "; please report it";
        }
        return message.lines().findFirst().orElse(message);
    }
}
