package dev.saeforge.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.saeforge.tensor.Precision;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.HubServer;
import dev.saeforge.store.S3MockServer;
import dev.saeforge.store.S3Settings;
import dev.saeforge.tensor.Torch;
import io.minio.MinioClient;
import io.minio.UploadObjectArgs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Models from the hub (a local server speaking its API), from S3 (S3Mock) and from disk give the same activations. */
class ModelSourcesTest {
    static final String REPO = "tiny-org/tiny-qwen3";
    static final HookPoint HOOK = HookPoint.parse("blocks.1.hook_resid_post");
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("models");

    @TempDir
    Path checkpoint;
    @TempDir
    Path cache;

    @Test
    void hfModelsDownloadOnceIntoTheCacheAndRunAsFromDisk() throws Exception {
        TinyQwen3.write(checkpoint, TinyQwen3.Options.defaults().withShards(2));
        Files.writeString(checkpoint.resolve("README.md"), "not needed by the model");
        try (HubServer hub = new HubServer(REPO, checkpoint, "hf_tok")) {
            ModelSources sources = new ModelSources(cache, new HfHub(hub.endpoint(), "hf_tok"), Map.of());

            Path dir = sources.resolve("hf://" + REPO);

            assertThat(dir).isEqualTo(cache.resolve("models/hf/" + REPO + "/" + HubServer.COMMIT));
            assertThat(names(dir)).containsExactly("config.json", "model-00001-of-00002.safetensors",
                    "model-00002-of-00002.safetensors", "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json");
            assertSameActivations(dir, checkpoint);
            long downloads = hub.requests().stream().filter(r -> r.path().startsWith("/cdn/")).count();
            assertThat(downloads).isEqualTo(6);

            assertThat(sources.resolve("hf://" + REPO + "@" + HubServer.COMMIT)).isEqualTo(dir);
            assertThat(hub.requests().stream().filter(r -> r.path().startsWith("/cdn/")).count())
                    .as("a second resolve downloads nothing").isEqualTo(downloads);
        }
    }

    @Test
    void aRecordedCommitIsResolvedInsteadOfTheLocationsRevision() throws Exception {
        TinyQwen3.write(checkpoint, TinyQwen3.Options.defaults());
        try (HubServer hub = new HubServer(REPO, checkpoint, null)) {
            ModelSources sources = new ModelSources(cache, new HfHub(hub.endpoint(), null), Map.of());

            assertThat(sources.resolve("hf://" + REPO, null).revision()).as("main, resolved").isEqualTo(HubServer.COMMIT);
            hub.requests().clear();
            ModelSources.Resolved resumed = sources.resolve("hf://" + REPO, HubServer.COMMIT);

            assertThat(resumed).isEqualTo(new ModelSources.Resolved(cache.resolve("models/hf/" + REPO + "/" + HubServer.COMMIT),
                    HubServer.COMMIT));
            assertThat(hub.requests()).extracting(HubServer.Request::path).containsExactly("/api/models/" + REPO + "/revision/" + HubServer.COMMIT);
        }
    }

    @Test
    void aShardMissingOnTheHubIsNamed() throws Exception {
        TinyQwen3.write(checkpoint, TinyQwen3.Options.defaults().withShards(2));
        Files.delete(checkpoint.resolve("model-00002-of-00002.safetensors"));
        try (HubServer hub = new HubServer(REPO, checkpoint, null)) {
            ModelSources sources = new ModelSources(cache, new HfHub(hub.endpoint(), null), Map.of());

            assertThatThrownBy(() -> sources.resolve("hf://" + REPO))
                    .isInstanceOf(InvalidModelException.class)
                    .hasMessage("hf://" + REPO + "@" + HubServer.COMMIT
                            + ": model.safetensors.index.json names shard model-00002-of-00002.safetensors, which is missing there");
        }
    }

    @Test
    void s3ModelsDownloadIntoTheCacheAndRunAsFromDisk() throws Exception {
        TinyQwen3.write(checkpoint, TinyQwen3.Options.defaults().withTied(false));
        MinioClient client = S3Settings.from("s3://models", S3.env()).client();
        for (String name : names(checkpoint)) {
            client.uploadObject(UploadObjectArgs.builder().bucket("models").object("qwen/tiny/" + name)
                    .filename(checkpoint.resolve(name).toString()).build());
        }
        ModelSources sources = new ModelSources(cache, new HfHub(URI.create("http://127.0.0.1:9"), null), S3.env());

        Path dir = sources.resolve("s3://models/qwen/tiny");

        assertThat(dir).isEqualTo(cache.resolve("models/s3/models/qwen/tiny"));
        assertSameActivations(dir, checkpoint);
        long modified = Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis();
        Thread.sleep(20);
        assertThat(sources.resolve("s3://models/qwen/tiny/")).isEqualTo(dir);
        assertThat(Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis())
                .as("an unchanged object is not fetched again").isEqualTo(modified);

        assertThatThrownBy(() -> sources.resolve("s3://models/qwen/none"))
                .isInstanceOf(InvalidModelException.class)
                .hasMessage("s3://models/qwen/none/ has no config.json; it holds []");
    }

    @Test
    void tinyQwen3IsWrittenToTheCacheOnFirstUseAndReusedAfter() throws IOException {
        ModelSources sources = new ModelSources(cache, null, Map.of());
        TinyQwen3.write(checkpoint, TinyQwen3.Options.defaults());

        Path dir = sources.resolve("tiny://qwen3");

        assertThat(dir).isEqualTo(cache.resolve("models/tiny/qwen3"));
        assertThat(names(dir)).isEqualTo(names(checkpoint));
        for (String name : names(dir)) {
            assertThat(Files.readAllBytes(dir.resolve(name))).as(name + " is the same on every write").isEqualTo(Files.readAllBytes(checkpoint.resolve(name)));
        }
        long modified = Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis();
        assertThat(sources.resolve("tiny://qwen3")).isEqualTo(dir);
        assertThat(Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis()).isEqualTo(modified);
        assertThatThrownBy(() -> sources.resolve("tiny://llama"))
                .hasMessage("model location \"tiny://llama\" is not a tiny model; the one there is tiny://qwen3");
    }

    @Test
    void aLocalDirectoryIsUsedInPlaceAndAMissingOneIsNamed() throws IOException {
        ModelSources sources = new ModelSources(cache, null, Map.of());

        assertThat(sources.resolve(checkpoint.toString())).isEqualTo(checkpoint);
        assertThat(sources.resolve("file://" + checkpoint)).isEqualTo(checkpoint);
        assertThatThrownBy(() -> sources.resolve("runs/models/none"))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageStartingWith("model directory runs/models/none does not exist");
        assertThatThrownBy(() -> sources.resolve("hf://just-a-name"))
                .hasMessage("model location \"hf://just-a-name\" is not of the form hf://ORG/NAME[@REVISION]");
    }

    private static void assertSameActivations(Path fetched, Path original) throws IOException {
        try (NDManager manager = Torch.engine().newBaseManager(Device.cpu());
             Qwen3Model a = Qwen3Model.load(fetched, Device.cpu(), Precision.FLOAT32);
             Qwen3Model b = Qwen3Model.load(original, Device.cpu(), Precision.FLOAT32);
             Tokenizer tokenizer = Tokenizer.load(fetched)) {
            NDArray tokens = manager.create(new long[][]{tokenizer.encode("the model reads the text")});
            assertThat(a.activations(tokens, HOOK).toFloatArray()).containsExactly(b.activations(tokens, HOOK).toFloatArray());
        }
    }

    private static java.util.List<String> names(Path dir) throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".etag")).sorted().toList();
        }
    }
}
