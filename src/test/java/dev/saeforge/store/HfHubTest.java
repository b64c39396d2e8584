package dev.saeforge.store;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The hub client against {@link HubServer}, a local server speaking the hub's endpoints. */
class HfHubTest {
    static final String REPO = "tiny-org/tiny-model";

    @TempDir
    Path repoFiles;
    @TempDir
    Path cache;
    byte[] weights;

    @BeforeEach
    void files() throws IOException {
        weights = new byte[300_000];
        new Random(1).nextBytes(weights);
        Files.write(repoFiles.resolve("model.safetensors"), weights);
        Files.writeString(repoFiles.resolve("config.json"), "{}");
    }

    @Test
    void aRevisionResolvesToItsCommitAndFiles() throws IOException {
        try (HubServer server = new HubServer(REPO, repoFiles, null)) {
            HfHub.Snapshot snapshot = new HfHub(server.endpoint(), null).snapshot(HfHub.RepoType.MODEL, REPO, "main");

            assertThat(snapshot.commit()).isEqualTo(HubServer.COMMIT);
            assertThat(snapshot.sizes()).containsEntry("model.safetensors", 300_000L).containsEntry("config.json", 2L);
            assertThat(snapshot.uri()).isEqualTo("hf://tiny-org/tiny-model@" + HubServer.COMMIT);
        }
    }

    @Test
    void aDroppedConnectionIsResumedFromTheBytesAlreadyThere() throws IOException {
        try (HubServer server = new HubServer(REPO, repoFiles, null)) {
            HfHub hub = new HfHub(server.endpoint(), null);
            HfHub.Snapshot snapshot = hub.snapshot(HfHub.RepoType.MODEL, REPO, "main");
            server.cutShortOnce("model.safetensors", 120_000);
            Path target = cache.resolve("model.safetensors");

            hub.download(snapshot, "model.safetensors", target);

            assertThat(Files.readAllBytes(target)).isEqualTo(weights);
            // How many of the 120,000 bytes sent reach the file before the drop depends on socket buffering;
            // the resumed request must ask for exactly the rest after them, and must not start over.
            java.util.List<String> ranges = server.requests().stream().filter(r -> r.path().startsWith("/cdn/"))
                    .map(HubServer.Request::range).toList();
            assertThat(ranges).hasSize(2);
            assertThat(ranges.get(0)).isNull();
            assertThat(ranges.get(1)).matches("bytes=\\d+-");
            assertThat(Long.parseLong(ranges.get(1).replaceAll("\\D", ""))).isBetween(1L, 120_000L);
            assertThat(cache.resolve("model.safetensors.part")).doesNotExist();
        }
    }

    @Test
    void aPartialFileLeftByAnEarlierProcessIsResumed() throws IOException {
        try (HubServer server = new HubServer(REPO, repoFiles, null)) {
            HfHub hub = new HfHub(server.endpoint(), null);
            Files.write(cache.resolve("model.safetensors.part"), Arrays.copyOf(weights, 250_000));

            hub.download(hub.snapshot(HfHub.RepoType.MODEL, REPO, "main"), "model.safetensors", cache.resolve("model.safetensors"));

            assertThat(Files.readAllBytes(cache.resolve("model.safetensors"))).isEqualTo(weights);
            assertThat(server.requests()).filteredOn(r -> r.path().startsWith("/cdn/"))
                    .extracting(HubServer.Request::range).containsExactly("bytes=250000-");
        }
    }

    @Test
    void theTokenGoesToTheHubButNotToTheRedirectTarget() throws IOException {
        try (HubServer server = new HubServer(REPO, repoFiles, "hf_secret")) {
            HfHub hub = new HfHub(server.endpoint(), "hf_secret");

            hub.download(hub.snapshot(HfHub.RepoType.MODEL, REPO, "main"), "config.json", cache.resolve("config.json"));

            assertThat(Files.readString(cache.resolve("config.json"))).isEqualTo("{}");
            assertThat(server.requests()).extracting(HubServer.Request::path, HubServer.Request::authorization).containsExactly(
                    org.assertj.core.groups.Tuple.tuple("/api/models/" + REPO + "/revision/main", "Bearer hf_secret"),
                    org.assertj.core.groups.Tuple.tuple("/" + REPO + "/resolve/" + HubServer.COMMIT + "/config.json", "Bearer hf_secret"),
                    org.assertj.core.groups.Tuple.tuple("/cdn/" + HubServer.COMMIT + "/config.json", null));
        }
    }

    @Test
    void aPrivateRepositoryWithoutATokenSaysToSetHfToken() throws IOException {
        try (HubServer server = new HubServer(REPO, repoFiles, "hf_secret")) {
            assertThatThrownBy(() -> new HfHub(server.endpoint(), null).snapshot(HfHub.RepoType.MODEL, REPO, "main"))
                    .isInstanceOf(IOException.class)
                    .hasMessage("hf://" + REPO + "@main: HTTP 401 from " + server.endpoint() + "/api/models/" + REPO
                            + "/revision/main?blobs=true: the repository is private or gated; set HF_TOKEN to a token with access");
        }
    }

    @Test
    void aCommitThatIsNoHashIsRefusedNamingTheRepository() throws IOException {
        try (HubServer server = new HubServer(REPO, repoFiles, null)) {
            // It would become the cache directory the files are written to: CACHE/models/hf/ORG/NAME/COMMIT.
            server.answerCommit("../../../../../.docker");
            assertThatThrownBy(() -> new HfHub(server.endpoint(), null).snapshot(HfHub.RepoType.MODEL, REPO, "main"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("the hub answered commit \"../../../../../.docker\" for hf://" + REPO + "; expected 40 hexadecimal digits");
        }
    }

    @Test
    void anUnknownRevisionIsNamed() throws IOException {
        try (HubServer server = new HubServer(REPO, repoFiles, null)) {
            assertThatThrownBy(() -> new HfHub(server.endpoint(), null).snapshot(HfHub.RepoType.MODEL, REPO, "v9"))
                    .hasMessageStartingWith("hf://" + REPO + "@v9: HTTP 404 from ")
                    .hasMessageEndingWith(": no such repository, revision or file");
        }
    }

    @Test
    void aMalformedRepositoryOrRevisionIsRefusedBeforeAnyRequestNamingIt() throws IOException {
        try (HubServer server = new HubServer(REPO, repoFiles, null)) {
            HfHub hub = new HfHub(server.endpoint(), null);
            java.util.Map<String, String> badRevisions = java.util.Map.of(
                    "main..x", "\"main..x\" is not a revision",
                    "../../../etc", "\"../../../etc\" is not a revision",
                    "main/", "\"main/\" is not a revision",
                    "feature//x", "\"feature//x\" is not a revision",
                    "v1.lock", "\"v1.lock\" is not a revision",
                    "a b", "\"a b\" is not a revision");
            badRevisions.forEach((revision, message) -> assertThatThrownBy(() -> hub.snapshot(HfHub.RepoType.MODEL, REPO, revision))
                    .as(revision).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message));
            for (String repo : java.util.List.of("tiny-org/tiny--model", "tiny-org/..", "tiny-org/-x", "tiny-org/x.", "a/b/c",
                    "tiny-org/" + "m".repeat(96))) {
                assertThatThrownBy(() -> hub.snapshot(HfHub.RepoType.MODEL, repo, "main")).as(repo)
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("\"" + repo + "\" is not a Hugging Face repository id");
            }

            assertThat(server.requests()).as("no request sent").isEmpty();
            assertThat(hub.snapshot(HfHub.RepoType.MODEL, REPO, HubServer.COMMIT).commit()).isEqualTo(HubServer.COMMIT);
            assertThatThrownBy(() -> hub.snapshot(HfHub.RepoType.MODEL, REPO, "refs/pr/3")).as("a well-formed revision is asked for")
                    .hasMessageContaining("HTTP 404");
        }
    }

    @Test
    void anUnreachableHubIsATransientFailureNamingTheEndpoint() throws IOException {
        int closedPort;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        HfHub hub = new HfHub(java.net.URI.create("http://127.0.0.1:" + closedPort), null);

        assertThatThrownBy(() -> hub.snapshot(HfHub.RepoType.MODEL, REPO, "main"))
                .isInstanceOf(TransientIOException.class)
                .hasMessageStartingWith("hf://" + REPO + "@main: cannot reach http://127.0.0.1:" + closedPort)
                .satisfies(e -> assertThat(Failures.isTransient(e)).isTrue());
    }
}
