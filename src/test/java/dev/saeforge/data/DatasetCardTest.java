package dev.saeforge.data;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A dataset card's configs as HF datasets reads them: which config is the default, and what its patterns match. */
class DatasetCardTest {
    static final List<String> FILES = List.of("top.parquet", "data/flat.parquet", "data/a/one.parquet", "data/a/deep/two.parquet",
            "data/.cache/hidden.parquet", "data/__pycache__/special.parquet", "data/a/notes.csv", "README.md");

    private static List<String> files(String card, String config, String split) {
        return DatasetCard.parse(card, "README.md").choose(config, split, FILES, TextFormat::isDataFile, "hf://datasets/o/n").files();
    }

    private static String card(String configs) {
        return "---\nconfigs:\n" + configs + "---\n";
    }

    @Test
    void aStarStaysInOneFolderAndTwoStarsSpanAnyNumber() {
        assertThat(files(card("- config_name: c\n  data_files: data/*/*\n"), null, null)).containsExactly("data/a/one.parquet");
        assertThat(files(card("- config_name: c\n  data_files: data/**\n"), null, null))
                .containsExactly("data/a/deep/two.parquet", "data/a/one.parquet", "data/flat.parquet");
        assertThat(files(card("- config_name: c\n  data_files: '**/*.parquet'\n"), null, null))
                .containsExactly("data/a/deep/two.parquet", "data/a/one.parquet", "data/flat.parquet", "top.parquet");
    }

    @Test
    void hiddenAndDoubleUnderscoreFoldersOnlyWhenThePatternNamesThem() {
        assertThat(files(card("- config_name: c\n  data_files: [data/.cache/*, data/__*/*]\n"), null, null))
                .containsExactly("data/.cache/hidden.parquet", "data/__pycache__/special.parquet");
    }

    @Test
    void theDefaultIsTheOneMarkedOrNamedDefaultOrTheOnlyOne() {
        String two = "- config_name: a\n  data_files: top.parquet\n- config_name: b\n  data_files: data/flat.parquet\n";
        assertThat(files(card(two.replace("name: b\n", "name: b\n  default: true\n")), null, null)).containsExactly("data/flat.parquet");
        assertThat(files(card("- config_name: only\n  data_files: top.parquet\n"), null, null)).containsExactly("top.parquet");
        assertThatThrownBy(() -> files(card(two), null, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hf://datasets/o/n: the dataset card (README.md) has no default config; name one as hf://datasets/o/n:CONFIG,"
                        + " one of a, b");
    }

    @Test
    void dataDirHoldsTheConfigsFilesAndWithoutDataFilesItsTrainSplitIsInferred() {
        assertThat(files(card("- config_name: c\n  data_dir: data/a\n  data_files: '*'\n"), null, null)).containsExactly("data/a/one.parquet");
        assertThat(files(card("- config_name: c\n  data_dir: data\n"), null, "train"))
                .containsExactly("data/a/deep/two.parquet", "data/a/one.parquet", "data/flat.parquet");
    }

    @Test
    void aMalformedCardIsRefusedNamingTheConfigAndWhatWasExpected() {
        assertThatThrownBy(() -> files(card("- config_name: c\n  data_files: {train: top.parquet}\n"), null, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("README.md: config \"c\": data_files is {\"train\":\"top.parquet\"}; expected a pattern, a list of patterns,"
                        + " or a list of {split, path} with path a pattern or a list of them");
        assertThatThrownBy(() -> files(card("- config_name: c\n  data_files: data/missing.parquet\n"), null, null))
                .hasMessage("hf://datasets/o/n: config \"c\" names data file data/missing.parquet, which the repository does not hold");
    }
}
