package dev.saeforge.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * One file of a dataset: its name, which identifies it across runs and machines (a path, an
 * s3:// or hf:// address) and appears in messages, its size and version as listed (-1 and null
 * where unknown), and how to get it onto local disk (a download into the cache for remote files,
 * done when the file is first read).
 */
record Shard(String name, long bytes, String version, Fetch fetch) {

    Shard(String name, Fetch fetch) {
        this(name, -1, null, fetch);
    }

    /** Brings the file to local disk, if it is not there already, and says where. */
    interface Fetch {
        Path local() throws IOException;
    }

    Path local() throws IOException {
        return fetch.local();
    }

    /** The file as a checkpoint records it. */
    InputFiles.File file() {
        return new InputFiles.File(name, bytes, version);
    }

    /** The last part of the name, which carries the format's suffix. */
    String fileName() {
        return name.substring(name.lastIndexOf('/') + 1);
    }
}
