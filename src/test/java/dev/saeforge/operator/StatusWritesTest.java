package dev.saeforge.operator;

import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.util.List;

import static dev.saeforge.operator.Fixtures.NAMESPACE;
import static dev.saeforge.operator.Fixtures.SEED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Status writes against an API server: each is conditional on the run as read, so a writer that
 * decided on an old read (a stalled former leader) never regresses what was written since, and
 * only the leader writes at all.
 */
class StatusWritesTest extends SeedRunOnApiServer {
    static TrainingRunStatus attempt(int attempts, int restarts) {
        TrainingRunStatus status = new TrainingRunStatus();
        status.phase = TrainingRunStatus.Phase.Pending;
        status.attempts = attempts;
        status.restarts = restarts;
        status.jobName = SEED + "-a" + attempts;
        return status;
    }

    /** A reconciler of a replica that leads, or not, with no informer cache behind it. */
    Reconciler reconciler(boolean leading) {
        Reconciler.Cache none = new Reconciler.Cache() {
            @Override
            public Job job(String namespace, String name) {
                return null;
            }

            @Override
            public List<Pod> pods(String namespace, String run, int attempt) {
                return List.of();
            }
        };
        return new Reconciler(client, TrainingJobsTest.config(), none, new RunEvents(client, "replica", Clock.systemUTC()),
                Clock.systemUTC(), () -> leading);
    }

    @Test
    void aWriteOnAStaleReadIsRefusedAsAConflict() {
        TrainingRun first = read();
        StatusPatch.write(client, first, Reconciler.operatorFields(null), Reconciler.operatorFields(attempt(1, 0)));
        TrainingRun stale = read();
        StatusPatch.write(client, stale, Reconciler.operatorFields(stale.getStatus()), Reconciler.operatorFields(attempt(2, 1)));

        TrainingRunStatus staleDecision = attempt(1, 0);
        staleDecision.phase = TrainingRunStatus.Phase.Running;
        assertThatThrownBy(() -> StatusPatch.write(client, stale, Reconciler.operatorFields(stale.getStatus()),
                Reconciler.operatorFields(staleDecision)))
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(StatusPatch.isConflict(e)).isTrue());
        assertThat(read().getStatus().attempts).isEqualTo(2);
    }

    @Test
    void aStalledFormerLeaderDoesNotRegressAttemptsOrRestarts() {
        StatusPatch.write(client, read(), Reconciler.operatorFields(null), Reconciler.operatorFields(attempt(1, 0)));
        TrainingRun readBeforeItStalled = read();
        // Meanwhile the new leader restarted the run.
        TrainingRun current = read();
        StatusPatch.write(client, current, Reconciler.operatorFields(current.getStatus()), Reconciler.operatorFields(attempt(2, 1)));

        TrainingRunStatus staleDecision = attempt(1, 0);
        staleDecision.phase = TrainingRunStatus.Phase.Running;
        assertThatThrownBy(() -> reconciler(true).writeStatus(readBeforeItStalled, staleDecision))
                .isInstanceOf(Reconciler.RetryLater.class).hasMessageContaining("changed since it was read");

        TrainingRunStatus stored = read().getStatus();
        assertThat(stored.attempts).isEqualTo(2);
        assertThat(stored.restarts).isEqualTo(1);
        assertThat(stored.phase).isEqualTo(TrainingRunStatus.Phase.Pending);
    }

    @Test
    void aConflictWithTheTrainersProgressIsWrittenAgainOnAFreshRead() {
        StatusPatch.write(client, read(), Reconciler.operatorFields(null), Reconciler.operatorFields(attempt(1, 0)));
        TrainingRun read = read();
        new RunStatusReporter(client, new RunReference(NAMESPACE, SEED), Clock.systemUTC())
                .report(RunStatusReporterTest.progress(4096, 55.0, null));

        TrainingRunStatus running = attempt(1, 0);
        running.phase = TrainingRunStatus.Phase.Running;
        reconciler(true).writeStatus(read, running);

        TrainingRunStatus stored = read().getStatus();
        assertThat(stored.phase).isEqualTo(TrainingRunStatus.Phase.Running);
        assertThat(stored.tokensTrained).as("the trainer's report stays").isEqualTo(4096);
    }

    @Test
    void aReplicaThatDoesNotLeadWritesNothing() {
        String before = read().getMetadata().getResourceVersion();

        assertThatThrownBy(() -> reconciler(false).reconcile(NAMESPACE, SEED)).isInstanceOf(Reconciler.RetryLater.class);
        assertThatThrownBy(() -> reconciler(false).writeStatus(read(), attempt(1, 0))).isInstanceOf(Reconciler.RetryLater.class);

        assertThat(read().getStatus()).isNull();
        assertThat(read().getMetadata().getResourceVersion()).isEqualTo(before);
        assertThat(client.batch().v1().jobs().inNamespace(NAMESPACE).list().getItems()).isEmpty();
        assertThat(client.serviceAccounts().inNamespace(NAMESPACE).list().getItems()).isEmpty();

        reconciler(true).reconcile(NAMESPACE, SEED);
        assertThat(client.batch().v1().jobs().inNamespace(NAMESPACE).list().getItems()).hasSize(1);
        assertThat(read().getStatus().attempts).isEqualTo(1);
    }
}
