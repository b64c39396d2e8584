package dev.saeforge.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class TrainingRunsTest {
    static final Path INVALID_SPECS = Path.of("src/test/resources/invalid-specs");

    static final String MINIMAL = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: minimal}
            spec:
              model: {name: Qwen/Qwen3-0.6B}
              hook: blocks.3.hook_mlp_out
              dataset: {uri: data/corpus.jsonl}
              sae: {dSae: 4096}
            """;

    static Stream<Path> examples() throws IOException {
        return Files.list(Path.of("examples")).filter(p -> p.toString().endsWith(".yaml")).sorted();
    }

    static Stream<Path> invalidSpecs() throws IOException {
        return Files.list(INVALID_SPECS).filter(p -> p.toString().endsWith(".yaml")).sorted();
    }

    @ParameterizedTest
    @MethodSource("examples")
    void everyExampleIsValid(Path example) throws Exception {
        assertThat(TrainingRuns.read(example)).hasSize(1);
    }

    @ParameterizedTest
    @MethodSource("invalidSpecs")
    void invalidSpecReportsExactlyTheProblemsItsCommentsExpect(Path file) throws IOException {
        List<String> expected = Files.readAllLines(file).stream()
                .filter(line -> line.startsWith("# expect: "))
                .map(line -> line.substring("# expect: ".length()))
                .toList();
        assertThat(expected).as(file + " declares what it expects").isNotEmpty();

        InvalidSpecException e = catchThrowableOfType(InvalidSpecException.class, () -> TrainingRuns.read(file));

        assertThat(e).as(file + " is refused").isNotNull();
        assertThat(e.source()).isEqualTo(file.toString());
        assertThat(e.problems()).extracting(Problem::toString).containsExactlyElementsOf(expected);
    }

    @Test
    void defaultsAreThoseOfSaeLensV6() throws Exception {
        TrainingRunSpec spec = TrainingRuns.parse(MINIMAL, "minimal").get(0).getSpec();

        assertThat(spec.sae.architecture).isEqualTo(SaeSpec.Architecture.JUMPRELU);
        assertThat(spec.sae.l0Coefficient).isEqualTo(1.0);
        assertThat(spec.sae.bandwidth).isEqualTo(0.05);
        assertThat(spec.sae.initThreshold).isEqualTo(0.01);
        assertThat(spec.sae.decoderInitNorm).isEqualTo(0.1);
        assertThat(spec.sae.tanhScale).isEqualTo(4.0);
        assertThat(spec.sae.sparsityLossMode).isEqualTo(SaeSpec.SparsityLossMode.STEP);
        assertThat(spec.sae.preActLossCoefficient).isNull();
        assertThat(spec.sae.applyBDecToInput).isTrue();
        assertThat(spec.sae.normalizeActivations).isEqualTo(SaeSpec.ActivationNormalization.NONE);
        assertThat(spec.training.tokens).isEqualTo(2_000_000);
        assertThat(spec.training.batchSizeTokens).isEqualTo(4096);
        assertThat(spec.training.lr).isEqualTo(3e-4);
        assertThat(spec.training.lrScheduler).isEqualTo(TrainingSpec.LrScheduler.CONSTANT);
        assertThat(spec.training.adamBeta1).isEqualTo(0.9);
        assertThat(spec.training.adamBeta2).isEqualTo(0.999);
        assertThat(spec.training.deadFeatureWindow).isEqualTo(1000);
        assertThat(spec.training.featureSamplingWindow).isEqualTo(2000);
        assertThat(spec.training.seed).isEqualTo(42);
        assertThat(spec.dataset.contextSize).isEqualTo(128);
        assertThat(spec.dataset.prependBos).isTrue();
        assertThat(spec.dataset.storeBatchSizePrompts).isEqualTo(32);
        assertThat(spec.dataset.mixingFraction).isEqualTo(0.5);
        assertThat(spec.checkpoints.count).isZero();
    }

    @Test
    void aReportIsWrittenByDefaultBySaeforgeTrainAndByAJobOnlyWhenEnabled() throws Exception {
        ReportSpec report = TrainingRuns.parse(MINIMAL, "minimal").get(0).getSpec().report;
        assertThat(report.tokens).isEqualTo(262_144);
        assertThat(report.latents).isEqualTo(20);
        assertThat(report.sample).isEqualTo(20);
        assertThat(report.latentIndicesOrNone()).isEmpty();
        assertThat(report.writesReport(false)).as("saeforge train").isTrue();
        assertThat(report.writesReport(true)).as("an operator's Job").isFalse();

        report.enabled = true;
        assertThat(report.writesReport(true)).isTrue();
        report.enabled = false;
        assertThat(report.writesReport(false)).isFalse();
    }

    @Test
    void anEvalDatasetReadsTheTrainSplitAsSaeLensDoesAndASplitBelongsToAHubDatasetWithoutAPath() throws Exception {
        TrainingRunSpec spec = TrainingRuns.parse(MINIMAL.replace("dataset: {uri: data/corpus.jsonl}",
                "dataset: {uri: data/corpus.jsonl, eval: {uri: hf://datasets/HuggingFaceFW/fineweb-edu@main}}"), "minimal").get(0).getSpec();
        assertThat(TrainingRuns.parse(MINIMAL, "minimal").get(0).getSpec().dataset.eval).isNull();
        assertThat(spec.dataset.eval.splitOrDefault()).isEqualTo("train");
        assertThat(spec.dataset.eval.rows).isNull();

        assertThat(TrainingRuns.parse(MINIMAL.replace("dataset: {uri: data/corpus.jsonl}",
                "dataset: {uri: data/corpus.jsonl, eval: {uri: hf://datasets/org/name, split: validation, rows: 500}}"), "m")
                .get(0).getSpec().dataset.eval.rows).isEqualTo(500);
        InvalidSpecException e = catchThrowableOfType(InvalidSpecException.class, () -> TrainingRuns.parse(MINIMAL.replace(
                "dataset: {uri: data/corpus.jsonl}", "dataset: {uri: data/corpus.jsonl, eval: {uri: hf://datasets/org/name/data/*.parquet,"
                        + " split: validation}}"), "path"));
        assertThat(e.problems()).extracting(Problem::toString).containsExactly("spec.dataset.eval.split: is set, but "
                + "hf://datasets/org/name/data/*.parquet names its files by path; a split applies to hf://datasets/ORG/NAME[@REVISION] alone:"
                + " leave split out");
    }

    @Test
    void eachArchitectureTakesSaeLensDefaultsForItsOwnFieldsAlone() throws Exception {
        SaeSpec topk = TrainingRuns.parse(MINIMAL.replace("sae: {dSae: 4096}", "sae: {architecture: topk, dSae: 4096}"), "topk")
                .get(0).getSpec().sae;
        assertThat(topk.k).isEqualTo(100.0);
        assertThat(topk.auxLossCoefficient).isEqualTo(1.0);
        assertThat(topk.rescaleActsByDecoderNorm).isTrue();
        assertThat(topk.topkThresholdLr).as("batchtopk's").isNull();
        assertThat(topk.l0Coefficient).as("jumprelu's").isNull();
        assertThat(topk.foreignFields()).isEmpty();

        SaeSpec batch = TrainingRuns.parse(MINIMAL.replace("sae: {dSae: 4096}", "sae: {architecture: batchtopk, dSae: 4096}"), "b")
                .get(0).getSpec().sae;
        assertThat(batch.topkThresholdLr).isEqualTo(0.01);

        SaeSpec standard = TrainingRuns.parse(MINIMAL.replace("sae: {dSae: 4096}", "sae: {architecture: standard, dSae: 4096}"), "s")
                .get(0).getSpec().sae;
        assertThat(standard.l1Coefficient).isEqualTo(1.0);
        assertThat(standard.lpNorm).isEqualTo(1.0);
        assertThat(standard.l1WarmUpSteps).isZero();
        assertThat(standard.k).isNull();

        SaeSpec jumprelu = TrainingRuns.parse(MINIMAL, "minimal").get(0).getSpec().sae;
        assertThat(jumprelu.targetL0).as("linear penalty unless asked").isNull();
        assertThat(jumprelu.jumpreluSteToInput).isFalse();
    }

    @Test
    void normalisingFillsTheDefaultsThatDependOnOtherFields() throws Exception {
        TrainingRunSpec spec = TrainingRuns.parse(MINIMAL, "minimal").get(0).getSpec();

        assertThat(spec.model.uri).isEqualTo("hf://Qwen/Qwen3-0.6B");
        assertThat(spec.training.lrEnd).as("SAELens lr_end defaults to lr / 10").isEqualTo(3e-5);
    }

    @Test
    void theNormalisedDocumentIsAFixedPoint() throws Exception {
        for (Path example : examples().toList()) {
            String once = TrainingRuns.toYaml(TrainingRuns.read(example).get(0));
            String twice = TrainingRuns.toYaml(TrainingRuns.parse(once, "normalised " + example).get(0));
            assertThat(twice).as(example.toString()).isEqualTo(once);
        }
    }

    @Test
    void aRunRebuiltFromItsIdentityAndSpecIsTheDocumentItCameFrom() throws Exception {
        // A checkpoint keeps the rebuilt document as trainingrun.yaml; resuming compares it with the run.
        String placed = MINIMAL.replace("metadata: {name: minimal}", "metadata: {name: minimal, namespace: research, uid: 0b5e}");
        List<TrainingRun> runs = new java.util.ArrayList<>(List.of(TrainingRuns.parse(MINIMAL, "run").get(0),
                TrainingRuns.parse(placed, "placed").get(0)));
        for (Path example : examples().toList()) {
            runs.add(TrainingRuns.read(example).get(0));
        }
        for (TrainingRun run : runs) {
            assertThat(TrainingRuns.toYaml(TrainingRuns.document(RunIdentity.of(run), run.getSpec()))).isEqualTo(TrainingRuns.toYaml(run));
        }
    }

    @Test
    void numbersWithoutADotAreNumbersToo() throws Exception {
        // YAML 1.1 reads 3e-4 as a string; a researcher means the number.
        TrainingRunSpec spec = TrainingRuns.parse(MINIMAL.replace("sae: {dSae: 4096}", "sae: {dSae: 4096}\n  training: {lr: 3e-4}"), "m")
                .get(0).getSpec();
        assertThat(spec.training.lr).isEqualTo(3e-4);
    }

    @Test
    void everyDocumentOfAFileIsCheckedAndNamed() {
        String two = MINIMAL + "---\n" + MINIMAL.replace("name: minimal", "name: second").replace("dSae: 4096", "dSae: -1");

        InvalidSpecException e = catchThrowableOfType(InvalidSpecException.class, () -> TrainingRuns.parse(two, "runs.yaml"));

        assertThat(e.source()).isEqualTo("runs.yaml (document 2)");
        assertThat(e.problems()).extracting(Problem::toString).containsExactly("spec.sae.dSae: must be >= 1, got -1");
    }

    @Test
    void seedExampleIsTheSaeLensRunOfTheSeedPost() throws Exception {
        TrainingRun seed = TrainingRuns.read(Path.of("examples/qwen3-8b-layer28.yaml")).get(0);
        TrainingRunSpec spec = seed.getSpec();

        assertThat(spec.model.name).isEqualTo("Qwen/Qwen3-8B");
        assertThat(spec.hook).isEqualTo("blocks.28.hook_mlp_out");
        assertThat(spec.sae.architecture).isEqualTo(SaeSpec.Architecture.JUMPRELU);
        assertThat(spec.sae.dIn).isEqualTo(4096);
        assertThat(spec.dataset.uri).isEqualTo("hf://datasets/HuggingFaceFW/fineweb");
        assertThat(spec.dataset.prependBos).isFalse();
        assertThat(spec.training.tokens).isEqualTo(1_228_800_000L);
        assertThat(spec.training.seed).isEqualTo(42);
        assertThat(spec.training.autocast).isTrue();
        assertThat(spec.checkpoints.count).isEqualTo(5);
        assertThat(spec.resources.gpus).isEqualTo(1);
        assertThat(spec.resources.gpuProduct).contains("A100");
    }

    /** MINIMAL with checkpoints that outlive the pod and the given activations section. */
    static TrainingRunSpec inCluster(String checkpoints, String activations) throws InvalidSpecException {
        return TrainingRuns.parse(MINIMAL + "  checkpoints: " + checkpoints + "\n  activations: " + activations + "\n", "run").get(0).getSpec();
    }

    @Test
    void aClusterRunsCacheIsInAnObjectStoreOrInsideTheCheckpointVolume() throws Exception {
        String s3 = "{uri: s3://saeforge/runs}";
        String volume = "{uri: runs, volume: {claimName: sae-checkpoints}}";

        assertThat(TrainingRuns.clusterProblems(inCluster(s3, "{cache: {uri: s3://saeforge/cache}, parallelism: 4}"))).isEmpty();
        assertThat(TrainingRuns.clusterProblems(inCluster(volume, "{cache: {uri: cache/qwen3}, parallelism: 4}"))).isEmpty();
        assertThat(TrainingRuns.clusterProblems(inCluster(s3, "{cache: {uri: /data/cache}, parallelism: 4}")))
                .extracting(Problem::toString).containsExactly("spec.activations.cache.uri: \"/data/cache\" is not reachable from "
                        + "every pod of the run; expected s3://BUCKET/PREFIX, or a relative path such as cache with "
                        + "spec.checkpoints.volume set, where the cache lives inside that volume");
        assertThat(TrainingRuns.clusterProblems(inCluster(volume, "{cache: {uri: ../cache}}")))
                .extracting(Problem::toString).singleElement().asString()
                .startsWith("spec.activations.cache.uri: \"../cache\" is not reachable from every pod of the run (a path inside "
                        + "spec.checkpoints.volume must be relative and stay inside it)");
        assertThat(TrainingRuns.clusterProblems(inCluster(volume, "{cache: {uri: file:///cache}}"))).extracting(Problem::path)
                .containsExactly("spec.activations.cache.uri");
    }

    @Test
    void aLocalCacheIsFineOutsideACluster() throws Exception {
        TrainingRunSpec spec = inCluster("{uri: runs}", "{cache: {uri: cache/qwen3, mode: write}}");

        assertThat(spec.activations.cache.location(spec.checkpoints, java.util.Map.of())).isEqualTo("cache/qwen3");
        assertThat(TrainingRuns.clusterProblems(spec)).extracting(Problem::path)
                .containsExactly("spec.checkpoints.uri", "spec.activations.cache.uri");
    }

    @Test
    void aParallelBuildWritesTheCacheInModeWriteOrAuto() throws Exception {
        assertThat(inCluster("{uri: s3://saeforge/runs}", "{cache: {uri: s3://saeforge/cache, mode: write}, parallelism: 2}")
                .activations.parallelism).isEqualTo(2);
        assertThat(inCluster("{uri: s3://saeforge/runs}", "{cache: {uri: s3://saeforge/cache}, parallelism: 2}")
                .activations.cache.mode).isEqualTo(ActivationCacheSpec.Mode.AUTO);
    }

    @Test
    void aMissingFileIsNamed() {
        assertThatThrownBy(() -> TrainingRuns.read(Path.of("no/such/run.yaml")))
                .hasMessage("no/such/run.yaml: no such file");
    }
}
