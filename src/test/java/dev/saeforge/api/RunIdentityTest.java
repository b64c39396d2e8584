package dev.saeforge.api;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Where a run's checkpoints live: under its namespace in a cluster, so same-named runs of two namespaces never meet. */
class RunIdentityTest {
    @Test
    void runsOfOneNameInTwoNamespacesKeepTheirCheckpointsApart() {
        RunIdentity a = new RunIdentity("ns-a", "l28", "uid-a", 1);
        RunIdentity b = new RunIdentity("ns-b", "l28", "uid-b", 1);

        assertThat(a.checkpointLocation("s3://ckpt/runs/")).isEqualTo("s3://ckpt/runs/ns-a");
        assertThat(b.checkpointLocation("s3://ckpt/runs")).isEqualTo("s3://ckpt/runs/ns-b");
        assertThat(a.checkpointLocation("runs")).isEqualTo("runs/ns-a");
    }

    @Test
    void aLocalRunKeepsItsCheckpointsUnderTheLocationEvenWithANamespaceWrittenInItsFile() {
        assertThat(new RunIdentity(null, "l28", null, null).checkpointLocation("runs")).isEqualTo("runs");
        assertThat(new RunIdentity("ns-a", "l28", null, null).checkpointLocation("runs")).isEqualTo("runs");
    }

    @Test
    void aNamespaceThatIsNotOnePathSegmentIsRefused() {
        assertThatThrownBy(() -> RunIdentity.namespacedLocation("runs", "../etc"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("namespace \"../etc\" is not a Kubernetes namespace name");
    }
}
