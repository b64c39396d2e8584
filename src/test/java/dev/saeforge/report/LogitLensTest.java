package dev.saeforge.report;

import ai.djl.ndarray.NDManager;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.lm.Qwen3Config;
import dev.saeforge.lm.Qwen3Weights;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.lm.Tokenizer;
import dev.saeforge.sae.SaeArchitectures;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The logit lens through a model with tied embeddings (tiny and Qwen3-0.6B have no lm_head:
 * embed_tokens is the unembedding) and through one with its own lm_head, each against the sum
 * Σ_d W_dec[i,d]·norm[d]·W_U[v,d] over the checkpoint's tensors, in doubles.
 */
class LogitLensTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void theListsAreTheDecoderRowThroughTheFinalNormAndTheUnembedding(boolean tied) throws Exception {
        Qwen3Config config = TinyQwen3.write(dir, TinyQwen3.Options.defaults().withTied(tied).withDtype(Safetensors.Dtype.F32));
        float[] norm;
        float[] unembedding;
        try (Safetensors.Reader lm = Safetensors.read(dir.resolve(Qwen3Weights.SINGLE_FILE))) {
            assertThat(lm.tensors().containsKey(Qwen3Weights.LM_HEAD)).isEqualTo(!tied);
            norm = lm.floats(Qwen3Weights.FINAL_NORM);
            unembedding = lm.floats(tied ? Qwen3Weights.EMBEDDING : Qwen3Weights.LM_HEAD);
        }
        SaeSpec spec = new SaeSpec();
        spec.dSae = 8;
        int d = config.hiddenSize();
        try (NDManager manager = Torch.engine().newBaseManager(Torch.device(false));
             TrainingSae sae = SaeArchitectures.of(spec.architecture).initialise(spec.withDefaults(), d, manager, 5);
             Qwen3Weights weights = Qwen3Weights.open(dir, config);
             Reports.Unembedding lens = Reports.Unembedding.load(weights, config, manager);
             Tokenizer tokenizer = Tokenizer.load(dir)) {
            float[] decoder = sae.parameters().get(TrainingSae.W_DEC).toFloatArray();

            Map<Integer, Report.TopLogits> lists = lens.topLogits(sae, List.of(2, 6), tokenizer, new HashMap<>());

            for (int latent : List.of(2, 6)) {
                assertDirectLogits(lists.get(latent), decoder, latent, norm, unembedding, tokenizer);
            }
        }
    }

    /**
     * Asserts that {@code top} lists the tokens of the 10 highest and lowest values of
     * Σ_d decoder[latent,d]·norm[d]·unembedding[v,d] (computed here in doubles), with those values.
     */
    static void assertDirectLogits(Report.TopLogits top, float[] decoder, int latent, float[] norm, float[] unembedding,
                                   Tokenizer tokenizer) {
        int d = norm.length;
        int vocabulary = unembedding.length / d;
        double[] values = new double[vocabulary];
        for (int v = 0; v < vocabulary; v++) {
            for (int k = 0; k < d; k++) {
                values[v] += (double) decoder[latent * d + k] * norm[k] * unembedding[v * d + k];
            }
        }
        List<Integer> order = IntStream.range(0, vocabulary).boxed().sorted(Comparator.comparingDouble(v -> -values[v])).toList();
        assertThat(top.positive()).hasSize(Reports.TOP_LOGITS);
        assertThat(top.negative()).hasSize(Reports.TOP_LOGITS);
        for (int t = 0; t < Reports.TOP_LOGITS; t++) {
            int highest = order.get(t);
            int lowest = order.get(vocabulary - 1 - t);
            assertThat(top.positive().get(t).get(0)).isEqualTo(tokenizer.decode(new long[]{highest}));
            assertThat((Double) top.positive().get(t).get(1)).isCloseTo(values[highest], within(1e-4));
            assertThat(top.negative().get(t).get(0)).isEqualTo(tokenizer.decode(new long[]{lowest}));
            assertThat((Double) top.negative().get(t).get(1)).isCloseTo(values[lowest], within(1e-4));
        }
    }
}
