package dev.saeforge.cache;

import com.fasterxml.jackson.databind.JsonNode;
import dev.saeforge.api.DatasetSpec;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.data.InputFiles;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything that determines a cache's rows: the model and its revision, the forward's
 * precision, the stored dtype, the hooks, the dataset's files (names, sizes, versions) and
 * every tokenization and packing setting. Two specs with equal keys read the same rows; a run
 * may read a cache whose hooks include its own.
 *
 * @param model       the model's location (spec.model.uri, or hf://name)
 * @param revision    the model files' revision (commit, etag or sha256 of config and weights)
 * @param modelDtype  the forward pass's precision
 * @param dtype       the stored rows' dtype
 * @param hooks       the hooks stored, in shard order
 * @param dataset     the dataset's location
 * @param datasetFiles the dataset files read, each "name bytes version"
 * @param packing     contextSize, prependBos, sequenceSeparator, disableConcatSequences, chatTemplate, tokenized,
 *                    excludeSpecialTokens, seqposSlice, storeBatchSizePrompts and the other settings rows depend on
 */
public record CacheKey(String model, String revision, String modelDtype, String dtype, List<String> hooks, String dataset,
                       List<String> datasetFiles, Map<String, Object> packing) {

    /**
     * The key of the cache {@code spec} reads: its model at the revision {@code inputs} resolved,
     * run in {@code modelDtype}, stored in spec.activations.cache.dtype (default: modelDtype), at
     * {@code hooks}, over {@code inputs}' dataset files, packed as spec.dataset says. The held-out
     * windows come out of the training text, so spec.training.evalBatches and the evaluation
     * dataset count; the text is shuffled per pass by spec.training.seed, which counts too.
     */
    public static CacheKey of(TrainingRunSpec spec, List<String> hooks, InputFiles inputs, String modelDtype) {
        DatasetSpec dataset = spec.dataset;
        String dtype = storedDtype(spec, modelDtype);
        Map<String, Object> packing = new LinkedHashMap<>();
        packing.put("contextSize", dataset.contextSize);
        packing.put("prependBos", dataset.prependBos);
        packing.put("sequenceSeparator", dataset.sequenceSeparator.name().toLowerCase(java.util.Locale.ROOT));
        packing.put("disableConcatSequences", dataset.disableConcatSequences);
        packing.put("chatTemplate", dataset.chatTemplate);
        packing.put("tokenized", dataset.tokenized);
        packing.put("format", dataset.format.name().toLowerCase(java.util.Locale.ROOT));
        packing.put("field", dataset.tokenized ? dataset.tokensField : dataset.chatTemplate ? dataset.messagesField : dataset.textField);
        packing.put("malformedRows", dataset.malformedRows.name().toLowerCase(java.util.Locale.ROOT));
        packing.put("excludeSpecialTokens", Mappers.json().convertValue(dataset.excludeSpecialTokens, Object.class));
        packing.put("seqposSlice", Mappers.json().convertValue(dataset.seqposSlice, Object.class));
        packing.put("storeBatchSizePrompts", dataset.storeBatchSizePrompts);
        packing.put("evalBatches", spec.training.evalBatches);
        packing.put("evalDataset", dataset.eval == null ? null : dataset.eval.uri);
        packing.put("seed", spec.training.seed);
        packing.put("datasetRevision", inputs.datasetRevision());
        packing.put("datasetConfig", inputs.datasetConfig());
        packing.put("datasetSplit", inputs.datasetSplit());
        List<String> files = new ArrayList<>();
        for (InputFiles.File file : inputs.files()) {
            files.add(file.name() + " " + file.bytes() + " " + (file.version() == null ? "-" : file.version()));
        }
        if (inputs.eval() != null) {
            for (InputFiles.File file : inputs.eval().files()) {
                files.add("eval " + file.name() + " " + file.bytes() + " " + (file.version() == null ? "-" : file.version()));
            }
        }
        return new CacheKey(spec.model.uri, inputs.modelRevision(), modelDtype, dtype, List.copyOf(hooks), dataset.uri, files, packing);
    }

    /**
     * The dtype rows are stored in: spec.activations.cache.dtype, else the forward's precision
     * {@code modelDtype} (a float16 forward is stored as float32, which holds it exactly: a cache
     * is bfloat16 or float32).
     */
    public static String storedDtype(TrainingRunSpec spec, String modelDtype) {
        if (spec.activations != null && spec.activations.cache != null && spec.activations.cache.dtype != null) {
            return spec.activations.cache.dtype.value();
        }
        return "bfloat16".equals(modelDtype) ? "bfloat16" : "float32";
    }

    /**
     * How this cache's key differs from the key {@code wanted} of a run that would read it, one
     * entry per field ("model: cache has X, the spec has Y"); empty when the run can read it. The
     * cache's hooks must include the run's; packing values compare as JSON values (1 equals 1L).
     */
    public List<String> differences(CacheKey wanted) {
        List<String> out = new ArrayList<>();
        differ(out, "model", model, wanted.model);
        differ(out, "revision", revision, wanted.revision);
        differ(out, "modelDtype", modelDtype, wanted.modelDtype);
        differ(out, "dtype", dtype, wanted.dtype);
        List<String> missing = wanted.hooks.stream().filter(hook -> !hooks.contains(hook)).toList();
        if (!missing.isEmpty()) {
            out.add("hooks: cache has " + hooks + ", the spec has " + wanted.hooks + " (missing " + missing + ")");
        }
        differ(out, "dataset", dataset, wanted.dataset);
        differ(out, "datasetFiles", datasetFiles, wanted.datasetFiles);
        JsonNode mine = Mappers.json().valueToTree(packing);
        JsonNode theirs = Mappers.json().valueToTree(wanted.packing);
        java.util.TreeSet<String> fields = new java.util.TreeSet<>();
        mine.fieldNames().forEachRemaining(fields::add);
        theirs.fieldNames().forEachRemaining(fields::add);
        for (String field : fields) {
            JsonNode a = mine.path(field);
            JsonNode b = theirs.path(field);
            if (!a.equals(BY_VALUE, b)) {
                out.add("packing." + field + ": cache has " + shown(a) + ", the spec has " + shown(b));
            }
        }
        return out;
    }

    /** JSON values equal as values: numbers by their numeric value, whatever type a round trip gave them. */
    private static final Comparator<JsonNode> BY_VALUE = (a, b) -> {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue());
        }
        return a.equals(b) ? 0 : 1;
    };

    private static String shown(JsonNode node) {
        return node.isMissingNode() ? "none" : node.toString();
    }

    /** Adds "FIELD: cache has X, the spec has Y" to {@code out} when the two differ. */
    static void differ(List<String> out, String field, Object cache, Object spec) {
        if (!Objects.equals(cache, spec)) {
            out.add(field + ": cache has " + cache + ", the spec has " + spec);
        }
    }
}
