package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.operator.Controller;
import dev.saeforge.operator.HealthServer;
import dev.saeforge.operator.Operator;
import dev.saeforge.operator.OperatorConfig;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Vertx;
import jakarta.inject.Inject;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** The operator mode of the binary: what the Deployment in k8s/ and the Helm chart run. */
@Command(name = "operator",
        description = {"Run the operator: turn TrainingRuns into Jobs and keep their status true.",
                "Replicas elect a leader on a Lease; only the leader reconciles. Watches the current namespace unless",
                "--config, -n or -A say otherwise."})
public class OperatorCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "Operator configuration (YAML): image, namespaces, S3, OTel, GPU defaults.")
    Path configFile;

    @Option(names = {"-n", "--namespace"}, split = ",", paramLabel = "NAMESPACE", description = "Watch these namespaces (repeat or comma-separate).")
    List<String> namespaces;

    @Option(names = {"-A", "--all-namespaces"}, description = "Watch every namespace.")
    boolean allNamespaces;

    @Option(names = "--image", paramLabel = "IMAGE", description = "Trainer image, instead of the configuration's.")
    String image;

    @Option(names = "--health-port", paramLabel = "PORT", defaultValue = "8081",
            description = "Port of /healthz and /readyz (default ${DEFAULT-VALUE}); 0 picks a free one, -1 serves none.")
    int healthPort;

    @Option(names = "--identity", paramLabel = "ID", description = "Name in the leader lease; default: $POD_NAME, else host name and a random suffix.")
    String identity;

    @Inject
    KubernetesClient client;

    @Inject
    Vertx vertx;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = command.commandLine().getErr();
        if (allNamespaces && namespaces != null) {
            err.println("error: use either -n or -A, not both");
            err.flush();
            return ExitCodes.INVALID_INPUT;
        }
        OperatorConfig config;
        try {
            config = configFile == null ? new OperatorConfig() : OperatorConfig.read(configFile);
        } catch (IOException e) {
            err.println("error: " + e.getMessage());
            err.flush();
            return ExitCodes.INVALID_INPUT;
        }
        String current = client.getNamespace() == null ? "default" : client.getNamespace();
        if (allNamespaces) {
            config.namespaces = List.of();
        } else if (namespaces != null) {
            config.namespaces = List.copyOf(namespaces);
        } else if (configFile == null) {
            config.namespaces = List.of(current);
        }
        if (image != null) {
            config.image = image;
        }
        List<String> problems = config.problems();
        if (!problems.isEmpty()) {
            problems.forEach(problem -> err.println("error: " + problem));
            err.flush();
            return ExitCodes.INVALID_INPUT;
        }
        String leaseNamespace = firstGiven(config.lease.namespace, System.getenv("POD_NAMESPACE"), current);
        String id = firstGiven(identity, System.getenv("POD_NAME"), InetAddress.getLocalHost().getHostName() + "-" + UUID.randomUUID().toString().substring(0, 8));

        Operator operator = new Operator(client, config, id, leaseNamespace, Controller.Settings.defaults(), Operator.Timing.defaults(),
                Clock.systemUTC());
        CompletableFuture<?> election = operator.start();
        HealthServer health = healthPort < 0 ? null : HealthServer.start(vertx, healthPort, operator::isHealthy, operator::isReady);
        Thread stop = new Thread(operator::close, "saeforge-operator-stop");
        Runtime.getRuntime().addShutdownHook(stop);
        err.println("saeforge operator " + id + ": watching " + (config.namespaces.isEmpty() ? "every namespace" : String.join(", ", config.namespaces))
                + ", lease " + leaseNamespace + "/" + config.lease.name + (health == null ? "" : ", health on port " + health.port()));
        err.flush();
        try {
            election.get();
        } catch (java.util.concurrent.CancellationException | ExecutionException e) {
            // cancelled by the shutdown hook, or the election failed: both end the operator
        } catch (InterruptedException e) {
            // stopped from within the process: leave the election as on a signal
            operator.close();
            Runtime.getRuntime().removeShutdownHook(stop);
            return ExitCodes.OK;
        } finally {
            if (health != null) {
                health.close();
            }
        }
        // Leadership ends only by losing the lease or by a signal; a lost lease restarts the pod as a standby.
        boolean stopping = isShuttingDown(stop);
        if (!stopping) {
            err.println("saeforge operator " + id + ": no longer leads (the lease was lost, or the controller failed: see above); exiting so that this replica restarts as a standby");
            err.flush();
            return ExitCodes.FAILURE;
        }
        return ExitCodes.OK;
    }

    /** A shutdown hook can be removed only before shutdown has begun. */
    private static boolean isShuttingDown(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }

    private static String firstGiven(String... values) {
        for (String value : values) {
            if (value != null && !value.isBlank()) {
                return value;
            }
        }
        throw new IllegalArgumentException("no value");
    }
}
