package dev.saeforge.data;

import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.HubServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dev.saeforge.data.DatasetFixtures.documents;
import static dev.saeforge.data.DatasetFixtures.parquet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A hub dataset name means the files its dataset card's {@code configs} give its config and split,
 * as HF datasets reads them: served by a local hub, a dataset laid out like HuggingFaceFW/fineweb,
 * whose sample/ subsets repeat documents of its data/ dumps.
 */
class HubDatasetCardTest {
    static final String REPO = "HuggingFaceFW/fineweb";
    static final String LOCATION = "hf://datasets/" + REPO;
    static final String AT = LOCATION + "@" + HubServer.COMMIT + "/";
    static final List<String> DUMPS = List.of("data/CC-MAIN-2013-20/000_00000.parquet", "data/CC-MAIN-2013-20/001_00000.parquet",
            "data/CC-MAIN-2024-10/000_00000.parquet");
    static final List<String> SAMPLE_10BT = List.of("sample/10BT/000_00000.parquet", "sample/10BT/001_00000.parquet");
    static final List<String> SAMPLE_100BT = List.of("sample/100BT/000_00000.parquet");

    /** The header of fineweb's card, shortened to a few dumps, with one config of two splits added. */
    static final String CARD = """
            ---
            license: odc-by
            task_categories:
            - text-generation
            language:
            - en
            pretty_name: FineWeb
            configs:
            - config_name: default
              data_files:
              - split: train
                path: data/*/*
            - config_name: sample-10BT
              data_files:
              - split: train
                path: sample/10BT/*
            - config_name: sample-100BT
              data_files:
              - split: train
                path: sample/100BT/*
            - config_name: CC-MAIN-2024-10
              data_files:
              - split: train
                path: data/CC-MAIN-2024-10/*
            - config_name: CC-MAIN-2013-20
              data_files:
              - split: train
                path: data/CC-MAIN-2013-20/*
            - config_name: by-dump
              data_files:
              - split: train
                path: [data/CC-MAIN-2013-20/*]
              - split: test
                path: data/CC-MAIN-2024-10/*
            ---
            # 🍷 FineWeb

            > 15 trillion tokens of the finest data the 🌐 web has to offer
            """;

    @TempDir
    Path repo;
    @TempDir
    Path cache;

    private void fineweb(String readme) throws IOException {
        for (String file : DUMPS) {
            parquet(repo.resolve(file), "text", documents(file, 3));
        }
        for (String file : SAMPLE_10BT) {
            parquet(repo.resolve(file), "text", documents(file, 2));
        }
        for (String file : SAMPLE_100BT) {
            parquet(repo.resolve(file), "text", documents(file, 2));
        }
        if (readme != null) {
            Files.writeString(repo.resolve("README.md"), readme);
        }
    }

    private static List<String> at(List<String> files) {
        return files.stream().map(f -> AT + f).toList();
    }

    @Test
    void theDatasetNameAloneIsTheDefaultConfigsTrainSplitTheDataDumpsWithoutTheSamples() throws IOException {
        fineweb(CARD);
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());

            DatasetFiles.Listing listing = files.listing(LOCATION, null);

            assertThat(listing.shards()).extracting(Shard::name).containsExactlyElementsOf(at(DUMPS));
            assertThat(listing.config()).isEqualTo("default");
            assertThat(listing.split()).isEqualTo("train");
            assertThat(Files.readString(cache.resolve("datasets/hf/" + REPO + "/" + HubServer.COMMIT + "/README.md")))
                    .as("the card is read at the listed commit, through the cache").isEqualTo(CARD);
            assertThat(files.list(LOCATION + ":default")).extracting(Shard::name).containsExactlyElementsOf(at(DUMPS));
            assertThat(files.list(LOCATION + "@main:default/train")).extracting(Shard::name).containsExactlyElementsOf(at(DUMPS));
        }
    }

    @Test
    void aConfigNamePicksItsSubsetAndASplitNamePicksItsFiles() throws IOException {
        fineweb(CARD);
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());

            assertThat(files.list(LOCATION + ":sample-10BT")).extracting(Shard::name).containsExactlyElementsOf(at(SAMPLE_10BT));
            assertThat(files.list(LOCATION + "@" + HubServer.COMMIT + ":sample-100BT")).extracting(Shard::name)
                    .containsExactlyElementsOf(at(SAMPLE_100BT));
            assertThat(files.list(LOCATION + ":CC-MAIN-2024-10")).extracting(Shard::name).containsExactly(AT + DUMPS.get(2));
            assertThat(files.list(LOCATION + ":by-dump")).extracting(Shard::name).containsExactlyElementsOf(at(DUMPS.subList(0, 2)));
            DatasetFiles.Listing test = files.listing(LOCATION + ":by-dump/test", null);
            assertThat(test.shards()).extracting(Shard::name).containsExactly(AT + DUMPS.get(2));
            assertThat(List.of(test.config(), test.split())).containsExactly("by-dump", "test");
        }
    }

    @Test
    void anUnknownConfigOrSplitIsRefusedListingThoseTheCardHas() throws IOException {
        fineweb(CARD);
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());

            assertThatThrownBy(() -> files.list(LOCATION + ":sample-1BT")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(LOCATION + ":sample-1BT: no config \"sample-1BT\" in the dataset card (README.md); its configs: default,"
                            + " sample-10BT, sample-100BT, CC-MAIN-2024-10, CC-MAIN-2013-20, by-dump");
            assertThatThrownBy(() -> files.list(LOCATION + ":by-dump/validation")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(LOCATION + ":by-dump/validation: config \"by-dump\" has no split \"validation\"; its splits in the"
                            + " dataset card (README.md): train, test");
        }
    }

    @Test
    void withoutConfigsInTheCardTheTrainSplitIsInferredAsBefore() throws IOException {
        fineweb("---\nlicense: odc-by\n---\n# a card without configs\n");
        parquet(repo.resolve("extra/train-00000.parquet"), "text", documents("train", 2));
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());

            DatasetFiles.Listing listing = files.listing(LOCATION, null);
            assertThat(listing.shards()).extracting(Shard::name).containsExactly(AT + "extra/train-00000.parquet");
            assertThat(List.of(listing.config(), listing.split())).containsExactly("default", "train");
            assertThat(files.list(LOCATION + ":default/train")).extracting(Shard::name).containsExactly(AT + "extra/train-00000.parquet");
            assertThatThrownBy(() -> files.list(LOCATION + ":sample-10BT")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage(LOCATION + ":sample-10BT: no config \"sample-10BT\" in the dataset card (README.md); it lists no configs,"
                            + " so the only one is \"default\"");
        }
    }

    @Test
    void withoutACardEveryDataFileIsTheTrainSplitWhenNoneIsNamedTrain() throws IOException {
        fineweb(null);
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());

            assertThat(files.list(LOCATION)).hasSize(DUMPS.size() + SAMPLE_10BT.size() + SAMPLE_100BT.size());
        }
    }

    @Test
    void aPathStillPicksFilesDirectly() throws IOException {
        fineweb(CARD);
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());

            DatasetFiles.Listing listing = files.listing(LOCATION + "/sample/100BT", null);
            assertThat(listing.shards()).extracting(Shard::name).containsExactlyElementsOf(at(SAMPLE_100BT));
            assertThat(listing.config()).isNull();
            assertThat(hub.requests()).extracting(HubServer.Request::path).as("a path needs no card")
                    .noneMatch(p -> p.endsWith("/README.md"));
        }
    }

    @Test
    void aCheckpointRecordsTheConfigAndSplitAndAResumeFindsTheRecordedFiles() throws IOException {
        fineweb(CARD);
        try (HubServer hub = new HubServer(HfHub.RepoType.DATASET, REPO, repo, null)) {
            DatasetFiles files = new DatasetFiles(cache, new HfHub(hub.endpoint(), null), Map.of());
            DatasetFiles.Listing first = files.listing(LOCATION + ":sample-10BT", null);
            InputFiles recorded = InputFiles.parse(new InputFiles("m", null, LOCATION + ":sample-10BT", first.revision(), first.config(),
                    first.split(), first.shards().stream().map(Shard::file).toList(), null).toJson(), "inputs.json");

            assertThat(List.of(recorded.datasetConfig(), recorded.datasetSplit())).containsExactly("sample-10BT", "train");
            assertThat(new String(recorded.toJson(), StandardCharsets.UTF_8)).contains("\"dataset_config\" : \"sample-10BT\"",
                    "\"dataset_split\" : \"train\"");
            assertThat(files.recorded(recorded)).extracting(Shard::name).containsExactlyElementsOf(at(SAMPLE_10BT));

            // A checkpoint written before cards were read recorded every parquet file: a resume still finds them all.
            List<String> everything = new java.util.ArrayList<>(DUMPS);
            everything.addAll(SAMPLE_10BT);
            InputFiles before = new InputFiles("m", null, LOCATION, first.revision(), everything.stream()
                    .map(f -> new InputFiles.File(AT + f, repo.resolve(f).toFile().length(), null)).toList());
            assertThat(files.recorded(before)).extracting(Shard::name).containsExactlyElementsOf(at(everything));
        }
    }

    @Test
    void aSpecNamesAConfigAndSplitAfterTheDatasetName() throws InvalidSpecException {
        String spec = """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: fineweb-sample}
                spec:
                  model: {name: Qwen/Qwen3-0.6B}
                  hook: blocks.3.hook_mlp_out
                  dataset: {uri: "URI"}
                  sae: {dSae: 4096}
                """;
        for (String uri : List.of(LOCATION + ":sample-10BT", LOCATION + "@v1.2:CC-MAIN-2024-10/train", LOCATION + "/sample/10BT/*")) {
            assertThat(TrainingRuns.parse(spec.replace("URI", uri), "run.yaml").get(0).getSpec().dataset.uri).isEqualTo(uri);
        }
        assertThatThrownBy(() -> TrainingRuns.parse(spec.replace("URI", LOCATION + ":sample-10BT/train-2"), "run.yaml"))
                .isInstanceOf(InvalidSpecException.class).hasMessageContaining("is not a dataset location");
    }
}
