package dev.saeforge.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The upload client's integrity against {@link HubServer}: what reaches the hub is what was hashed, or nothing is committed. */
class HubUploadTest {
    static final String REPO = "sae-org/uploads";
    static final String TOKEN = "hf_writer";

    @TempDir
    Path repo;
    @TempDir
    Path local;

    @Test
    void aFileThatChangedAfterItsSha256WasTakenIsRefusedByTheHubAndNothingIsCommitted() throws Exception {
        Path weights = Files.write(local.resolve("sae_weights.safetensors"), new byte[]{1, 2, 3, 4, 5, 6, 7, 8});
        HubUpload.LocalFile hashed = HubUpload.LocalFile.of("layer_1/sae_weights.safetensors", weights);
        Files.write(weights, new byte[]{1, 2, 3, 4, 9, 6, 7, 8});
        try (HubServer hub = new HubServer(REPO, repo, TOKEN)) {
            HubUpload upload = new HubUpload(new HfHub(hub.endpoint(), TOKEN), line -> {
            });

            assertThatThrownBy(() -> upload.upload(REPO, "main", List.of(hashed), "upload", false))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("upload of layer_1/sae_weights.safetensors")
                    .hasMessageContaining("HTTP 400");
            assertThat(hub.commitOf("main")).isEqualTo(HubServer.COMMIT);
            assertThat(hub.requests()).noneMatch(r -> r.path().contains("/commit/"));
        }
    }

    @Test
    void smallFilesGoInlineLargeOnesThroughLfsAndTheCommitHoldsBoth() throws Exception {
        Path cfg = Files.writeString(local.resolve("cfg.json"), "{\"d_sae\": 16}");
        Path weights = Files.write(local.resolve("sae_weights.safetensors"), new byte[4096]);
        try (HubServer hub = new HubServer(REPO, repo, TOKEN)) {
            HubUpload.Commit commit = new HubUpload(new HfHub(hub.endpoint(), TOKEN), line -> {
            }).upload(REPO, "main", List.of(HubUpload.LocalFile.of("a/cfg.json", cfg), HubUpload.LocalFile.of("a/sae_weights.safetensors", weights)),
                    "two files", false);

            assertThat(commit.oid()).isEqualTo(hub.commitOf("main")).isNotEqualTo(HubServer.COMMIT);
            assertThat(commit.url()).isEqualTo(hub.endpoint() + "/" + REPO + "/commit/" + commit.oid());
            assertThat(hub.filesOf(commit.oid())).containsOnlyKeys("a/cfg.json", "a/sae_weights.safetensors");
            assertThat(hub.requests()).filteredOn(r -> r.method().equals("PUT")).hasSize(1);
        }
    }
}
