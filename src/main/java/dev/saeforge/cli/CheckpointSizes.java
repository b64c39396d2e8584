package dev.saeforge.cli;

import dev.saeforge.api.Problem;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelShapes;
import dev.saeforge.train.CheckpointTensors;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * What validate says of a valid run's checkpoints before it starts: every tensor of each SAE's
 * checkpoint sized ({@link CheckpointTensors}), the largest printed, and a refusal, by field, for
 * an SAE with a tensor no safetensors file can hold. Tensors of any size that a file holds are
 * written and read a block at a time.
 *
 * @param lines    one per SAE: its largest tensor and its size, or why it is not known here
 * @param problems the refusals, named by field
 */
record CheckpointSizes(List<String> lines, List<Problem> problems) {
    static CheckpointSizes of(TrainingRun run) {
        TrainingRunSpec spec = run.getSpec();
        ModelShapes.Shape shape = spec.synthetic != null ? null : ModelShapes.of(spec.model.uri);
        List<String> lines = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        for (SaeDefinition sae : SaeDefinition.all(run)) {
            Integer dIn = spec.synthetic != null ? Integer.valueOf(spec.synthetic.dIn)
                    : shape.known() ? Integer.valueOf(HookPoint.parse(sae.hook()).width(shape.config())) : sae.sae().dIn;
            if (dIn == null) {
                lines.add("checkpoint of SAE " + sae.name() + ": tensor sizes not known here (" + sae.saePath()
                        + ".dIn is not set and the model's shape is unknown)");
                continue;
            }
            CheckpointTensors tensors = CheckpointTensors.of(sae, dIn);
            CheckpointTensors.Tensor largest = tensors.largest();
            for (CheckpointTensors.Tensor tensor : tensors.unwritable()) {
                problems.add(new Problem(sae.saePath() + ".dSae", "the checkpoint tensor " + tensor + " of float32 would take more than "
                        + Long.MAX_VALUE + " bytes, more than a safetensors file can hold; train a narrower SAE"));
            }
            lines.add("checkpoint of SAE " + sae.name() + ": " + tensors.tensors().size() + " tensors, the largest "
                    + largest + " float32" + (largest.bytes() < 0 ? ", too large for any file" : ", " + Printing.bytes(largest.bytes())));
        }
        return new CheckpointSizes(List.copyOf(lines), List.copyOf(problems));
    }

    void print(PrintWriter out) {
        lines.forEach(line -> out.println("  " + line));
    }
}
