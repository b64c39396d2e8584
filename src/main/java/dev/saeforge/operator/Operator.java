package dev.saeforge.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The operator mode: every replica competes for a coordination.k8s.io Lease, and only the holder
 * runs the {@link Controller}. A replica that loses the lease stops reconciling at once; the
 * future returned by {@link #start()} then completes, and saeforge operator exits so that the
 * Deployment restarts it as a standby (as controller-runtime does), never as a second leader.
 */
public final class Operator implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Operator.class);

    /** Lease timing: how long a lease lasts unrenewed, how long a leader keeps trying to renew, how often. */
    public record Timing(Duration leaseDuration, Duration renewDeadline, Duration retryPeriod) {
        public static Timing defaults() {
            return new Timing(Duration.ofSeconds(15), Duration.ofSeconds(10), Duration.ofSeconds(2));
        }
    }

    private final KubernetesClient client;
    private final OperatorConfig config;
    private final String identity;
    private final String leaseNamespace;
    private final Controller.Settings settings;
    private final Timing timing;
    private final Clock clock;
    private volatile Controller controller;
    private volatile boolean leading;
    private volatile CompletableFuture<?> election;

    public Operator(KubernetesClient client, OperatorConfig config, String identity, String leaseNamespace,
                    Controller.Settings settings, Timing timing, Clock clock) {
        this.client = client;
        this.config = config;
        this.identity = identity;
        this.leaseNamespace = leaseNamespace;
        this.settings = settings;
        this.timing = timing;
        this.clock = clock;
    }

    /** Joins the election; the future completes when this replica stops leading or is closed. */
    public synchronized CompletableFuture<?> start() {
        election = client.leaderElector()
                .withConfig(new LeaderElectionConfigBuilder()
                        .withName(config.lease.name)
                        .withLock(new LeaseLock(leaseNamespace, config.lease.name, identity))
                        .withLeaseDuration(timing.leaseDuration())
                        .withRenewDeadline(timing.renewDeadline())
                        .withRetryPeriod(timing.retryPeriod())
                        .withReleaseOnCancel(true)
                        .withLeaderCallbacks(new LeaderCallbacks(this::startLeading, this::stopLeading,
                                leader -> LOG.infof("leader of %s/%s is now %s", leaseNamespace, config.lease.name, leader)))
                        .build())
                .build()
                .start();
        return election;
    }

    public boolean isLeader() {
        return leading;
    }

    /** Alive: in the election, and when leading, with its controller starting or running. */
    public boolean isHealthy() {
        CompletableFuture<?> running = election;
        if (running == null || running.isDone()) {
            return false;
        }
        Controller current = controller;
        return !leading || current == null || current.isRunning();
    }

    /** Ready: standing by, or leading with the caches synced and the workers started. */
    public boolean isReady() {
        Controller current = controller;
        return isHealthy() && (!leading || current != null);
    }

    private void startLeading() {
        LOG.infof("%s leads; starting the controller", identity);
        Controller started = new Controller(client, config, settings, new RunEvents(client, identity, clock), clock, this::isLeader);
        leading = true;
        try {
            started.start();
            controller = started;
        } catch (Exception e) {
            LOG.errorf(e, "the controller did not start");
            started.close();
            close();
        }
    }

    private synchronized void stopLeading() {
        leading = false;
        Controller current = controller;
        controller = null;
        if (current != null) {
            LOG.infof("%s no longer leads; stopping the controller", identity);
            current.close();
        }
    }

    /** Stops the controller and leaves the election, releasing the lease (fabric8 marks it as expiring in a second). */
    @Override
    public void close() {
        CompletableFuture<?> running = election;
        if (running != null) {
            running.cancel(true);
        }
        stopLeading();
    }
}
