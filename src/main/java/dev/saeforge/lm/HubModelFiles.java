package dev.saeforge.lm;

import dev.saeforge.store.HfHub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/** A model repository on the Hugging Face hub at one commit: its files never change, so a complete local copy is current. */
final class HubModelFiles implements RemoteFiles {
    private final HfHub hub;
    private final HfHub.Snapshot snapshot;

    HubModelFiles(HfHub hub, HfHub.Snapshot snapshot) {
        this.hub = hub;
        this.snapshot = snapshot;
    }

    @Override
    public String location() {
        return snapshot.uri();
    }

    @Override
    public Set<String> names() {
        return snapshot.sizes().keySet();
    }

    @Override
    public void fetch(String name, Path target) throws IOException {
        long size = snapshot.sizes().getOrDefault(name, -1L);
        if (Files.isRegularFile(target) && (size < 0 || Files.size(target) == size)) {
            return;
        }
        hub.download(snapshot, name, target);
    }
}
