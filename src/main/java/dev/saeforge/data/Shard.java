package dev.saeforge.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * One file of a dataset: its name, which identifies it across runs and machines (a path, an
 * s3:// or hf:// address) and appears in messages, and how to get it onto local disk (a download
 * into the cache for remote files, done when the file is first read).
 */
record Shard(String name, Fetch fetch) {

    /** Brings the file to local disk, if it is not there already, and says where. */
    interface Fetch {
        Path local() throws IOException;
    }

    Path local() throws IOException {
        return fetch.local();
    }

    /** The last part of the name, which carries the format's suffix. */
    String fileName() {
        return name.substring(name.lastIndexOf('/') + 1);
    }
}
