package dev.saeforge.lm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The tiny byte-level BPE tokenizer, read by the Hugging Face tokenizers library through DJL. */
class TokenizerTest {
    @TempDir
    Path dir;

    @Test
    void theLearnedMergesApplyAndEveryTextRoundTrips() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults());
        ByteLevelBpe bpe = ByteLevelBpe.train(TinyQwen3.CORPUS, 300 - 259);
        assertThat(bpe.merges()).hasSize(41).contains("Ġ t", "h e");

        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            long[] ids = tokenizer.encode(TinyQwen3.CORPUS);
            assertThat(ids.length).as("merges shorten the text").isLessThan(TinyQwen3.CORPUS.length() * 2 / 3);
            assertThat(Arrays.stream(ids).max().orElseThrow()).isLessThan(bpe.firstSpecialId());
            assertThat(tokenizer.decode(ids)).isEqualTo(TinyQwen3.CORPUS);

            String unicode = "héllo wörld 😀\n\ttabs  and  spaces 12345";
            assertThat(tokenizer.decode(tokenizer.encode(unicode))).isEqualTo(unicode);
            assertThat(tokenizer.encode("é")).as("two UTF-8 bytes, no merge").hasSize(2);

            String longText = TinyQwen3.CORPUS.repeat(20);
            assertThat(tokenizer.decode(tokenizer.encode(longText))).as("nothing truncated").isEqualTo(longText);
        }
    }

    @Test
    void specialTokensAreSingleIdsAfterTheMerges() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults());
        try (Tokenizer tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"))) {
            long[] ids = tokenizer.encode("the<|endoftext|>");
            assertThat(ids[ids.length - 1]).isEqualTo(297);
            assertThat(tokenizer.encode("<|im_end|>")).containsExactly(299);
        }
    }

    @Test
    void theByteAlphabetIsGpt2s() {
        char[] map = ByteLevelBpe.byteToUnicode();
        assertThat(map[' ']).isEqualTo('Ġ');
        assertThat(map['\n']).isEqualTo('Ċ');
        assertThat(map['a']).isEqualTo('a');
        assertThat(new String(map).chars().distinct().count()).isEqualTo(256);
    }

    @Test
    void aMissingOrBrokenTokenizerIsNamed() throws IOException {
        assertThatThrownBy(() -> Tokenizer.load(dir)).isInstanceOf(InvalidModelException.class)
                .hasMessage(dir.resolve("tokenizer.json") + " does not exist; the model's tokenizer is read from its tokenizer.json");
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": 3}");
        assertThatThrownBy(() -> Tokenizer.load(dir)).isInstanceOf(InvalidModelException.class)
                .hasMessageStartingWith(dir.resolve("tokenizer.json") + " is not a tokenizer the Hugging Face tokenizers library reads");
    }
}
