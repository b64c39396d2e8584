package dev.saeforge.lm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/** A model directory somewhere else (the hub, a bucket), copied to the local cache file by file. */
interface RemoteFiles {
    /** The location for messages, e.g. hf://Qwen/Qwen3-0.6B@COMMIT or s3://bucket/prefix. */
    String location();

    /** The file names the directory holds (relative to it). */
    Set<String> names() throws IOException;

    /** Puts the complete file {@code name} at {@code target}; does nothing if the copy there is current. */
    void fetch(String name, Path target) throws IOException;
}
