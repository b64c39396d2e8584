package dev.saeforge.cli;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CheckpointAddressTest {
    @Test
    void aBareRunOrRunAndNameLiveInTheGivenStore() {
        assertThat(CheckpointAddress.ofRun("toy", "runs")).isEqualTo(new CheckpointAddress("runs", "toy", null));
        assertThat(CheckpointAddress.ofCheckpoint("toy/409600", "s3://b/p")).isEqualTo(new CheckpointAddress("s3://b/p", "toy", "409600"));
    }

    @Test
    void aUriEndsInTheRunAndName() {
        assertThat(CheckpointAddress.ofRun("s3://ckpt/team/runs/toy/", "runs")).isEqualTo(new CheckpointAddress("s3://ckpt/team/runs", "toy", null));
        assertThat(CheckpointAddress.ofCheckpoint("s3://ckpt/toy/final_1228800", "runs"))
                .isEqualTo(new CheckpointAddress("s3://ckpt", "toy", "final_1228800"));
        assertThat(CheckpointAddress.ofCheckpoint("file:///data/runs/toy/409600", "runs"))
                .isEqualTo(new CheckpointAddress("file:///data/runs", "toy", "409600"));
    }

    @Test
    void anythingElseIsRefusedWithTheFormsExpected() {
        assertThatThrownBy(() -> CheckpointAddress.ofCheckpoint("s3://ckpt/toy", "runs"))
                .hasMessage("\"s3://ckpt/toy\" is too short; expected RUN/NAME (in the --store location) or a URI such as"
                        + " s3://BUCKET/PREFIX/RUN/NAME or file:///PATH/RUN/NAME");
        assertThatThrownBy(() -> CheckpointAddress.ofRun("toy/409600", "runs"))
                .hasMessageStartingWith("\"toy/409600\" is not a run name; expected RUN (in the --store location)");
        assertThatThrownBy(() -> CheckpointAddress.ofCheckpoint("a/b/c", "runs")).hasMessageStartingWith("\"a/b/c\" is not RUN/NAME");
    }
}
