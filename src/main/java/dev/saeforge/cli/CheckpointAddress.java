package dev.saeforge.cli;

import dev.saeforge.store.CheckpointRef;

import java.util.Arrays;

/**
 * A run, one checkpoint of it, or one SAE of a checkpoint, as named on the command line:
 * {@code RUN}, {@code RUN/NAME} or {@code RUN/NAME/SAE} in the store given by --store, or a full
 * URI whose last segments are those: {@code s3://BUCKET/PREFIX/RUN[/NAME[/SAE]]},
 * {@code file:///PATH/RUN[/NAME[/SAE]]}. {@code name} and {@code sae} are null when not given.
 * <p>
 * A URI does not say where its store ends, so the checkpoint names the trainer gives settle it:
 * a last segment that is one ({@code 409600}, {@code final_409600}) is NAME, one just after one
 * is SAE, and otherwise the last segment is the least the command takes (RUN, or NAME). An SAE
 * whose name is all digits is addressed with --store and RUN/NAME/SAE.
 */
record CheckpointAddress(String store, String run, String name, String sae) {

    /** RUN, RUN/NAME or RUN/NAME/SAE, for commands that take any of them (list). */
    static CheckpointAddress ofRun(String argument, String defaultStore) {
        return parse(argument, defaultStore, 1);
    }

    /** RUN/NAME or RUN/NAME/SAE, for commands about one checkpoint or one SAE (inspect, pull). */
    static CheckpointAddress ofCheckpoint(String argument, String defaultStore) {
        return parse(argument, defaultStore, 2);
    }

    /** {@code fewest}: how many of RUN, NAME, SAE the command needs at least (1 or 2). */
    private static CheckpointAddress parse(String argument, String defaultStore, int fewest) {
        String bare = fewest == 1 ? "RUN, RUN/NAME or RUN/NAME/SAE" : "RUN/NAME or RUN/NAME/SAE";
        String tail = fewest == 1 ? "RUN[/NAME[/SAE]]" : "RUN/NAME[/SAE]";
        String form = bare + " (in the --store location) or a URI such as s3://BUCKET/PREFIX/" + tail + " or file:///PATH/" + tail;
        String trimmed = argument.replaceAll("/+$", "");
        int scheme = trimmed.indexOf("://");
        String[] segments;
        String store;
        if (scheme >= 0) {
            String[] parts = trimmed.substring(scheme + 3).split("/");
            int wanted = segmentsOfUri(parts, fewest);
            // s3:// keeps the bucket in the store; file:// needs at least a directory.
            if (parts.length < wanted + 1) {
                throw new IllegalArgumentException("\"" + argument + "\" is too short; expected " + form);
            }
            int cut = trimmed.length();
            for (int i = 0; i < wanted; i++) {
                cut = trimmed.lastIndexOf('/', cut - 1);
            }
            store = trimmed.substring(0, cut);
            segments = trimmed.substring(cut + 1).split("/");
        } else {
            segments = trimmed.split("/", -1);
            store = defaultStore;
            if (segments.length < fewest || segments.length > 3 || Arrays.asList(segments).contains("")) {
                throw new IllegalArgumentException("\"" + argument + "\" is not " + bare + "; expected " + form);
            }
        }
        return new CheckpointAddress(store, segments[0], segments.length > 1 ? segments[1] : null, segments.length > 2 ? segments[2] : null);
    }

    /** How many of a URI's last segments are RUN, NAME and SAE (see the class comment). */
    private static int segmentsOfUri(String[] parts, int fewest) {
        int last = parts.length - 1;
        if (CheckpointRef.isTokensName(parts[last])) {
            return 2;
        }
        if (last > 0 && CheckpointRef.isTokensName(parts[last - 1])) {
            return 3;
        }
        return fewest;
    }
}
