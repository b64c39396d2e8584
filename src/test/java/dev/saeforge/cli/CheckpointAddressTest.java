package dev.saeforge.cli;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CheckpointAddressTest {
    @Test
    void aBareRunCheckpointOrSaeLivesInTheGivenStore() {
        assertThat(CheckpointAddress.ofRun("toy", "runs")).isEqualTo(new CheckpointAddress("runs", "toy", null, null));
        assertThat(CheckpointAddress.ofRun("toy/409600", "runs")).isEqualTo(new CheckpointAddress("runs", "toy", "409600", null));
        assertThat(CheckpointAddress.ofCheckpoint("toy/409600", "s3://b/p")).isEqualTo(new CheckpointAddress("s3://b/p", "toy", "409600", null));
        assertThat(CheckpointAddress.ofCheckpoint("toy/409600/mlp28-c1", "runs"))
                .isEqualTo(new CheckpointAddress("runs", "toy", "409600", "mlp28-c1"));
        assertThat(CheckpointAddress.ofCheckpoint("toy/best/1", "runs")).as("any names, counted by slashes")
                .isEqualTo(new CheckpointAddress("runs", "toy", "best", "1"));
    }

    @Test
    void aUriEndsInTheRunAndName() {
        assertThat(CheckpointAddress.ofRun("s3://ckpt/team/runs/toy/", "runs")).isEqualTo(new CheckpointAddress("s3://ckpt/team/runs", "toy", null, null));
        assertThat(CheckpointAddress.ofCheckpoint("s3://ckpt/toy/final_1228800", "runs"))
                .isEqualTo(new CheckpointAddress("s3://ckpt", "toy", "final_1228800", null));
        assertThat(CheckpointAddress.ofCheckpoint("file:///data/runs/toy/409600", "runs"))
                .isEqualTo(new CheckpointAddress("file:///data/runs", "toy", "409600", null));
        assertThat(CheckpointAddress.ofCheckpoint("s3://ckpt/team/runs/toy/best", "runs")).as("a checkpoint name the trainer does not give")
                .isEqualTo(new CheckpointAddress("s3://ckpt/team/runs", "toy", "best", null));
    }

    @Test
    void aUriSegmentAfterATrainersCheckpointNameIsTheSae() {
        assertThat(CheckpointAddress.ofCheckpoint("s3://ckpt/team/runs/toy/409600/mlp28-c1", "runs"))
                .isEqualTo(new CheckpointAddress("s3://ckpt/team/runs", "toy", "409600", "mlp28-c1"));
        assertThat(CheckpointAddress.ofCheckpoint("file:///data/runs/toy/final_819200/resid20/", "runs"))
                .isEqualTo(new CheckpointAddress("file:///data/runs", "toy", "final_819200", "resid20"));
        assertThat(CheckpointAddress.ofRun("s3://ckpt/runs/toy/409600", "runs")).as("list takes a checkpoint too")
                .isEqualTo(new CheckpointAddress("s3://ckpt/runs", "toy", "409600", null));
        assertThat(CheckpointAddress.ofRun("s3://ckpt/runs/toy/409600/mlp28-c1", "runs"))
                .isEqualTo(new CheckpointAddress("s3://ckpt/runs", "toy", "409600", "mlp28-c1"));
    }

    @Test
    void anythingElseIsRefusedWithTheFormsExpected() {
        assertThatThrownBy(() -> CheckpointAddress.ofCheckpoint("s3://ckpt/toy", "runs"))
                .hasMessage("\"s3://ckpt/toy\" is too short; expected RUN/NAME or RUN/NAME/SAE (in the --store location) or a URI such as"
                        + " s3://BUCKET/PREFIX/RUN/NAME[/SAE] or file:///PATH/RUN/NAME[/SAE]");
        assertThatThrownBy(() -> CheckpointAddress.ofCheckpoint("s3://ckpt/409600/mlp28-c1", "runs")).hasMessageContaining("is too short");
        assertThatThrownBy(() -> CheckpointAddress.ofCheckpoint("toy", "runs"))
                .hasMessageStartingWith("\"toy\" is not RUN/NAME or RUN/NAME/SAE; expected RUN/NAME or RUN/NAME/SAE (in the --store location)");
        assertThatThrownBy(() -> CheckpointAddress.ofRun("a/b/c/d", "runs"))
                .hasMessageStartingWith("\"a/b/c/d\" is not RUN, RUN/NAME or RUN/NAME/SAE; expected");
        assertThatThrownBy(() -> CheckpointAddress.ofCheckpoint("toy//mlp28-c1", "runs")).hasMessageStartingWith("\"toy//mlp28-c1\" is not RUN/NAME");
    }
}
