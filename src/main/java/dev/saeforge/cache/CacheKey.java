package dev.saeforge.cache;

import java.util.List;
import java.util.Map;

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
}
