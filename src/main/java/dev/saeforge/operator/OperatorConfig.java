package dev.saeforge.operator;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.saeforge.api.Mappers;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * How the operator builds training Jobs: what the cluster administrator decides, as opposed to
 * what a researcher writes in a TrainingRun. Read from a YAML file (the Helm chart renders it into
 * a ConfigMap); every field has a default, unknown fields are refused.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"image", "imagePullPolicy", "imagePullSecrets", "namespaces", "otlpEndpoint",
        "s3", "huggingFaceTokenSecret", "gpuTolerations", "priorityClassName", "cacheSize", "runAsUser",
        "terminationGracePeriodSeconds", "lease"})
public class OperatorConfig {
    private static final Pattern DNS_LABEL = Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");
    private static final Pattern OTLP_ENDPOINT = Pattern.compile("^https?://[^\\s/]+(/\\S*)?$");

    /** Trainer image; {@code saeforge train --run NAMESPACE/NAME} is its command line. */
    public String image = "ghcr.io/saeforge/saeforge:0.1.0";
    public String imagePullPolicy = "IfNotPresent";
    public List<String> imagePullSecrets = new ArrayList<>();
    /** Namespaces whose TrainingRuns this operator runs; empty means every namespace. */
    public List<String> namespaces = new ArrayList<>();
    /** OTLP collector for runs whose spec.telemetry names none; unset exports nothing. */
    public String otlpEndpoint;
    public S3 s3 = new S3();
    /** Secret with key HF_TOKEN for gated Hugging Face models and datasets; unset passes none. */
    public String huggingFaceTokenSecret;
    /** Tolerations added to pods that request GPUs, for the taints GPU nodes usually carry. */
    public List<Toleration> gpuTolerations = new ArrayList<>(List.of(new TolerationBuilder()
            .withKey(TrainingJobs.GPU_RESOURCE).withOperator("Exists").withEffect("NoSchedule").build()));
    /** Priority class of training pods, which decides who preempts whom; unset uses the cluster default. */
    public String priorityClassName;
    /** Size limit of the emptyDir the trainer caches models, datasets and libtorch in. */
    public Quantity cacheSize = new Quantity("200Gi");
    /** Numeric user the trainer runs as (the pods run as non-root with a read-only root filesystem). */
    public long runAsUser = 1000;
    /** Time between SIGTERM and SIGKILL: the trainer writes a checkpoint in it before exiting with 75. */
    public long terminationGracePeriodSeconds = 300;
    public Lease lease = new Lease();

    /** Object storage for checkpoints and datasets on s3:// URIs (MinIO or any S3-protocol server). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"endpoint", "credentialsSecret"})
    public static class S3 {
        /** Endpoint URL, e.g. http://minio.minio:9000; unset means AWS S3. */
        public String endpoint;
        /** Secret with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; unset passes no credentials. */
        public String credentialsSecret;
    }

    /** The coordination.k8s.io Lease that elects one active replica. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"name", "namespace"})
    public static class Lease {
        public String name = "saeforge-operator";
        /** Defaults to the operator's own namespace (POD_NAMESPACE), else the client's namespace. */
        public String namespace;
    }

    /** The configuration in {@code file}, or a message naming the file and the field that is wrong. */
    public static OperatorConfig read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new java.io.FileNotFoundException(file + ": no such file");
        }
        return parse(Files.readString(file), file.toString());
    }

    public static OperatorConfig parse(String yaml, String source) throws IOException {
        OperatorConfig config;
        try {
            config = yaml.isBlank() ? new OperatorConfig() : Mappers.yaml().readValue(yaml, OperatorConfig.class);
        } catch (JsonProcessingException e) {
            throw new IOException(source + ": " + e.getOriginalMessage(), e);
        }
        List<String> problems = config.problems();
        if (!problems.isEmpty()) {
            throw new IOException(source + ": " + String.join("; ", problems));
        }
        return config;
    }

    /** What is wrong with this configuration, one message per field. */
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        if (image == null || image.isBlank()) {
            problems.add("image: is required");
        }
        if (!List.of("Always", "IfNotPresent", "Never").contains(imagePullPolicy)) {
            problems.add("imagePullPolicy: \"" + imagePullPolicy + "\" is not one of Always, IfNotPresent, Never");
        }
        for (String namespace : namespaces) {
            if (namespace == null || !DNS_LABEL.matcher(namespace).matches()) {
                problems.add("namespaces: \"" + namespace + "\" is not a namespace name");
            }
        }
        if (given(otlpEndpoint) && !OTLP_ENDPOINT.matcher(otlpEndpoint).matches()) {
            problems.add("otlpEndpoint: \"" + otlpEndpoint + "\" is not an OTLP endpoint; expected http(s)://HOST:PORT");
        }
        if (terminationGracePeriodSeconds < 0) {
            problems.add("terminationGracePeriodSeconds: must be >= 0, got " + terminationGracePeriodSeconds);
        }
        if (runAsUser <= 0) {
            problems.add("runAsUser: must be a non-root user id (> 0), got " + runAsUser);
        }
        return problems;
    }

    /** Optional strings left empty (as Helm values often are) mean unset. */
    static boolean given(String value) {
        return value != null && !value.isBlank();
    }

    public String toYaml() {
        try {
            return Mappers.yaml().writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
