package dev.saeforge.data;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Exact windows for every rule of SAELens' concat_and_batch_sequences (reference §3.1), with BOS
 * 99 and separator 98 as in SAELens' own tests, and resume from any window.
 */
class PackerTest {
    static final long BOS = 99;
    static final long SEP = 98;

    /** Documents from a list, pass after pass; a position is (pass, 0, index). */
    static final class ListDocuments implements TokenDocuments {
        private final List<long[]> documents;
        private long pass;
        private int index;

        ListDocuments(long[]... documents) {
            this.documents = List.of(documents);
        }

        @Override
        public long[] next() {
            long[] next = documents.get(index++);
            if (index == documents.size()) {
                index = 0;
                pass++;
            }
            return next;
        }

        @Override
        public TextPosition position() {
            return new TextPosition(pass, 0, index);
        }

        @Override
        public void seek(TextPosition position) {
            pass = position.epoch();
            index = (int) position.row();
        }
    }

    static long[] doc(long... tokens) {
        return tokens;
    }

    static List<long[]> windows(Packer packer, int n) {
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(packer.next());
        }
        return out;
    }

    static Packer packer(int context, Long bos, Long separator, boolean disableConcat, long[]... documents) {
        return new Packer(new Packer.Rules(context, bos, separator, disableConcat), new ListDocuments(documents));
    }

    @Test
    void bosStartsEveryWindowTheSeparatorSitsBetweenDocumentsAndOverflowContinuesAfterABos() {
        Packer packer = packer(5, BOS, SEP, false, doc(1, 2, 3), doc(4, 5, 6, 7, 8, 9, 10), doc(11, 12));

        assertThat(windows(packer, 3)).containsExactly(
                doc(99, 1, 2, 3, 98),       // document 2 starts in a partly filled window: separator first
                doc(99, 4, 5, 6, 7),        // ...and since the separator filled the window, it starts in the next, after BOS
                doc(99, 8, 9, 10, 98));     // its overflow starts a window with BOS and no separator
    }

    @Test
    void thePartialWindowAtTheEndOfTheDataIsDroppedAndTheNextPassStartsAFreshWindow() {
        Packer packer = packer(5, BOS, SEP, false, doc(1, 2, 3), doc(4, 5, 6, 7, 8, 9, 10), doc(11, 12));

        List<long[]> windows = windows(packer, 6);

        // [99, 11, 12] is the tail of pass 1: dropped. Pass 2 packs exactly as pass 1 did.
        assertThat(windows.subList(3, 6)).containsExactlyElementsOf(windows.subList(0, 3));
    }

    @Test
    void aDocumentThatAlreadyStartsWithBosOrTheSeparatorGetsNoSecondOne() {
        Packer packer = packer(5, BOS, SEP, false, doc(99, 1, 2), doc(98, 3, 4, 5, 6), doc(7, 8, 9, 10, 11, 12));

        assertThat(windows(packer, 3)).containsExactly(
                doc(99, 1, 2, 98, 3),
                doc(99, 4, 5, 6, 98),
                doc(99, 7, 8, 9, 10));
    }

    @Test
    void anOverflowWhoseNextTokenIsBosStartsItsWindowWithoutAnother() {
        Packer packer = packer(5, BOS, SEP, false, doc(1, 2, 3, 4, 99, 5, 6, 7, 8, 9));

        assertThat(windows(packer, 2)).containsExactly(doc(99, 1, 2, 3, 4), doc(99, 5, 6, 7, 8));
    }

    @Test
    void withoutBosAndSeparatorDocumentsAreSimplyConcatenated() {
        Packer packer = packer(4, null, null, false, doc(1, 2, 3), doc(4, 5, 6), doc(7, 8, 9));

        assertThat(windows(packer, 3)).containsExactly(doc(1, 2, 3, 4), doc(5, 6, 7, 8), doc(1, 2, 3, 4));
    }

    @Test
    void aSeparatorOtherThanBosIsUsedBetweenDocumentsAndBosAtWindowStarts() {
        Packer packer = packer(6, BOS, 7L, false, doc(1, 2), doc(3, 4), doc(5, 6, 8, 9), doc(10, 11, 12, 13, 14, 15));

        assertThat(windows(packer, 3)).containsExactly(doc(99, 1, 2, 7, 3, 4), doc(99, 5, 6, 8, 9, 7), doc(99, 10, 11, 12, 13, 14));
    }

    @Test
    void emptyDocumentsContributeNothingNotEvenASeparator() {
        Packer packer = packer(6, BOS, SEP, false, doc(1, 2), doc(), doc(3, 4), doc(), doc(5));

        assertThat(packer.next()).containsExactly(99, 1, 2, 98, 3, 4);
    }

    @Test
    void withConcatenationDisabledEachDocumentGivesAtMostOneWindowAndShortOnesAreDropped() {
        Packer packer = packer(5, BOS, SEP, true,
                doc(1, 2, 3, 4),                // context - 1 tokens: BOS + all of them
                doc(1, 2, 3),                   // too short: dropped
                doc(99, 1, 2, 3),               // starts with BOS but is shorter than the window: dropped
                doc(99, 5, 6, 7, 8, 9),         // starts with BOS: its first 5 tokens
                doc(10, 11, 12, 13, 14, 15, 16)); // BOS + its first 4 tokens, the rest dropped

        assertThat(windows(packer, 4)).containsExactly(
                doc(99, 1, 2, 3, 4),
                doc(99, 5, 6, 7, 8),
                doc(99, 10, 11, 12, 13),
                doc(99, 1, 2, 3, 4));
    }

    @Test
    void withConcatenationDisabledAndNoBosDocumentsAreTruncatedToTheWindow() {
        Packer packer = packer(3, null, null, true, doc(1, 2), doc(3, 4, 5, 6));

        assertThat(windows(packer, 2)).containsExactly(doc(3, 4, 5), doc(3, 4, 5));
    }

    @Test
    void aPackerRestoredFromTheStateAfterAnyWindowContinuesExactly() {
        long[][] documents = {doc(1, 2, 3), doc(4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14), doc(), doc(15), doc(98, 16, 17), doc(18, 19, 20, 21)};
        for (boolean disableConcat : new boolean[]{false, true}) {
            List<long[]> straight = windows(packer(4, BOS, SEP, disableConcat, documents), 12);
            for (int stop = 0; stop < 8; stop++) {
                Packer first = packer(4, BOS, SEP, disableConcat, documents);
                windows(first, stop);
                Packer.State state = first.state();

                Packer resumed = packer(4, BOS, SEP, disableConcat, documents);
                resumed.restore(state);

                assertThat(windows(resumed, 12 - stop)).as("resumed after window " + stop + ", disableConcat " + disableConcat)
                        .containsExactlyElementsOf(straight.subList(stop, 12));
            }
        }
    }

    @Test
    void dataTooShortForAnyWindowIsAnErrorNotAnEndlessLoop() {
        assertThatThrownBy(() -> packer(8, BOS, SEP, true, doc(1, 2), doc(3)).next())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("a whole pass over the data gave no complete window of 8 tokens (disableConcatSequences drops documents "
                        + "shorter than that); the dataset holds too little text");
        assertThatThrownBy(() -> packer(8, BOS, SEP, false, doc(1, 2), doc()).next())
                .hasMessageStartingWith("a whole pass over the data gave no complete window of 8 tokens;");
    }

    @Test
    void aOneTokenWindowWithBosIsRefused() {
        assertThatThrownBy(() -> new Packer.Rules(1, BOS, SEP, false))
                .hasMessage("spec.dataset.contextSize is 1 with prependBos, which leaves no room for text; expected at least 2, "
                        + "or prependBos: false");
    }
}
