package dev.saeforge.api;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TrainingRunStatusTest {
    @Test
    void everyStatusFieldHasExactlyOneWriterTheOperatorOrTheTrainer() {
        List<String> owned = new ArrayList<>(TrainingRunStatus.OPERATOR_FIELDS);
        owned.addAll(TrainingRunStatus.TRAINER_FIELDS);

        assertThat(owned).doesNotHaveDuplicates();
        assertThat(owned).containsExactlyInAnyOrderElementsOf(SchemaCheck.properties(SchemaCheck.type(TrainingRunStatus.class)).keySet());
    }

    @Test
    void finalPhasesAreSucceededFailedAndCancelled() {
        assertThat(List.of(TrainingRunStatus.Phase.values())).filteredOn(TrainingRunStatus.Phase::isFinal)
                .containsExactly(TrainingRunStatus.Phase.Succeeded, TrainingRunStatus.Phase.Failed, TrainingRunStatus.Phase.Cancelled);
    }
}
