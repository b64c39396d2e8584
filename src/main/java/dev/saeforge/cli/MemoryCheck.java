package dev.saeforge.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.api.GpuMemory;
import dev.saeforge.api.Problem;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.lm.ModelShapes;
import dev.saeforge.train.HookWidths;
import dev.saeforge.train.MemoryEstimate;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What validate and submit find out about a valid run before anything starts: its SAEs checked
 * against the model's shape where that is known here (hook layers, sae.dIn), and the GPU memory
 * it is estimated to need ({@link MemoryEstimate}), refused when that is more than the GPU it asks
 * for has. A synthetic run, or one on no GPU, has no GPU estimate.
 *
 * @param estimate null when the run has no GPU estimate
 * @param gpu      null when the GPU's memory is not known here
 * @param problems the refusals, named by field
 */
record MemoryCheck(TrainingRun run, MemoryEstimate estimate, GpuMemory gpu, List<Problem> problems) {
    /** The annotation that carries the estimate, as JSON, on the printed and the submitted run. */
    static final String ANNOTATION = TrainingRun.GROUP + "/gpu-memory-estimate";
    private static final ObjectMapper JSON = new ObjectMapper();

    static MemoryCheck of(TrainingRun run) {
        TrainingRunSpec spec = run.getSpec();
        if (spec.synthetic != null) {
            return new MemoryCheck(run, null, null, List.of());
        }
        List<SaeDefinition> saes = SaeDefinition.all(run);
        ModelShapes.Shape shape = ModelShapes.of(spec.model.uri);
        if (shape.known()) {
            List<Problem> problems = new ArrayList<>(HookWidths.problems(saes, shape.config(), spec.model.name));
            problems.addAll(HookWidths.reportProblems(saes, shape.config(), spec.report));
            if (!problems.isEmpty()) {
                return new MemoryCheck(run, null, null, problems);
            }
        }
        if (spec.resources.gpus == 0 || spec.training.device == TrainingSpec.Device.CPU) {
            return new MemoryCheck(run, null, null, List.of());
        }
        MemoryEstimate estimate = MemoryEstimate.of(spec, saes, shape);
        GpuMemory gpu = GpuMemory.of(spec.resources).orElse(null);
        List<Problem> problems = new ArrayList<>();
        if (gpu != null && estimate.peak() > gpu.bytes()) {
            problems.add(new Problem(gpu.field(), "the run needs an estimated " + Printing.bytes(estimate.peak()) + " of GPU memory (while "
                    + peakPhase(estimate) + "), more than the " + Printing.bytes(gpu.bytes()) + " of " + gpuName(gpu)
                    + "; ask for a larger GPU, or train fewer or smaller SAEs (saeforge validate prints the estimate part by part)"));
        }
        return new MemoryCheck(run, estimate, gpu, problems);
    }

    private static String peakPhase(MemoryEstimate estimate) {
        return estimate.training() >= estimate.evaluation() ? "training" : "evaluating";
    }

    private static String gpuName(GpuMemory gpu) {
        return gpu.field().endsWith("gpuProduct") ? "an " + gpu.gpu() : "spec.resources.gpuMemory " + gpu.gpu();
    }

    /** How the estimate compares with the GPU; unchecked when the GPU's memory is not known here. */
    enum Verdict {
        fits, exceeds, unchecked
    }

    Verdict verdict() {
        return gpu == null ? Verdict.unchecked : problems.isEmpty() ? Verdict.fits : Verdict.exceeds;
    }

    /** The estimate part by part, with its totals and what it was checked against; nothing without one. */
    void print(PrintWriter out) {
        if (estimate == null) {
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("GPU MEMORY (ESTIMATE)", "TRAINING", "EVALUATING"));
        for (MemoryEstimate.Part part : estimate.parts()) {
            rows.add(List.of(part.what(), cell(part.training()), cell(part.evaluation())));
        }
        rows.add(List.of("total", Printing.bytes(estimate.training()), Printing.bytes(estimate.evaluation())));
        Columns.print(out, rows, 3, "  ");
        estimate.leftOut().forEach(note -> out.println("  left out: " + note));
        out.println("  " + summary());
    }

    private static String cell(long bytes) {
        return bytes == 0 ? "-" : Printing.bytes(bytes);
    }

    /** One line: the peak and how it compares with the GPU. */
    String summary() {
        String peak = Printing.bytes(estimate.peak()) + " at peak (" + peakPhase(estimate) + ")";
        return switch (verdict()) {
            case fits -> peak + ": fits " + gpuName(gpu) + " (" + Printing.bytes(gpu.bytes()) + ")";
            case exceeds -> peak + ": more than " + gpuName(gpu) + " (" + Printing.bytes(gpu.bytes()) + ")";
            case unchecked -> peak + ": not checked, " + run.getSpec().resources.gpuProduct + " is not a GPU whose memory is known here;"
                    + " set spec.resources.gpuMemory to check it";
        };
    }

    /** The run with the estimate as {@link #ANNOTATION}, so that -o json and yaml and the submitted run carry it. */
    TrainingRun annotated() {
        if (estimate == null) {
            return run;
        }
        Map<String, String> annotations = new LinkedHashMap<>();
        if (run.getMetadata().getAnnotations() != null) {
            annotations.putAll(run.getMetadata().getAnnotations());
        }
        annotations.put(ANNOTATION, toJson());
        run.getMetadata().setAnnotations(annotations);
        return run;
    }

    /** The estimate as compact JSON: totals, the GPU and the verdict, each part, what was left out. */
    String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("peakBytes", estimate.peak());
        root.put("trainingBytes", estimate.training());
        root.put("evaluationBytes", estimate.evaluation());
        root.put("check", verdict().name());
        if (gpu != null) {
            root.put("gpu", gpu.gpu());
            root.put("gpuBytes", gpu.bytes());
        }
        ArrayNode parts = root.putArray("parts");
        for (MemoryEstimate.Part part : estimate.parts()) {
            parts.addObject().put("what", part.what()).put("trainingBytes", part.training()).put("evaluationBytes", part.evaluation());
        }
        if (!estimate.leftOut().isEmpty()) {
            ArrayNode leftOut = root.putArray("leftOut");
            estimate.leftOut().forEach(leftOut::add);
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
