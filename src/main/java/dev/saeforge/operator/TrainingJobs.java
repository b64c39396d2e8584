package dev.saeforge.operator;

import dev.saeforge.api.CheckpointSpec;
import dev.saeforge.api.ResourceSpec;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TelemetrySpec;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.ExitCodes;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicy;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicyBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicyRule;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicyRuleBuilder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The Job of one attempt of a TrainingRun, as a pure function of the run, the attempt number and
 * the operator's configuration. One attempt is one Job with one pod that is never retried inside
 * the Job: the operator decides about retries, so that every new attempt is a new Job that resumes
 * from the last checkpoint and is counted against spec.maxRestarts or spec.maxPreemptions.
 */
public final class TrainingJobs {
    public static final String CONTAINER = "trainer";
    public static final String GPU_RESOURCE = "nvidia.com/gpu";
    /** Node label the NVIDIA GPU feature discovery sets to the GPU model, e.g. NVIDIA-A100-SXM4-80GB. */
    public static final String GPU_PRODUCT_LABEL = "nvidia.com/gpu.product";
    public static final String RUN_LABEL = TrainingRun.GROUP + "/run";
    public static final String ATTEMPT_LABEL = TrainingRun.GROUP + "/attempt";
    public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
    public static final String MANAGED_BY = "saeforge-operator";
    /** Job condition reason when a FailJob rule of the pod failure policy matched: a fatal exit. */
    public static final String FATAL_FAILURE_REASON = "PodFailurePolicy";
    /** Pod condition the kubelet, scheduler and eviction API set when they stop a pod (preemption, drain). */
    public static final String DISRUPTION_CONDITION = "DisruptionTarget";
    public static final String CACHE_DIR = "/cache";
    /**
     * How long a finished Job (and its pod's logs) stays: a week, so that the operator sees its
     * outcome even after a long outage; a Job gone before that is still judged by the trainer's
     * final checkpoint in the run's status ({@link Attempt}).
     */
    public static final int FINISHED_JOB_TTL_SECONDS = 7 * 24 * 3600;
    private static final String CHECKPOINTS_VOLUME = "checkpoints";
    /** Retries of one index of the cache Job: a crash or an unreachable store now and then, not a writer that always fails. */
    public static final int CACHE_RETRIES_PER_INDEX = 3;
    /** The variable Kubernetes sets in each pod of an Indexed Job to the pod's index. */
    public static final String COMPLETION_INDEX_VARIABLE = "JOB_COMPLETION_INDEX";

    private static final Pattern TRACEPARENT = Pattern.compile("^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$");

    private TrainingJobs() {
    }

    /** Job names are deterministic, so that an attempt can never get two Jobs. */
    public static String name(TrainingRun run, int attempt) {
        return run.getMetadata().getName() + "-a" + attempt;
    }

    /** NAMESPACE/NAME: how the trainer is told which run it trains. */
    public static String runReference(TrainingRun run) {
        return run.getMetadata().getNamespace() + "/" + run.getMetadata().getName();
    }

    /** The trace id of the run's traceparent annotation, or null when it has none that is valid. */
    public static String traceId(TrainingRun run) {
        String traceparent = traceparent(run);
        if (traceparent == null) {
            return null;
        }
        java.util.regex.Matcher matcher = TRACEPARENT.matcher(traceparent);
        return matcher.matches() ? matcher.group(1) : null;
    }

    private static String traceparent(TrainingRun run) {
        Map<String, String> annotations = run.getMetadata().getAnnotations();
        String value = annotations == null ? null : annotations.get(TrainingRun.TRACEPARENT_ANNOTATION);
        return value != null && TRACEPARENT.matcher(value).matches() ? value : null;
    }

    /** Labels of the Job and its pod: the run and attempt they belong to, and who manages them. */
    public static Map<String, String> labels(TrainingRun run, int attempt) {
        Map<String, String> labels = labels(run, "trainer");
        labels.put(ATTEMPT_LABEL, Integer.toString(attempt));
        return labels;
    }

    /**
     * Labels of the cache Job and its pods: the run they belong to, without an attempt, so that no
     * query for an attempt's pods finds them.
     */
    public static Map<String, String> cacheLabels(TrainingRun run) {
        return labels(run, "cache");
    }

    private static Map<String, String> labels(TrainingRun run, String component) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("app.kubernetes.io/name", "saeforge");
        labels.put("app.kubernetes.io/component", component);
        labels.put("app.kubernetes.io/instance", run.getMetadata().getName());
        labels.put(MANAGED_BY_LABEL, MANAGED_BY);
        labels.put(RUN_LABEL, run.getMetadata().getName());
        return labels;
    }

    /** The cache Job's name: one per run, as the cache is generated once before the first attempt. */
    public static String cacheName(TrainingRun run) {
        return run.getMetadata().getName() + "-cache";
    }

    /** Whether the run generates its activation cache in an Indexed Job before it trains. */
    public static boolean buildsCacheFirst(TrainingRun run) {
        return run.getSpec().activations != null && run.getSpec().activations.parallelism != null
                && run.getSpec().activations.cache != null;
    }

    /** The controller reference that ties the Job to its run: deleting the run deletes its Jobs. */
    public static OwnerReference ownerReference(TrainingRun run) {
        return new OwnerReferenceBuilder()
                .withApiVersion(TrainingRun.API_VERSION)
                .withKind(TrainingRun.KIND)
                .withName(run.getMetadata().getName())
                .withUid(run.getMetadata().getUid())
                .withController(true)
                .withBlockOwnerDeletion(true)
                .build();
    }

    /** The Job for attempt {@code attempt} (1 is the first; later ones resume from the last checkpoint). */
    public static Job desired(TrainingRun run, int attempt, OperatorConfig config) {
        Map<String, String> labels = labels(run, attempt);
        List<String> args = new ArrayList<>(List.of("train", "--run", runReference(run)));
        if (attempt > 1) {
            args.add("--resume");
        }
        // The trainer checkpoints on SIGTERM within its own grace period; leave it the pod's, less
        // time to flush telemetry and exit before the kubelet's SIGKILL.
        args.addAll(List.of("--grace-period", trainerGraceSeconds(config.terminationGracePeriodSeconds) + "s"));
        return job(run, name(run, attempt), labels, podSpec(run, attempt, args, config))
                .editSpec()
                // No retries inside the Job: a failed pod fails the Job and the operator decides.
                .withBackoffLimit(0)
                .withPodFailurePolicy(podFailurePolicy())
                .endSpec()
                .build();
    }

    /** A Job of the run, owned by it, its pods labelled as the Job, kept a while after it finished. */
    private static JobBuilder job(TrainingRun run, String name, Map<String, String> labels, PodSpec pod) {
        return new JobBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(run.getMetadata().getNamespace())
                .withLabels(labels)
                .withOwnerReferences(ownerReference(run))
                .endMetadata()
                .withNewSpec()
                .withTtlSecondsAfterFinished(FINISHED_JOB_TTL_SECONDS)
                .withNewTemplate()
                .withNewMetadata().withLabels(labels).endMetadata()
                .withSpec(pod)
                .endTemplate()
                .endSpec();
    }

    /**
     * The Indexed Job that generates the run's activation cache: spec.activations.parallelism pods
     * at once, pod i writing index i of N ({@code saeforge cache build --index i --of N}). The pods
     * are the trainer's (image, resources, volumes, credentials, service account), so whatever
     * reaches the model, the dataset and the cache in training reaches them here. Kubernetes retries
     * a failed index alone, up to {@link #CACHE_RETRIES_PER_INDEX} times; indexes that succeeded stay
     * done. maxFailedIndexes is unset: the other indexes finish even when one is lost, so that their
     * shards are in the cache for the run that is submitted again.
     */
    public static Job desiredCache(TrainingRun run, OperatorConfig config) {
        int indexes = run.getSpec().activations.parallelism;
        List<String> args = List.of("cache", "build", "--run", runReference(run), "--index", "$(" + COMPLETION_INDEX_VARIABLE + ")",
                "--of", Integer.toString(indexes));
        return job(run, cacheName(run), cacheLabels(run), podSpec(run, null, args, config))
                .editSpec()
                .withCompletionMode("Indexed")
                .withCompletions(indexes)
                .withParallelism(indexes)
                .withBackoffLimitPerIndex(CACHE_RETRIES_PER_INDEX)
                .withPodFailurePolicy(cachePodFailurePolicy())
                .endSpec()
                .build();
    }

    /**
     * Which failures of a cache pod use up its index's retries: a pod stopped by preemption,
     * eviction or a drain does not (Ignore: the index simply runs again); exit 2, a spec or input
     * the writer refuses, fails the index at once, as a retry would refuse it again; any other
     * failure (a crash, an OOM kill, an unreachable store) counts against backoffLimitPerIndex.
     */
    static PodFailurePolicy cachePodFailurePolicy() {
        return new PodFailurePolicyBuilder()
                .addToRules(disruptionRule("Ignore"), exitRule("FailIndex", ExitCodes.INVALID_INPUT))
                .build();
    }

    /**
     * Which pod failures are worth another attempt. A pod stopped by preemption, eviction or a node
     * drain, or a trainer that exits with 75 after checkpointing, fails the Job with reason
     * BackoffLimitExceeded: the operator starts a new attempt. Exit 2 (invalid spec or input) and
     * 1 (failure) fail it with reason PodFailurePolicy: the operator marks the run Failed. Any
     * other exit (an OOM kill, a crash) counts as retryable, bounded by spec.maxRestarts. The
     * disruption rule comes first because a stopped trainer may exit with any code.
     */
    static PodFailurePolicy podFailurePolicy() {
        return new PodFailurePolicyBuilder()
                .addToRules(disruptionRule("Count"), exitRule("Count", ExitCodes.RESUME),
                        exitRule("FailJob", ExitCodes.FAILURE, ExitCodes.INVALID_INPUT))
                .build();
    }

    /** A rule for pods the cluster stopped (preemption, eviction, a drain): they carry the DisruptionTarget condition. */
    private static PodFailurePolicyRule disruptionRule(String action) {
        return new PodFailurePolicyRuleBuilder().withAction(action)
                .addNewOnPodCondition().withType(DISRUPTION_CONDITION).withStatus("True").endOnPodCondition()
                .build();
    }

    /** A rule for the container's exit with one of {@code codes}. */
    private static PodFailurePolicyRule exitRule(String action, Integer... codes) {
        return new PodFailurePolicyRuleBuilder().withAction(action)
                .withNewOnExitCodes().withContainerName(CONTAINER).withOperator("In").withValues(codes).endOnExitCodes()
                .build();
    }

    /** @param attempt the training attempt the pod is, or null for a cache pod */
    private static PodSpec podSpec(TrainingRun run, Integer attempt, List<String> args, OperatorConfig config) {
        ResourceSpec resources = run.getSpec().resources;
        boolean gpus = resources.gpus > 0;
        PodSpecBuilder pod = new PodSpecBuilder()
                .withRestartPolicy("Never")
                .withServiceAccountName(TrainerAccess.name(run))
                .withAutomountServiceAccountToken(true)
                .withTerminationGracePeriodSeconds(config.terminationGracePeriodSeconds)
                .withNewSecurityContext()
                .withRunAsNonRoot(true)
                .withRunAsUser(config.runAsUser)
                .withRunAsGroup(config.runAsUser)
                .withFsGroup(config.runAsUser)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                .endSecurityContext()
                .withContainers(container(run, attempt, args, config))
                .addToVolumes(new VolumeBuilder().withName("cache")
                        .withNewEmptyDir().withSizeLimit(config.cacheSize).endEmptyDir().build())
                .addToVolumes(new VolumeBuilder().withName("dshm")
                        .withNewEmptyDir().withMedium("Memory").withSizeLimit(resources.sharedMemory).endEmptyDir().build())
                .addToVolumes(new VolumeBuilder().withName("tmp").withNewEmptyDir().endEmptyDir().build());
        CheckpointSpec.Volume checkpoints = run.getSpec().checkpoints.volume;
        if (checkpoints != null) {
            pod.addToVolumes(new VolumeBuilder().withName(CHECKPOINTS_VOLUME)
                    .withNewPersistentVolumeClaim().withClaimName(checkpoints.claimName).endPersistentVolumeClaim().build());
        }
        if (gpus) {
            pod.withNodeSelector(Map.of(GPU_PRODUCT_LABEL, resources.gpuProduct));
            pod.withTolerations(config.gpuTolerations);
        }
        if (OperatorConfig.given(config.priorityClassName)) {
            pod.withPriorityClassName(config.priorityClassName);
        }
        for (String secret : config.imagePullSecrets) {
            pod.addToImagePullSecrets(new LocalObjectReference(secret));
        }
        return pod.build();
    }

    private static Container container(TrainingRun run, Integer attempt, List<String> args, OperatorConfig config) {
        ResourceSpec resources = run.getSpec().resources;
        Map<String, Quantity> requests = new LinkedHashMap<>();
        Map<String, Quantity> limits = new LinkedHashMap<>();
        requests.put("cpu", resources.cpu);
        requests.put("memory", resources.memory);
        // No CPU limit (throttling a data loader starves the GPU); memory is limited to what is asked,
        // and /dev/shm, being memory, counts against it.
        limits.put("memory", resources.memory);
        if (resources.gpus > 0) {
            requests.put(GPU_RESOURCE, new Quantity(Integer.toString(resources.gpus)));
            limits.put(GPU_RESOURCE, new Quantity(Integer.toString(resources.gpus)));
        }
        ContainerBuilder container = new ContainerBuilder()
                .withName(CONTAINER)
                .withImage(config.image)
                .withImagePullPolicy(config.imagePullPolicy)
                .withArgs(args)
                .withEnv(env(run, attempt, config))
                .withResources(new ResourceRequirementsBuilder().withRequests(requests).withLimits(limits).build())
                .withNewSecurityContext()
                .withAllowPrivilegeEscalation(false)
                .withReadOnlyRootFilesystem(true)
                .withRunAsNonRoot(true)
                .withNewCapabilities().withDrop("ALL").endCapabilities()
                .endSecurityContext()
                .addToVolumeMounts(new VolumeMountBuilder().withName("cache").withMountPath(CACHE_DIR).build())
                .addToVolumeMounts(new VolumeMountBuilder().withName("dshm").withMountPath("/dev/shm").build())
                .addToVolumeMounts(new VolumeMountBuilder().withName("tmp").withMountPath("/tmp").build());
        CheckpointSpec.Volume checkpoints = run.getSpec().checkpoints.volume;
        if (checkpoints != null) {
            container.addToVolumeMounts(new VolumeMountBuilder().withName(CHECKPOINTS_VOLUME).withMountPath(CheckpointSpec.MOUNT_PATH)
                    .withSubPath(checkpoints.subPath).build());
            container.addToEnv(value(CheckpointSpec.MOUNT_VARIABLE, CheckpointSpec.MOUNT_PATH));
        }
        return container.build();
    }

    /** The pod's termination grace period less 10 s for the exit itself, at least 1 s. */
    static long trainerGraceSeconds(long terminationGracePeriodSeconds) {
        return Math.max(1, terminationGracePeriodSeconds - 10);
    }

    /** Plain values for what is public; Secret references, never values, for credentials. */
    private static List<EnvVar> env(TrainingRun run, Integer attempt, OperatorConfig config) {
        List<EnvVar> env = new ArrayList<>();
        env.add(fieldRef("POD_NAME", "metadata.name"));
        env.add(fieldRef("POD_NAMESPACE", "metadata.namespace"));
        if (attempt != null) {
            // Which attempt the trainer is: its checkpoints record it (RunIdentity.ATTEMPT_VARIABLE).
            env.add(value(RunIdentity.ATTEMPT_VARIABLE, String.valueOf(attempt)));
        }
        // The root filesystem is read-only: every cache goes to the emptyDir.
        env.add(value("HOME", CACHE_DIR + "/home"));
        env.add(value("XDG_CACHE_HOME", CACHE_DIR));
        env.add(value("SAEFORGE_CACHE", CACHE_DIR + "/saeforge"));
        env.add(value("HF_HOME", CACHE_DIR + "/huggingface"));
        env.add(value("DJL_CACHE_DIR", CACHE_DIR + "/djl"));
        env.add(value("ENGINE_CACHE_DIR", CACHE_DIR + "/djl"));
        TelemetrySpec telemetry = run.getSpec().telemetry;
        String endpoint = telemetry != null && OperatorConfig.given(telemetry.otlpEndpoint) ? telemetry.otlpEndpoint
                : OperatorConfig.given(config.otlpEndpoint) ? config.otlpEndpoint : null;
        if (endpoint != null) {
            env.add(value("QUARKUS_OTEL_SDK_DISABLED", "false"));
            env.add(value("QUARKUS_OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
            String protocol = telemetry != null && telemetry.otlpProtocol == TelemetrySpec.OtlpProtocol.HTTP_PROTOBUF
                    ? "http/protobuf" : "grpc";
            env.add(value("QUARKUS_OTEL_EXPORTER_OTLP_PROTOCOL", protocol));
            env.add(value("QUARKUS_OTEL_RESOURCE_ATTRIBUTES", "saeforge.run=" + runReference(run)
                    + (attempt == null ? ",saeforge.component=cache" : ",saeforge.attempt=" + attempt) + ",k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)"));
        }
        String traceparent = traceparent(run);
        if (traceparent != null) {
            env.add(value("TRACEPARENT", traceparent));
        }
        if (OperatorConfig.given(config.s3.endpoint)) {
            env.add(value("AWS_ENDPOINT_URL", config.s3.endpoint));
        }
        if (OperatorConfig.given(config.s3.credentialsSecret)) {
            env.add(secretRef("AWS_ACCESS_KEY_ID", config.s3.credentialsSecret));
            env.add(secretRef("AWS_SECRET_ACCESS_KEY", config.s3.credentialsSecret));
        }
        if (OperatorConfig.given(config.huggingFaceTokenSecret)) {
            env.add(secretRef("HF_TOKEN", config.huggingFaceTokenSecret));
        }
        return env;
    }

    private static EnvVar value(String name, String value) {
        return new EnvVarBuilder().withName(name).withValue(value).build();
    }

    private static EnvVar fieldRef(String name, String path) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewFieldRef().withFieldPath(path).endFieldRef()
                .endValueFrom().build();
    }

    /** The key in the Secret has the variable's name, so one Secret serves envFrom users too. */
    private static EnvVar secretRef(String name, String secret) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewSecretKeyRef().withName(secret).withKey(name)
                .endSecretKeyRef().endValueFrom().build();
    }
}
