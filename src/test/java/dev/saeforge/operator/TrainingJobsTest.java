package dev.saeforge.operator;

import dev.saeforge.api.CheckpointSpec;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.api.ExitCodes;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicyRule;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static dev.saeforge.operator.Fixtures.SEED;
import static dev.saeforge.operator.Fixtures.storedSeedRun;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

class TrainingJobsTest {
    static OperatorConfig config() {
        OperatorConfig config = new OperatorConfig();
        config.image = "registry.example/saeforge:1.2.3";
        config.s3.endpoint = "http://minio.minio:9000";
        config.s3.credentialsSecret = "saeforge-s3";
        config.huggingFaceTokenSecret = "hf-token";
        return config;
    }

    static Container trainer(Job job) {
        return job.getSpec().getTemplate().getSpec().getContainers().get(0);
    }

    static Map<String, EnvVar> env(Job job) {
        return trainer(job).getEnv().stream().collect(Collectors.toMap(EnvVar::getName, Function.identity()));
    }

    @Test
    void theSeedRunAsksForOneA100WithItsCpuAndMemory() throws Exception {
        Job job = TrainingJobs.desired(storedSeedRun(), 1, config());
        PodSpec pod = job.getSpec().getTemplate().getSpec();

        assertThat(trainer(job).getResources().getRequests()).containsEntry("nvidia.com/gpu", new Quantity("1"))
                .containsEntry("cpu", new Quantity("8")).containsEntry("memory", new Quantity("120Gi"));
        assertThat(trainer(job).getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"))
                .containsEntry("memory", new Quantity("120Gi")).doesNotContainKey("cpu");
        assertThat(pod.getNodeSelector()).containsExactly(Map.entry("nvidia.com/gpu.product", "NVIDIA-A100-SXM4-80GB"));
        assertThat(pod.getTolerations()).extracting("key", "operator", "effect").containsExactly(tuple("nvidia.com/gpu", "Exists", "NoSchedule"));
    }

    @Test
    void aCpuOnlyRunHasNoGpuRequestNodeSelectorOrTolerations() throws Exception {
        TrainingRun toy = TrainingRuns.read(Path.of("examples/toy-superposition.yaml")).get(0);
        toy.getMetadata().setNamespace("research");
        toy.getSpec().resources.gpus = 0;

        Job job = TrainingJobs.desired(toy, 1, config());

        assertThat(trainer(job).getResources().getRequests()).doesNotContainKey("nvidia.com/gpu");
        assertThat(job.getSpec().getTemplate().getSpec().getNodeSelector()).isNullOrEmpty();
        assertThat(job.getSpec().getTemplate().getSpec().getTolerations()).isNullOrEmpty();
    }

    @Test
    void theTrainerIsToldItsRunAndResumesFromTheSecondAttemptOn() throws Exception {
        TrainingRun run = storedSeedRun();

        Job first = TrainingJobs.desired(run, 1, config());
        Job third = TrainingJobs.desired(run, 3, config());

        assertThat(trainer(first).getImage()).isEqualTo("registry.example/saeforge:1.2.3");
        assertThat(trainer(first).getArgs()).containsExactly("train", "--run", "research/qwen3-8b-layer28-mlp", "--grace-period", "290s");
        assertThat(trainer(third).getArgs()).containsExactly("train", "--run", "research/qwen3-8b-layer28-mlp", "--resume", "--grace-period", "290s");
    }

    @Test
    void jobNamesAreDeterministicPerAttempt() throws Exception {
        TrainingRun run = storedSeedRun();

        assertThat(TrainingJobs.desired(run, 1, config()).getMetadata().getName()).isEqualTo("qwen3-8b-layer28-mlp-a1");
        assertThat(TrainingJobs.desired(run, 1, config())).isEqualTo(TrainingJobs.desired(run, 1, config()));
        assertThat(TrainingJobs.desired(run, 2, config()).getMetadata().getName()).isEqualTo("qwen3-8b-layer28-mlp-a2");
    }

    @Test
    void theJobBelongsToItsRunAndIsLabelledWithRunAndAttempt() throws Exception {
        TrainingRun run = storedSeedRun();
        Job job = TrainingJobs.desired(run, 2, config());

        assertThat(job.getMetadata().getOwnerReferences()).singleElement().satisfies(owner -> {
            assertThat(owner.getApiVersion()).isEqualTo("saeforge.dev/v1alpha1");
            assertThat(owner.getKind()).isEqualTo("TrainingRun");
            assertThat(owner.getName()).isEqualTo("qwen3-8b-layer28-mlp");
            assertThat(owner.getUid()).isEqualTo(run.getMetadata().getUid());
            assertThat(owner.getController()).isTrue();
        });
        assertThat(job.getMetadata().getLabels()).containsEntry("saeforge.dev/run", "qwen3-8b-layer28-mlp")
                .containsEntry("saeforge.dev/attempt", "2").containsEntry("app.kubernetes.io/managed-by", "saeforge-operator");
        assertThat(job.getSpec().getTemplate().getMetadata().getLabels()).isEqualTo(job.getMetadata().getLabels());
    }

    @Test
    void theEnvironmentCarriesTelemetryTraceContextAndOnlySecretReferences() throws Exception {
        Map<String, EnvVar> env = env(TrainingJobs.desired(storedSeedRun(), 1, config()));

        assertThat(env.get("QUARKUS_OTEL_EXPORTER_OTLP_ENDPOINT").getValue()).isEqualTo("http://otel-collector.observability:4317");
        assertThat(env.get("QUARKUS_OTEL_SDK_DISABLED").getValue()).isEqualTo("false");
        assertThat(env.get("TRACEPARENT").getValue()).isEqualTo(Fixtures.TRACEPARENT);
        assertThat(env.get("SAEFORGE_ATTEMPT").getValue()).as("the trainer records its attempt in its checkpoints").isEqualTo("1");
        assertThat(env.get("AWS_ENDPOINT_URL").getValue()).isEqualTo("http://minio.minio:9000");
        for (String credential : new String[]{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
            assertThat(env.get(credential).getValue()).isNull();
            assertThat(env.get(credential).getValueFrom().getSecretKeyRef().getName()).isEqualTo("saeforge-s3");
            assertThat(env.get(credential).getValueFrom().getSecretKeyRef().getKey()).isEqualTo(credential);
        }
        assertThat(env.get("HF_TOKEN").getValueFrom().getSecretKeyRef().getName()).isEqualTo("hf-token");
        assertThat(ManifestChecks.secretValues("Job", TrainingJobs.desired(storedSeedRun(), 1, config()).getSpec().getTemplate().getSpec())).isEmpty();
    }

    @Test
    void withoutTelemetryOrTraceContextNothingIsExported() throws Exception {
        TrainingRun run = storedSeedRun();
        run.getSpec().telemetry.otlpEndpoint = null;
        run.getMetadata().getAnnotations().put(TrainingRun.TRACEPARENT_ANNOTATION, "not-a-traceparent");

        Map<String, EnvVar> env = env(TrainingJobs.desired(run, 1, new OperatorConfig()));

        assertThat(env).doesNotContainKeys("QUARKUS_OTEL_SDK_DISABLED", "QUARKUS_OTEL_EXPORTER_OTLP_ENDPOINT", "TRACEPARENT",
                "AWS_ACCESS_KEY_ID", "HF_TOKEN");
        assertThat(TrainingJobs.traceId(run)).isNull();
    }

    @Test
    void theOperatorsOtlpEndpointServesRunsThatNameNone() throws Exception {
        TrainingRun run = storedSeedRun();
        run.getSpec().telemetry.otlpEndpoint = null;
        OperatorConfig config = config();
        config.otlpEndpoint = "http://collector.monitoring:4318";

        assertThat(env(TrainingJobs.desired(run, 1, config)).get("QUARKUS_OTEL_EXPORTER_OTLP_ENDPOINT").getValue())
                .isEqualTo("http://collector.monitoring:4318");
    }

    @Test
    void onePodPerAttemptAndTheFailurePolicySeparatesRetryableFromFatalExits() throws Exception {
        Job job = TrainingJobs.desired(storedSeedRun(), 1, config());

        assertThat(job.getSpec().getBackoffLimit()).isZero();
        assertThat(job.getSpec().getTemplate().getSpec().getRestartPolicy()).isEqualTo("Never");
        var rules = job.getSpec().getPodFailurePolicy().getRules();
        assertThat(rules).extracting(PodFailurePolicyRule::getAction).containsExactly("Count", "Count", "FailJob");
        assertThat(rules.get(0).getOnPodConditions()).extracting("type", "status").containsExactly(tuple("DisruptionTarget", "True"));
        assertThat(rules.get(1).getOnExitCodes().getValues()).containsExactly(ExitCodes.RESUME);
        assertThat(rules.get(2).getOnExitCodes().getValues()).containsExactly(ExitCodes.FAILURE, ExitCodes.INVALID_INPUT);
        assertThat(rules.get(2).getOnExitCodes().getContainerName()).isEqualTo("trainer");
        assertThat(ExitCodes.RESUME).isEqualTo(75);
    }

    @Test
    void cachesAndSharedMemoryAreEmptyDirsSizedAsAsked() throws Exception {
        Job job = TrainingJobs.desired(storedSeedRun(), 1, config());
        Map<String, Volume> volumes = job.getSpec().getTemplate().getSpec().getVolumes().stream()
                .collect(Collectors.toMap(Volume::getName, Function.identity()));

        assertThat(volumes.get("dshm").getEmptyDir().getMedium()).isEqualTo("Memory");
        assertThat(volumes.get("dshm").getEmptyDir().getSizeLimit()).isEqualTo(new Quantity("16Gi"));
        assertThat(volumes.get("cache").getEmptyDir().getSizeLimit()).isEqualTo(new Quantity("200Gi"));
        assertThat(trainer(job).getVolumeMounts()).extracting("name", "mountPath")
                .contains(tuple("dshm", "/dev/shm"), tuple("cache", "/cache"), tuple("tmp", "/tmp"));
        assertThat(env(job).get("HF_HOME").getValue()).startsWith("/cache/");
        assertThat(env(job).get("SAEFORGE_CACHE").getValue()).as("model weights land in the emptyDir").isEqualTo("/cache/saeforge");
    }

    @Test
    void aCheckpointVolumeIsMountedAndTheTrainerWritesInsideIt() throws Exception {
        TrainingRun run = storedSeedRun();
        run.getSpec().checkpoints.uri = "runs";
        run.getSpec().checkpoints.volume = new CheckpointSpec.Volume();
        run.getSpec().checkpoints.volume.claimName = "sae-checkpoints";
        run.getSpec().checkpoints.volume.subPath = "team-a";

        Job job = TrainingJobs.desired(run, 1, config());
        Map<String, String> trainerEnv = env(job).values().stream().filter(e -> e.getValue() != null)
                .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));

        assertThat(job.getSpec().getTemplate().getSpec().getVolumes()).filteredOn(v -> v.getPersistentVolumeClaim() != null)
                .singleElement().satisfies(v -> assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("sae-checkpoints"));
        assertThat(trainer(job).getVolumeMounts()).extracting("mountPath", "subPath").contains(tuple("/checkpoints", "team-a"));
        assertThat(run.getSpec().checkpoints.location(trainerEnv)).isEqualTo("/checkpoints/runs");
        assertThat(run.getSpec().checkpoints.location(Map.of())).as("saeforge train outside a Job").isEqualTo("runs");
        assertThat(ManifestChecks.unknownFields(job)).isEmpty();
    }

    @Test
    void withoutAVolumeNothingIsMountedForCheckpoints() throws Exception {
        Job job = TrainingJobs.desired(storedSeedRun(), 1, config());

        assertThat(job.getSpec().getTemplate().getSpec().getVolumes()).allSatisfy(v -> assertThat(v.getPersistentVolumeClaim()).isNull());
        assertThat(env(job)).doesNotContainKey(CheckpointSpec.MOUNT_VARIABLE);
    }

    @Test
    void aFinishedJobStaysLongEnoughForTheOperatorToSeeItsOutcome() throws Exception {
        Job job = TrainingJobs.desired(storedSeedRun(), 1, config());

        assertThat(job.getSpec().getTtlSecondsAfterFinished()).isEqualTo(7 * 24 * 3600);
    }

    @Test
    void theTrainerRunsAsNonRootWithAReadOnlyRootAndNoEscalation() throws Exception {
        Job job = TrainingJobs.desired(storedSeedRun(), 1, config());

        assertThat(ManifestChecks.insecure("Job", job.getSpec().getTemplate().getSpec())).isEmpty();
        assertThat(ManifestChecks.unknownFields(job)).isEmpty();
        assertThat(job.getSpec().getTemplate().getSpec().getServiceAccountName()).isEqualTo(SEED + "-trainer");
    }

    @Test
    void theCacheJobIsIndexedWithAPodPerIndexAndRetriesPerIndex() throws Exception {
        Job job = TrainingJobs.desiredCache(Fixtures.storedCachedSeedRun(8), config());

        assertThat(job.getMetadata().getName()).isEqualTo(SEED + "-cache");
        assertThat(job.getSpec().getCompletionMode()).isEqualTo("Indexed");
        assertThat(job.getSpec().getCompletions()).isEqualTo(8);
        assertThat(job.getSpec().getParallelism()).isEqualTo(8);
        assertThat(job.getSpec().getBackoffLimitPerIndex()).isEqualTo(TrainingJobs.CACHE_RETRIES_PER_INDEX).isEqualTo(3);
        assertThat(job.getSpec().getBackoffLimit()).as("per-index backoff replaces the Job-wide limit").isNull();
        assertThat(job.getSpec().getMaxFailedIndexes()).as("the other indexes finish when one is lost").isNull();
        assertThat(trainer(job).getArgs()).containsExactly("cache", "build", "--run", "research/" + SEED, "--index",
                "$(JOB_COMPLETION_INDEX)", "--of", "8");
        assertThat(job.getSpec().getTtlSecondsAfterFinished()).isEqualTo(7 * 24 * 3600);
        assertThat(ManifestChecks.unknownFields(job)).isEmpty();
    }

    @Test
    void aDisruptedCachePodUsesNoRetryAndARefusedSpecFailsItsIndexAtOnce() throws Exception {
        var rules = TrainingJobs.desiredCache(Fixtures.storedCachedSeedRun(4), config()).getSpec().getPodFailurePolicy().getRules();

        assertThat(rules).extracting(PodFailurePolicyRule::getAction).containsExactly("Ignore", "FailIndex");
        assertThat(rules.get(0).getOnPodConditions()).extracting("type", "status").containsExactly(tuple("DisruptionTarget", "True"));
        assertThat(rules.get(1).getOnExitCodes().getValues()).containsExactly(ExitCodes.INVALID_INPUT);
        assertThat(rules.get(1).getOnExitCodes().getContainerName()).isEqualTo("trainer");
    }

    @Test
    void cachePodsAreTheTrainersPodsButForTheirCommandAndAttempt() throws Exception {
        TrainingRun run = Fixtures.storedCachedSeedRun(4);
        run.getSpec().checkpoints.uri = "runs";
        run.getSpec().checkpoints.volume = new CheckpointSpec.Volume();
        run.getSpec().checkpoints.volume.claimName = "sae-checkpoints";
        Job cache = TrainingJobs.desiredCache(run, config());
        Job training = TrainingJobs.desired(run, 1, config());
        PodSpec cachePod = cache.getSpec().getTemplate().getSpec();
        PodSpec trainingPod = training.getSpec().getTemplate().getSpec();

        assertThat(cachePod.getServiceAccountName()).isEqualTo(trainingPod.getServiceAccountName());
        assertThat(cachePod.getVolumes()).isEqualTo(trainingPod.getVolumes());
        assertThat(cachePod.getNodeSelector()).isEqualTo(trainingPod.getNodeSelector());
        assertThat(cachePod.getSecurityContext()).isEqualTo(trainingPod.getSecurityContext());
        assertThat(trainer(cache).getImage()).isEqualTo(trainer(training).getImage());
        assertThat(trainer(cache).getResources()).isEqualTo(trainer(training).getResources());
        assertThat(trainer(cache).getVolumeMounts()).isEqualTo(trainer(training).getVolumeMounts());
        Map<String, EnvVar> cacheEnv = env(cache);
        Map<String, EnvVar> trainingEnv = env(training);
        assertThat(cacheEnv).doesNotContainKey("SAEFORGE_ATTEMPT");
        for (String name : new String[]{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "HF_TOKEN", "HF_HOME",
                CheckpointSpec.MOUNT_VARIABLE, "TRACEPARENT"}) {
            assertThat(cacheEnv.get(name)).as(name).isEqualTo(trainingEnv.get(name));
        }
        assertThat(ManifestChecks.insecure("Job", cachePod)).isEmpty();
    }

    @Test
    void theCacheJobBelongsToItsRunAndNoAttemptsPodQueryFindsItsPods() throws Exception {
        TrainingRun run = Fixtures.storedCachedSeedRun(4);
        Job job = TrainingJobs.desiredCache(run, config());

        assertThat(job.getMetadata().getOwnerReferences()).singleElement().satisfies(owner -> {
            assertThat(owner.getUid()).isEqualTo(run.getMetadata().getUid());
            assertThat(owner.getController()).isTrue();
        });
        assertThat(job.getMetadata().getLabels()).containsEntry("saeforge.dev/run", SEED).containsEntry("app.kubernetes.io/component", "cache")
                .containsEntry("app.kubernetes.io/managed-by", "saeforge-operator").doesNotContainKey("saeforge.dev/attempt");
        assertThat(job.getSpec().getTemplate().getMetadata().getLabels()).isEqualTo(job.getMetadata().getLabels());
    }

    @Test
    void theTrainersGracePeriodLeavesTenSecondsOfThePodsForTheExit() {
        assertThat(TrainingJobs.trainerGraceSeconds(300)).isEqualTo(290);
        assertThat(TrainingJobs.trainerGraceSeconds(30)).isEqualTo(20);
        assertThat(TrainingJobs.trainerGraceSeconds(5)).isEqualTo(1);
    }
}
