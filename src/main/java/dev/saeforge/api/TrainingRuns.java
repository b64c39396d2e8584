package dev.saeforge.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import org.yaml.snakeyaml.error.MarkedYAMLException;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reading, validating and normalising TrainingRun documents. Every problem in a document is
 * collected and reported with its field path; a document that passes has every default filled
 * in, so what {@code saeforge validate -o yaml} prints is exactly what runs.
 */
public final class TrainingRuns {
    /** Kubernetes object names end up in Job and pod names, which add a suffix to this. */
    static final int MAX_NAME_LENGTH = 52;
    /** A sweep of many SAEs is a few KiB. */
    static final long MAX_FILE_BYTES = TextFiles.MIB;
    private static final java.util.regex.Pattern DNS_LABEL = java.util.regex.Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
    private static final java.util.regex.Pattern HF_ID = java.util.regex.Pattern.compile("^[A-Za-z0-9][\\w.-]*/[\\w.-]+$");

    private TrainingRuns() {
    }

    /** Every TrainingRun in a YAML or JSON file (several documents separated by ---). */
    public static List<TrainingRun> read(Path file) throws IOException, InvalidSpecException {
        if (Files.isDirectory(file)) {
            throw new java.io.FileNotFoundException(file + ": is a directory; expected a TrainingRun YAML or JSON file");
        }
        if (!Files.isRegularFile(file)) {
            throw new java.io.FileNotFoundException(file + ": no such file");
        }
        String text;
        try {
            text = TextFiles.read(file, MAX_FILE_BYTES, "a TrainingRun file");
        } catch (TextFiles.NotText e) {
            throw new InvalidSpecException(file.toString(), List.of(new Problem("(file)", e.reason())));
        }
        return parse(text, file.toString());
    }

    /** The spec of the first TrainingRun in a file, such as a checkpoint's trainingrun.yaml. */
    public static TrainingRunSpec readSpec(Path file) throws IOException, InvalidSpecException {
        return read(file).get(0).getSpec();
    }

    /** Every TrainingRun in {@code text}; {@code source} names it in messages. */
    public static List<TrainingRun> parse(String text, String source) throws InvalidSpecException {
        List<JsonNode> documents = new ArrayList<>();
        try (MappingIterator<JsonNode> it = Mappers.yaml().readerFor(JsonNode.class).readValues(text)) {
            while (it.hasNextValue()) {
                JsonNode document = it.nextValue();
                if (document != null && !document.isMissingNode() && !document.isNull()) {
                    documents.add(document);
                }
            }
        } catch (IOException e) {
            throw new InvalidSpecException(source, List.of(new Problem("(file)", "not valid YAML: " + yamlError(e))));
        }
        if (documents.isEmpty()) {
            throw new InvalidSpecException(source, List.of(new Problem("(file)", "holds no TrainingRun document")));
        }
        List<TrainingRun> runs = new ArrayList<>();
        for (int i = 0; i < documents.size(); i++) {
            runs.add(validate(documents.get(i), documentName(source, i, documents.size())));
        }
        return runs;
    }

    /** How messages name document {@code index} of {@code count} in {@code source}: "runs.yaml (document 2)", or the source alone. */
    public static String documentName(String source, int index, int count) {
        return count == 1 ? source : source + " (document " + (index + 1) + ")";
    }

    /** Checks one parsed document and returns it bound and normalised. */
    public static TrainingRun validate(JsonNode document, String source) throws InvalidSpecException {
        List<Problem> problems = new ArrayList<>();
        if (!document.isObject()) {
            throw new InvalidSpecException(source, List.of(new Problem("(document)", "is not a YAML mapping")));
        }
        ObjectNode pruned = document.deepCopy();
        checkHeader(pruned, problems);
        checkStreamFields(pruned, problems);
        SchemaCheck.checkTree(pruned, SchemaCheck.type(TrainingRun.class), "", problems);
        TrainingRun run;
        try {
            run = Mappers.json().treeToValue(pruned, TrainingRun.class);
        } catch (JsonProcessingException e) {
            problems.add(new Problem("(document)", firstLine(e)));
            throw new InvalidSpecException(source, problems);
        }
        // Checks on the bound run; a field already reported (and pruned) is not reported again.
        List<Problem> more = new ArrayList<>();
        checkName(run, more);
        if (run.getSpec() == null) {
            more.add(new Problem("spec", "is required"));
        } else {
            SchemaCheck.checkConstraints(run.getSpec(), "spec", more);
            // The rules relate fields to each other; with fields pruned they would reason about defaults.
            if (problems.isEmpty()) {
                checkRules(run.getSpec(), run.getMetadata() == null ? null : run.getMetadata().getName(), more);
            }
        }
        Set<String> reported = problems.stream().map(Problem::path).collect(Collectors.toSet());
        more.stream().filter(p -> !reported.contains(p.path())).forEach(problems::add);
        if (!problems.isEmpty()) {
            throw new InvalidSpecException(source, problems);
        }
        normalise(run.getSpec());
        return run;
    }

    private static void checkHeader(ObjectNode document, List<Problem> problems) {
        String apiVersion = document.path("apiVersion").asText(null);
        if (apiVersion == null) {
            problems.add(new Problem("apiVersion", "is required; expected " + TrainingRun.API_VERSION));
        } else if (!apiVersion.equals(TrainingRun.API_VERSION)) {
            problems.add(new Problem("apiVersion", "\"" + apiVersion + "\" is not supported; expected " + TrainingRun.API_VERSION));
        }
        String kind = document.path("kind").asText(null);
        if (kind == null) {
            problems.add(new Problem("kind", "is required; expected " + TrainingRun.KIND));
        } else if (!kind.equals(TrainingRun.KIND)) {
            problems.add(new Problem("kind", "\"" + kind + "\" is not supported; expected " + TrainingRun.KIND));
        }
    }

    private static void checkName(TrainingRun run, List<Problem> problems) {
        String name = run.getMetadata() == null ? null : run.getMetadata().getName();
        if (name == null || name.isEmpty()) {
            problems.add(new Problem("metadata.name", "is required"));
        } else if (!DNS_LABEL.matcher(name).matches() || name.length() > MAX_NAME_LENGTH) {
            problems.add(new Problem("metadata.name", "\"" + name + "\" is not a valid run name; expected lower-case letters, "
                    + "digits and '-', starting and ending with a letter or digit, at most " + MAX_NAME_LENGTH + " characters"));
        }
    }

    /** The rules that tie fields together; the schema annotations cover single fields. */
    private static void checkRules(TrainingRunSpec spec, String runName, List<Problem> problems) {
        if (spec.synthetic == null) {
            if (spec.model == null) {
                problems.add(new Problem("spec.model", "is required unless spec.synthetic is set"));
            }
            if (spec.dataset == null) {
                problems.add(new Problem("spec.dataset", "is required unless spec.synthetic is set"));
            }
        } else {
            String leftOut = "must be left out when spec.synthetic is set (a synthetic run reads no language model)";
            if (spec.model != null) {
                problems.add(new Problem("spec.model", leftOut));
            }
            if (spec.hook != null) {
                problems.add(new Problem("spec.hook", leftOut));
            }
            if (spec.dataset != null) {
                problems.add(new Problem("spec.dataset", leftOut));
            }
        }
        if (spec.model != null && spec.model.uri == null && spec.model.name != null && !HF_ID.matcher(spec.model.name).matches()) {
            problems.add(new Problem("spec.model.uri", "is required because spec.model.name \"" + spec.model.name
                    + "\" is not a Hugging Face id (ORG/NAME) to default it from"));
        }
        checkSaes(spec, runName, problems);
        problems.addAll(spec.report.problems());
        if (spec.resources.gpuMemory != null && isZero(spec.resources.gpuMemory)) {
            problems.add(new Problem("spec.resources.gpuMemory", "is 0; expected the memory of one GPU, e.g. 80Gi"));
        }
        TrainingSpec training = spec.training;
        if (training.batchSizeTokens > 0 && training.tokens < training.batchSizeTokens) {
            problems.add(new Problem("spec.training.tokens", training.tokens + " is less than one batch; expected at least "
                    + "spec.training.batchSizeTokens (" + training.batchSizeTokens + ")"));
        } else if (training.batchSizeTokens > 0 && training.lrWarmUpSteps + training.lrDecaySteps > training.totalSteps()) {
            problems.add(new Problem("spec.training.lrDecaySteps", "lrWarmUpSteps + lrDecaySteps (" + (training.lrWarmUpSteps + training.lrDecaySteps)
                    + ") exceed the " + training.totalSteps() + " steps that spec.training.tokens buys"));
        }
        int checkpoints = spec.checkpoints.count;
        if (training.batchSizeTokens > 0 && checkpoints <= CheckpointSpec.MAX_COUNT && checkpoints > training.totalSteps()) {
            problems.add(new Problem("spec.checkpoints.count", checkpoints + " is more than the " + training.totalSteps()
                    + " steps that spec.training.tokens buys; expected at most one checkpoint a step"));
        }
        if (spec.dataset != null) {
            checkBufferSize(spec.dataset, problems);
            if (spec.dataset.eval != null) {
                problems.addAll(spec.dataset.eval.problems(spec.dataset));
            }
            if (spec.dataset.seqposSlice.positions(spec.dataset.contextSize).length == 0) {
                problems.add(new Problem("spec.dataset.seqposSlice", spec.dataset.seqposSlice + " keeps no position of windows of "
                        + spec.dataset.contextSize + " tokens (spec.dataset.contextSize); expected a slice of range(" + spec.dataset.contextSize
                        + ") that keeps at least one"));
            }
        }
        if (training.lrDecaySteps > 0 && training.lrScheduler != TrainingSpec.LrScheduler.CONSTANT
                && training.lrEnd != null && training.lrEnd == 0) {
            problems.add(new Problem("spec.training.lrEnd", "is 0, so lrDecaySteps would decay from 0 to 0; set lrEnd > 0 or lrDecaySteps 0"));
        }
        checkRestartCycles(training, "spec.training", problems);
        if (spec.checkpoints.volume != null && !spec.checkpoints.relativePath()) {
            problems.add(new Problem("spec.checkpoints.uri", "\"" + spec.checkpoints.uri + "\" is not a directory inside "
                    + "spec.checkpoints.volume; expected a relative path such as runs, or leave out the volume"));
        }
        if (spec.activations != null) {
            checkActivations(spec, problems);
        }
    }

    /** A cache only a run with hooks can fill, and pods that generate it only when there is a cache to write. */
    private static void checkActivations(TrainingRunSpec spec, List<Problem> problems) {
        ActivationCacheSpec cache = spec.activations.cache;
        if (cache != null && spec.synthetic != null) {
            problems.add(new Problem("spec.activations.cache", "must be left out when spec.synthetic is set (a synthetic run "
                    + "has no hook activations to cache)"));
        }
        if (spec.activations.parallelism == null) {
            return;
        }
        if (cache == null) {
            problems.add(new Problem("spec.activations.parallelism", "needs spec.activations.cache, which its pods write; "
                    + "expected a cache {uri: s3://BUCKET/PREFIX, mode: write or auto}, or leave out parallelism"));
        } else if (cache.mode == ActivationCacheSpec.Mode.READ) {
            problems.add(new Problem("spec.activations.parallelism", "asks pods to write the cache, but spec.activations.cache.mode "
                    + "is read; expected mode write or auto, or leave out parallelism"));
        }
    }

    /**
     * What refuses a run in a cluster although saeforge train would take it: checkpoints a Job
     * would keep only in its pod, so that every restart begins at step 0 and the final SAE is lost
     * with the pod (pod-local says that is what is wanted), and an activation cache that other pods
     * (the cache Job's, a later attempt's) cannot reach. submit and the operator check it.
     */
    public static List<Problem> clusterProblems(TrainingRunSpec spec) {
        List<Problem> problems = new ArrayList<>();
        CheckpointSpec checkpoints = spec.checkpoints;
        if (!checkpoints.outlivesPod() && !CheckpointSpec.POD_LOCAL.equals(checkpoints.uri)) {
            problems.add(new Problem("spec.checkpoints.uri", "\"" + checkpoints.uri + "\" is a directory inside the trainer's pod, "
                    + "which is lost with the pod: every restart would begin at step 0 and the final SAE would vanish; expected "
                    + "s3://BUCKET/PREFIX, or a PersistentVolumeClaim in spec.checkpoints.volume.claimName, or uri: "
                    + CheckpointSpec.POD_LOCAL + " to accept losing them"));
        }
        // A cache in one pod is lost with it, and the pods of a parallel build would each write their own.
        ActivationCacheSpec cache = spec.activations == null ? null : spec.activations.cache;
        if (cache != null && !cache.reachableFromEveryPod(checkpoints)) {
            problems.add(new Problem("spec.activations.cache.uri", "\"" + cache.uri + "\" is not reachable from every pod of the run"
                    + (checkpoints.volume == null ? "" : " (a path inside spec.checkpoints.volume must be relative and stay inside it)")
                    + "; expected s3://BUCKET/PREFIX, or a relative path such as cache with spec.checkpoints.volume set, where the "
                    + "cache lives inside that volume"));
        }
        return problems;
    }

    /**
     * The mixing buffer's rows, and the tokens of one forward pass, are indexed by int arrays and
     * tensor sizes: their products must fit, whatever each factor is on its own.
     */
    private static void checkBufferSize(DatasetSpec dataset, List<Problem> problems) {
        long forwardTokens = (long) dataset.storeBatchSizePrompts * dataset.contextSize;
        if (forwardTokens > Integer.MAX_VALUE) {
            problems.add(new Problem("spec.dataset.storeBatchSizePrompts", String.format("%,d windows of %,d tokens are %,d tokens per forward"
                    + " pass; expected at most %,d", dataset.storeBatchSizePrompts, dataset.contextSize, forwardTokens, Integer.MAX_VALUE)));
        } else if (forwardTokens * dataset.nBatchesInBuffer > Integer.MAX_VALUE) { // both factors below 2^31: no long overflow
            problems.add(new Problem("spec.dataset.nBatchesInBuffer", String.format("%,d batches of %,d tokens make a mixing buffer of %,d"
                    + " rows; expected at most %,d", dataset.nBatchesInBuffer, forwardTokens, forwardTokens * dataset.nBatchesInBuffer,
                    Integer.MAX_VALUE)));
        }
    }

    /** Whether a quantity is 0; one that is not a quantity at all is reported by the schema check. */
    private static boolean isZero(Quantity quantity) {
        try {
            return Quantity.getAmountInBytes(quantity).signum() == 0;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Each SAE of the run (spec.saes or spec.sae, over the sweep): a width, a hook where the
     * stream has hooks, a dIn that matches a synthetic source, and optimiser settings that fit
     * the token budget. Messages name the entry: spec.saes[2].hook.
     */
    private static void checkSaes(TrainingRunSpec spec, String runName, List<Problem> problems) {
        for (SaeDefinition sae : SaeDefinition.expand(spec, runName, problems)) {
            String at = sae.saePath();
            if (spec.synthetic != null) {
                if (sae.hook() != null && !sae.path().equals("spec")) {
                    problems.add(new Problem(sae.hookPath(), "must be left out when spec.synthetic is set (a synthetic run has no hooks)"));
                }
                if (sae.sae().dIn != null && sae.sae().dIn != spec.synthetic.dIn) {
                    problems.add(new Problem(at + ".dIn", sae.sae().dIn + " does not match spec.synthetic.dIn " + spec.synthetic.dIn));
                }
            } else if (sae.hook() == null) {
                problems.add(new Problem(sae.hookPath(), "is required unless spec.synthetic is set; expected " + TrainingRunSpec.HOOK_FORM));
            }
            if (sae.sae().dSae == null && sae.sae().expansionFactor == null) {
                problems.add(new Problem(at + ".dSae", "is required (or set " + at + ".expansionFactor)"));
            } else if (sae.sae().dSae != null && sae.sae().expansionFactor != null) {
                problems.add(new Problem(at + ".expansionFactor", "must be left out when " + at + ".dSae is set; set exactly one of them"));
            }
            checkArchitecture(sae, problems);
            Integer dSae = knownDSae(sae.sae());
            if (dSae != null) {
                problems.addAll(spec.report.problems(sae.name(), dSae));
            }
            String pretrained = sae.sae().fromPretrained;
            if (pretrained != null && (pretrained.isBlank() || pretrained.contains("://") && !pretrained.matches("(file|hf|s3)://.+"))) {
                problems.add(new Problem(at + ".fromPretrained", "\"" + pretrained + "\" is not an SAE checkpoint directory; expected"
                        + " a path, file://PATH, hf://ORG/NAME[@REVISION][/SUBFOLDER] or s3://BUCKET/PREFIX"));
            }
            TrainingSpec training = sae.training();
            String trainingPath = sae.path().equals("spec") ? "spec.training" : sae.path() + ".training";
            boolean ownSchedule = training.lrWarmUpSteps != spec.training.lrWarmUpSteps || training.lrDecaySteps != spec.training.lrDecaySteps;
            if (ownSchedule && training.batchSizeTokens > 0 && training.tokens >= training.batchSizeTokens
                    && training.lrWarmUpSteps + training.lrDecaySteps > training.totalSteps()) {
                problems.add(new Problem(trainingPath + ".lrDecaySteps", "lrWarmUpSteps + lrDecaySteps (" + (training.lrWarmUpSteps + training.lrDecaySteps)
                        + ") exceed the " + training.totalSteps() + " steps that spec.training.tokens buys"));
            }
            if (ownSchedule || training.lrScheduler != spec.training.lrScheduler || training.nRestartCycles != spec.training.nRestartCycles) {
                checkRestartCycles(training, trainingPath, problems);
            }
        }
    }

    /** Each warm-restart cycle needs a step: torch refuses a period T_0 = (steps - warm-up - decay) // nRestartCycles of 0. */
    private static void checkRestartCycles(TrainingSpec training, String trainingPath, List<Problem> problems) {
        long mainPhase = training.batchSizeTokens > 0 ? training.totalSteps() - training.lrWarmUpSteps - training.lrDecaySteps : 1;
        if (training.lrScheduler == TrainingSpec.LrScheduler.COSINE_ANNEALING_WARM_RESTARTS && mainPhase >= 1
                && training.nRestartCycles > mainPhase) {
            problems.add(new Problem(trainingPath + ".nRestartCycles", training.nRestartCycles + " cycles do not fit the " + mainPhase
                    + " steps between lrWarmUpSteps and lrDecaySteps; expected at most " + mainPhase));
        }
    }

    /** What an architecture's own fields must satisfy together with the width (defaults already filled in). */
    private static void checkArchitecture(SaeDefinition definition, List<Problem> problems) {
        SaeSpec sae = definition.sae();
        String at = definition.saePath();
        Integer dSae = knownDSae(sae);
        switch (sae.architecture) {
            case TOPK, BATCHTOPK, MATRYOSHKA_BATCHTOPK -> {
                if (sae.architecture == SaeSpec.Architecture.TOPK && sae.k != Math.rint(sae.k)) {
                    problems.add(new Problem(at + ".k", SaeDefinition.format(sae.k) + " is not a whole number; topk keeps k latents "
                            + "per token (batchtopk takes an average)"));
                } else if (dSae != null && sae.k > dSae) {
                    problems.add(new Problem(at + ".k", SaeDefinition.format(sae.k) + " exceeds dSae " + dSae + "; expected at most dSae"));
                }
                if (sae.architecture == SaeSpec.Architecture.MATRYOSHKA_BATCHTOPK) {
                    checkMatryoshkaWidths(sae.matryoshkaWidths, dSae, at + ".matryoshkaWidths", problems);
                }
            }
            case JUMPRELU, STANDARD -> {
            }
        }
    }

    /** The SAE's width where the spec says it: dSae, or expansionFactor times a given dIn; null when the model decides it. */
    private static Integer knownDSae(SaeSpec sae) {
        return sae.dSae != null ? sae.dSae : sae.expansionFactor != null && sae.dIn != null ? sae.expansionFactor * sae.dIn : null;
    }

    /** SAELens' rules: given, strictly increasing, positive, and within dSae (which ends the list when it does not). */
    private static void checkMatryoshkaWidths(List<Integer> widths, Integer dSae, String at, List<Problem> problems) {
        if (widths == null || widths.isEmpty()) {
            problems.add(new Problem(at, "is required for matryoshka_batchtopk; expected strictly increasing prefix widths, e.g. [64, 256]"));
            return;
        }
        for (int i = 0; i < widths.size(); i++) {
            Integer width = widths.get(i);
            if (width == null || width < 1) {
                problems.add(new Problem(at + "[" + i + "]", width + " is not a positive width"));
                return;
            }
            if (i > 0 && width <= widths.get(i - 1)) {
                problems.add(new Problem(at + "[" + i + "]", width + " does not exceed the width before it (" + widths.get(i - 1)
                        + "); expected strictly increasing widths"));
                return;
            }
            if (dSae != null && width > dSae) {
                problems.add(new Problem(at + "[" + i + "]", width + " exceeds dSae " + dSae));
                return;
            }
        }
    }

    /**
     * Fields of an SAE entry that belong to the activation stream every SAE shares: reported
     * with where they go instead, and removed so the rest can be checked.
     */
    private static void checkStreamFields(ObjectNode document, List<Problem> problems) {
        JsonNode saes = document.path("spec").path("saes");
        for (int i = 0; i < saes.size(); i++) {
            if (!(saes.get(i) instanceof ObjectNode entry)) {
                continue;
            }
            for (String section : List.of("model", "dataset", "synthetic", "checkpoints", "resources")) {
                if (entry.remove(section) != null) {
                    problems.add(new Problem("spec.saes[" + i + "]." + section, "belongs to the activation stream every SAE of the run "
                            + "shares; set it once in spec." + section));
                }
            }
            if (entry.path("training") instanceof ObjectNode training) {
                for (String field : SaeTrainingSpec.STREAM_FIELDS) {
                    if (training.remove(field) != null) {
                        problems.add(new Problem("spec.saes[" + i + "].training." + field, "belongs to the activation stream every SAE "
                                + "of the run shares; set it once in spec.training." + field));
                    }
                }
            }
            if (entry.path("sae").has("contextSize") && entry.get("sae") instanceof ObjectNode sae) {
                sae.remove("contextSize");
                problems.add(new Problem("spec.saes[" + i + "].sae.contextSize", "belongs to the activation stream every SAE of the run "
                        + "shares; set it once in spec.dataset.contextSize"));
            }
        }
    }

    /** Fills the defaults that depend on other fields, so the printed spec is what runs. */
    private static void normalise(TrainingRunSpec spec) {
        if (spec.model != null && spec.model.uri == null) {
            spec.model.uri = "hf://" + spec.model.name;
        }
        if (spec.sae != null) {
            spec.sae.applyDefaults();
        }
        if (spec.saes != null) {
            spec.saes.stream().filter(entry -> entry != null && entry.sae != null).forEach(entry -> entry.sae.applyDefaults());
        }
        if (spec.training.lrEnd == null) {
            spec.training.lrEnd = BigDecimal.valueOf(spec.training.lr).divide(BigDecimal.TEN).doubleValue();
        }
    }

    /**
     * The TrainingRun document of a run known by its identity and spec: what a checkpoint keeps
     * as trainingrun.yaml, readable by {@link #read} when the run resumes. Only name, namespace
     * and uid come back in its metadata.
     */
    public static TrainingRun document(RunIdentity identity, TrainingRunSpec spec) {
        TrainingRun run = new TrainingRun();
        run.setMetadata(new ObjectMetaBuilder().withNamespace(identity.namespace()).withName(identity.name())
                .withUid(identity.uid()).build());
        run.setSpec(spec);
        return run;
    }

    /** The document as YAML, kubectl style. */
    public static String toYaml(TrainingRun run) {
        try {
            return Mappers.yaml().writeValueAsString(run);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The document as indented JSON. */
    public static String toJson(TrainingRun run) {
        try {
            return Mappers.json().writeValueAsString(run);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** "line 4, column 13: while parsing a flow sequence, expected ',' or ']'" from a parser error. */
    private static String yamlError(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
                String context = marked.getContext() == null ? "" : marked.getContext() + ", ";
                return "line " + (marked.getProblemMark().getLine() + 1) + ", column " + (marked.getProblemMark().getColumn() + 1)
                        + ": " + context + marked.getProblem();
            }
        }
        if (e instanceof JsonProcessingException parse && parse.getLocation() != null && parse.getLocation().getLineNr() > 0) {
            return "line " + parse.getLocation().getLineNr() + ", column " + parse.getLocation().getColumnNr() + ": " + parse.getOriginalMessage();
        }
        return firstLine(e);
    }

    private static String firstLine(Exception e) {
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
