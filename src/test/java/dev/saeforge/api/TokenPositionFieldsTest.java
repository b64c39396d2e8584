package dev.saeforge.api;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** spec.dataset.excludeSpecialTokens and spec.dataset.seqposSlice: SAELens' exclude_special_tokens and seqpos_slice. */
class TokenPositionFieldsTest {
    static DatasetSpec dataset(String fields) throws InvalidSpecException {
        String yaml = """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: positions}
                spec:
                  model: {name: tiny, uri: /models/tiny}
                  hook: blocks.0.hook_mlp_out
                  dataset: {uri: tiny://corpus, contextSize: 16, FIELDS}
                  sae: {expansionFactor: 2}
                  training: {tokens: 100000, batchSizeTokens: 64}
                """.replace("FIELDS", fields);
        return TrainingRuns.parse(yaml, "test").get(0).getSpec().dataset;
    }

    static List<Problem> problems(String fields) {
        try {
            dataset(fields);
        } catch (InvalidSpecException e) {
            return e.problems();
        }
        throw new AssertionError("accepted " + fields);
    }

    @Test
    void byDefaultEveryPositionOfEveryWindowIsKept() throws Exception {
        DatasetSpec dataset = dataset("prependBos: true");
        assertThat(dataset.excludeSpecialTokens.none()).isTrue();
        assertThat(dataset.seqposSlice.values()).containsExactly((Integer) null);
        assertThat(dataset.seqposSlice.positions(16)).hasSize(16);
    }

    @Test
    void excludeSpecialTokensIsTrueFalseOrAListOfIdsAndTokenStrings() throws Exception {
        assertThat(dataset("excludeSpecialTokens: true").excludeSpecialTokens.all()).isTrue();
        assertThat(dataset("excludeSpecialTokens: false").excludeSpecialTokens.none()).isTrue();
        ExcludedTokens listed = dataset("excludeSpecialTokens: [151643, \"<|im_end|>\"]").excludeSpecialTokens;
        assertThat(listed.all()).isFalse();
        assertThat(listed.listed()).containsExactly(151643L, "<|im_end|>");
        // Written back as given, so a checkpoint's trainingrun.yaml reads the same.
        assertThat(Mappers.json().valueToTree(listed).toString()).isEqualTo("[151643,\"<|im_end|>\"]");
    }

    @Test
    void aBadExcludeSpecialTokensIsRefusedNamingTheField() {
        for (String bad : List.of("\"yes\"", "3", "{ids: [1]}", "[1.5]", "[-1]", "[\"\"]", "[true]", "null")) {
            assertThat(problems("excludeSpecialTokens: " + bad)).as(bad)
                    .anySatisfy(p -> assertThat(p.path()).isEqualTo("spec.dataset.excludeSpecialTokens"));
        }
        assertThat(problems("excludeSpecialTokens: [1.5]").get(0).message()).contains("entry 0 (1.5)").contains("token id");
    }

    @Test
    void seqposSliceKeepsThePositionsPythonsSliceKeeps() throws Exception {
        // range(16)[slice(*s)] in Python
        assertThat(positions("[1, null]")).containsExactly(range(1, 16));
        assertThat(positions("[4]")).containsExactly(range(0, 4));
        assertThat(positions("[null, -2]")).containsExactly(range(0, 14));
        assertThat(positions("[-3, null]")).containsExactly(13, 14, 15);
        assertThat(positions("[2, 100]")).containsExactly(range(2, 16));
        assertThat(positions("[0, 10, 3]")).containsExactly(0, 3, 6, 9);
        assertThat(positions("[-100, 2]")).containsExactly(0, 1);
        assertThat(dataset("seqposSlice: [1, null]").seqposSlice.values()).containsExactly(1, null);
    }

    static int[] positions(String slice) throws InvalidSpecException {
        return dataset("seqposSlice: " + slice).seqposSlice.positions(16);
    }

    static int[] range(int from, int to) {
        return java.util.stream.IntStream.range(from, to).toArray();
    }

    @Test
    void aBadSeqposSliceIsRefusedNamingTheField() {
        for (String bad : List.of("[]", "[1, 2, 3, 4]", "[1.5]", "[\"a\"]", "[0, 4, 0]", "[0, 4, -1]", "3", "null")) {
            assertThat(problems("seqposSlice: " + bad)).as(bad)
                    .anySatisfy(p -> assertThat(p.path()).isEqualTo("spec.dataset.seqposSlice"));
        }
        List<Problem> empty = problems("seqposSlice: [10, 5]");
        assertThat(empty).singleElement().satisfies(p -> {
            assertThat(p.path()).isEqualTo("spec.dataset.seqposSlice");
            assertThat(p.message()).contains("[10, 5] keeps no position").contains("16 tokens");
        });
        assertThat(problems("seqposSlice: [16, null]").get(0).message()).contains("keeps no position");
    }

    @Test
    void bothAreDocumentedInTheCrdAndTakeAnyJsonShapeThere() throws Exception {
        String crd = java.nio.file.Files.readString(Crds.COMMITTED);
        assertThat(crd).contains("excludeSpecialTokens:").contains("exclude_special_tokens").contains("seqposSlice:").contains("seqpos_slice");
        // A boolean or a list: no single type in the schema, the shape is checked by validation.
        String field = crd.substring(crd.indexOf("excludeSpecialTokens:"), crd.indexOf("format:", crd.indexOf("excludeSpecialTokens:")));
        assertThat(field).contains("x-kubernetes-preserve-unknown-fields: true").doesNotContain("type:");
    }
}
