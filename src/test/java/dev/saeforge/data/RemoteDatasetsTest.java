package dev.saeforge.data;

import dev.saeforge.api.DatasetSpec;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.HubServer;
import dev.saeforge.store.S3MockServer;
import dev.saeforge.store.S3Settings;
import io.minio.MinioClient;
import io.minio.UploadObjectArgs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.saeforge.data.DatasetFixtures.documents;
import static dev.saeforge.data.DatasetFixtures.jsonl;
import static dev.saeforge.data.DatasetFixtures.parquet;
import static dev.saeforge.data.DatasetFixtures.read;
import static dev.saeforge.data.DatasetFixtures.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Datasets on the Hugging Face hub (a local server speaking its API) and in S3 (S3Mock), read shard by shard through the cache. */
class RemoteDatasetsTest {
    static final String REPO = "tiny-org/tiny-stories";
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("corpora");

    @TempDir
    Path repo;
    @TempDir
    Path cache;

    /** A hub-style dataset: train and test parquet shards under data/, and a README. */
    private void hubDataset() throws IOException {
        parquet(repo.resolve("data/train-00000-of-00002.parquet"), "text", documents("train0", 6));
        parquet(repo.resolve("data/train-00001-of-00002.parquet"), "text", documents("train1", 6));
        parquet(repo.resolve("data/test-00000-of-00001.parquet"), "text", documents("test", 4));
        Files.writeString(repo.resolve("README.md"), "# tiny stories\n");
    }

    @Test
    void anotherSplitOfAHubDatasetIsTheFilesNamedAfterItAsTheHubsLoaderNamesThem() throws IOException {
        hubDataset();
        parquet(repo.resolve("data/valid-00000-of-00001.parquet"), "text", documents("valid", 3));
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());
            String at = "hf://datasets/" + REPO + "@" + HubServer.COMMIT + "/";

            assertThat(files.listing("hf://datasets/" + REPO, null, "test").shards()).extracting(Shard::name)
                    .containsExactly(at + "data/test-00000-of-00001.parquet");
            assertThat(files.listing("hf://datasets/" + REPO, null, "validation").shards()).extracting(Shard::name)
                    .as("valid names the validation split").containsExactly(at + "data/valid-00000-of-00001.parquet");
            assertThat(files.listing("hf://datasets/" + REPO, null, "train").shards()).extracting(Shard::name)
                    .containsExactly(at + "data/train-00000-of-00002.parquet", at + "data/train-00001-of-00002.parquet");
            assertThatThrownBy(() -> files.listing("hf://datasets/" + REPO, null, "holdout"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageEndingWith("has no files of split \"holdout\"; without data_files in the dataset card (README.md) a split is"
                            + " the files or folders named holdout");
        }
    }

    @Test
    void aHubDatasetIsItsTrainSplitDownloadedWithTheTokenShardByShard() throws IOException {
        hubDataset();
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, "hf_secret")) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), "hf_secret"), Map.of());

            List<Shard> shards = files.list("hf://datasets/" + REPO);

            String at = "hf://datasets/" + REPO + "@" + HubServer.COMMIT + "/";
            assertThat(shards).extracting(Shard::name).containsExactly(at + "data/train-00000-of-00002.parquet",
                    at + "data/train-00001-of-00002.parquet");
            assertThat(downloads(hub)).as("nothing is downloaded before it is read").isEmpty();

            try (TextStream stream = stream(shards, DatasetSpec.MalformedRows.FAIL, 3)) {
                List<String> docs = read(stream, 3);
                assertThat(downloads(hub)).as("only the first shard so far").hasSize(1);
                docs.addAll(read(stream, 9));
                List<String> expected = new ArrayList<>(documents("train0", 6));
                expected.addAll(documents("train1", 6));
                assertThat(docs).containsExactlyInAnyOrderElementsOf(expected);
            }
            Path cached = cache.resolve("datasets/hf/" + REPO + "/" + HubServer.COMMIT + "/data/train-00000-of-00002.parquet");
            assertThat(cached).hasSameBinaryContentAs(repo.resolve("data/train-00000-of-00002.parquet"));
            assertThat(hub.requests()).filteredOn(r -> !r.path().startsWith("/cdn/"))
                    .allSatisfy(r -> assertThat(r.authorization()).isEqualTo("Bearer hf_secret"));

            try (TextStream again = stream(files.list("hf://datasets/" + REPO), DatasetSpec.MalformedRows.FAIL, 3)) {
                read(again, 12);
            }
            assertThat(downloads(hub)).as("a second reading uses the cache").hasSize(2);
        }
    }

    @Test
    void aPathOrGlobPicksFilesOfAHubDataset() throws IOException {
        hubDataset();
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());
            String at = "hf://datasets/" + REPO + "@" + HubServer.COMMIT + "/";

            assertThat(files.list("hf://datasets/" + REPO + "/data/test-00000-of-00001.parquet")).extracting(Shard::name)
                    .containsExactly(at + "data/test-00000-of-00001.parquet");
            assertThat(files.list("hf://datasets/" + REPO + "@main/data/*-00000-*.parquet")).extracting(Shard::name)
                    .containsExactly(at + "data/test-00000-of-00001.parquet", at + "data/train-00000-of-00002.parquet");
            assertThat(files.list("hf://datasets/" + REPO + "/data")).hasSize(3);
            assertThatThrownBy(() -> files.list("hf://datasets/" + REPO + "@v9"))
                    .hasMessageContaining("HTTP 404").hasMessageContaining("no such repository, revision or file");
        }
    }

    @Test
    void aPrivateHubDatasetWithoutATokenSaysWhatToSet() throws IOException {
        hubDataset();
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, "hf_secret")) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());
            assertThatThrownBy(() -> files.list("hf://datasets/" + REPO))
                    .hasMessageContaining("HTTP 401").hasMessageEndingWith("the repository is private or gated; set HF_TOKEN to a token with access");
        }
    }

    @Test
    void anS3PrefixGlobOrKeyIsReadThroughTheCache() throws Exception {
        MinioClient client = S3Settings.from("s3://corpora", S3.env()).client();
        upload(client, "web/part-0.jsonl.zst", jsonl(repo.resolve("part-0.jsonl.zst"), documents("p0", 5)));
        upload(client, "web/part-1.parquet", parquet(repo.resolve("part-1.parquet"), "text", documents("p1", 5)));
        upload(client, "web/_SUCCESS", Files.writeString(repo.resolve("_SUCCESS"), ""));
        upload(client, "web-other/part-9.jsonl", jsonl(repo.resolve("part-9.jsonl"), documents("p9", 5)));
        DatasetFiles files = new DatasetFiles(cache, null, S3.env());

        List<Shard> shards = files.list("s3://corpora/web");

        assertThat(shards).extracting(Shard::name).containsExactly("s3://corpora/web/part-0.jsonl.zst", "s3://corpora/web/part-1.parquet");
        try (TextStream stream = stream(shards, DatasetSpec.MalformedRows.FAIL, 0)) {
            List<String> expected = new ArrayList<>(documents("p0", 5));
            expected.addAll(documents("p1", 5));
            assertThat(read(stream, 10)).containsExactlyInAnyOrderElementsOf(expected);
        }
        assertThat(cache.resolve("datasets/s3/corpora/web/part-1.parquet")).hasSameBinaryContentAs(repo.resolve("part-1.parquet"));
        assertThat(files.list("s3://corpora/web*/*.jsonl*")).extracting(Shard::name)
                .containsExactly("s3://corpora/web-other/part-9.jsonl", "s3://corpora/web/part-0.jsonl.zst");
        assertThat(files.list("s3://corpora/web/part-1.parquet")).extracting(Shard::name).containsExactly("s3://corpora/web/part-1.parquet");
        assertThatThrownBy(() -> files.list("s3://corpora/none")).hasMessageStartingWith("dataset location s3://corpora/none holds no data files");
        assertThatThrownBy(() -> new DatasetFiles(cache, null, Map.of()).list("s3://corpora/web"))
                .hasMessageStartingWith("s3://corpora needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }

    @Test
    void anS3DatasetResumesOnTheFilesItsCheckpointRecordedAndRefusesOneChangedOrGone() throws Exception {
        MinioClient client = S3Settings.from("s3://corpora", S3.env()).client();
        upload(client, "resumed/part-1.jsonl", jsonl(repo.resolve("part-1.jsonl"), documents("p1", 5)));
        DatasetFiles files = new DatasetFiles(cache, null, S3.env());
        DatasetFiles.Listing first = files.listing("s3://corpora/resumed", null);
        InputFiles recorded = new InputFiles(null, null, "s3://corpora/resumed", first.revision(),
                first.shards().stream().map(Shard::file).toList());
        assertThat(recorded.files()).singleElement().satisfies(file -> {
            assertThat(file.bytes()).isEqualTo(Files.size(repo.resolve("part-1.jsonl")));
            assertThat(file.version()).as("the ETag").isNotBlank();
        });
        assertThat(InputFiles.parse(recorded.toJson(), "inputs.json")).isEqualTo(recorded);

        upload(client, "resumed/part-0.jsonl", jsonl(repo.resolve("part-0.jsonl"), documents("p0", 5)));
        assertThat(files.recorded(recorded)).as("a file added since is not read").extracting(Shard::name)
                .containsExactly("s3://corpora/resumed/part-1.jsonl");

        upload(client, "resumed/part-1.jsonl", jsonl(repo.resolve("part-1.jsonl"), documents("p1-rewritten", 5)));
        assertThatThrownBy(() -> files.recorded(recorded)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("dataset file s3://corpora/resumed/part-1.jsonl changed since the run's checkpoint recorded it")
                .hasMessageContaining("an exact resume is impossible");

        client.removeObject(io.minio.RemoveObjectArgs.builder().bucket("corpora").object("resumed/part-1.jsonl").build());
        assertThatThrownBy(() -> files.recorded(recorded)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("dataset file s3://corpora/resumed/part-1.jsonl, which the run was reading when its checkpoint "
                        + "was written, is no longer in s3://corpora/resumed");
    }

    @Test
    void aHubDatasetResumesAtTheCommitItsCheckpointRecorded() throws IOException {
        hubDataset();
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());
            DatasetFiles.Listing first = files.listing("hf://datasets/" + REPO, null);
            assertThat(first.revision()).isEqualTo(HubServer.COMMIT);
            InputFiles recorded = new InputFiles(null, null, "hf://datasets/" + REPO, first.revision(),
                    first.shards().stream().map(Shard::file).toList());
            hub.requests().clear();

            assertThat(files.recorded(recorded)).extracting(Shard::name).containsExactlyElementsOf(first.shards().stream().map(Shard::name).toList());
            assertThat(hub.requests()).extracting(HubServer.Request::path)
                    .containsExactly("/api/datasets/" + REPO + "/revision/" + HubServer.COMMIT);
        }
    }

    @Test
    void anS3KeyThatWouldLeaveTheCacheIsRefusedNamingItAndTheBucket() throws Exception {
        Path outside = repo.resolve("escaped.jsonl");
        String key = outside.toAbsolutePath().toString();   // an absolute key: resolved against the cache, it replaces it
        byte[] body = "{\"text\": \"planted\"}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        MinioClient client = S3Settings.from("s3://corpora", S3.env()).client();
        client.putObject(io.minio.PutObjectArgs.builder().bucket("corpora").object(key)
                .stream(new java.io.ByteArrayInputStream(body), body.length, -1).build());
        DatasetFiles files = new DatasetFiles(cache, null, S3.env());
        try {
            assertThatThrownBy(() -> {
                for (Shard shard : files.list("s3://corpora")) {
                    shard.local();
                }
            }).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("s3://corpora: key \"" + key + "\" is refused: it is an absolute path");
            assertThat(outside).doesNotExist();
        } finally {
            client.removeObject(io.minio.RemoveObjectArgs.builder().bucket("corpora").object(key).build());
        }
    }

    @Test
    void aHubFileNameOrCommitThatWouldLeaveTheCacheIsRefusedNamingTheRepository() throws IOException {
        hubDataset();
        Path cacheDir = cache.resolve("inner");
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cacheDir, new HfHub(hub.endpoint(), null), Map.of());
            String escaping = "data/../../../../../../../escaped-train.jsonl";
            hub.listAlso(escaping, 10);
            assertThatThrownBy(() -> {
                for (Shard shard : files.list("hf://datasets/" + REPO)) {
                    shard.local();
                }
            }).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("hf://datasets/" + REPO + "@" + HubServer.COMMIT + ": file \"" + escaping
                            + "\" is refused: it has a \"..\" segment");

            hub.answerCommit("../../../../../escaped");
            assertThatThrownBy(() -> {
                for (Shard shard : files.list("hf://datasets/" + REPO + "/data/test-00000-of-00001.parquet")) {
                    shard.local();
                }
            }).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("the hub answered commit \"../../../../../escaped\" for hf://datasets/" + REPO
                            + "; expected 40 hexadecimal digits");
        }
        assertThat(cache.resolve("escaped-train.jsonl")).doesNotExist();
        assertThat(cache.resolve("escaped")).doesNotExist();
    }

    private static void upload(MinioClient client, String key, Path file) throws Exception {
        client.uploadObject(UploadObjectArgs.builder().bucket("corpora").object(key).filename(file.toString()).build());
    }

    /** The data files downloaded; the dataset card (README.md) is read when the dataset is listed. */
    private static List<String> downloads(HubServer hub) {
        return hub.requests().stream().filter(r -> r.path().startsWith("/cdn/") && !r.path().endsWith("/README.md"))
                .map(HubServer.Request::path).toList();
    }
}
