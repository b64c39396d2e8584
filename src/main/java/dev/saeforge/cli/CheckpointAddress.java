package dev.saeforge.cli;

/**
 * A run, or one checkpoint of it, as named on the command line: {@code RUN} or {@code RUN/NAME}
 * in the store given by --store, or a full URI whose last segments are the run (and name):
 * {@code s3://BUCKET/PREFIX/RUN[/NAME]}, {@code file:///PATH/RUN[/NAME]}.
 */
record CheckpointAddress(String store, String run, String name) {

    static CheckpointAddress ofRun(String argument, String defaultStore) {
        return parse(argument, defaultStore, false);
    }

    static CheckpointAddress ofCheckpoint(String argument, String defaultStore) {
        return parse(argument, defaultStore, true);
    }

    private static CheckpointAddress parse(String argument, String defaultStore, boolean named) {
        String form = named
                ? "RUN/NAME (in the --store location) or a URI such as s3://BUCKET/PREFIX/RUN/NAME or file:///PATH/RUN/NAME"
                : "RUN (in the --store location) or a URI such as s3://BUCKET/PREFIX/RUN or file:///PATH/RUN";
        String trimmed = argument.replaceAll("/+$", "");
        int scheme = trimmed.indexOf("://");
        String[] segments;
        String store;
        if (scheme >= 0) {
            String afterScheme = trimmed.substring(scheme + 3);
            int wanted = named ? 2 : 1;
            String[] parts = afterScheme.split("/");
            // s3:// keeps the bucket in the store; file:// needs at least a directory.
            int minimum = wanted + 1;
            if (parts.length < minimum) {
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
            if (segments.length != (named ? 2 : 1) || trimmed.isEmpty()) {
                throw new IllegalArgumentException("\"" + argument + "\" is not " + (named ? "RUN/NAME" : "a run name") + "; expected " + form);
            }
        }
        return new CheckpointAddress(store, segments[0], named ? segments[1] : null);
    }
}
