package dev.saeforge.data;

import java.util.Arrays;

/**
 * Packs tokenized documents into context windows exactly as SAELens' concat_and_batch_sequences
 * does for a text dataset (reference/saelens-qwen3.md §3.1):
 * <ul>
 * <li>every window starts with the BOS id, unless its first token already is that id;</li>
 * <li>a document that starts inside a partly filled window is preceded by the separator id,
 *     unless it already begins with it;</li>
 * <li>a document that does not fit continues in the next window, which starts with BOS and no
 *     separator;</li>
 * <li>only full windows are emitted: the partial window at the end of the data is dropped, and
 *     the next pass over the data starts a fresh window;</li>
 * <li>with {@code disableConcat}, each document gives at most one window, BOS and its first
 *     context - 1 tokens; shorter documents are dropped.</li>
 * </ul>
 * Empty documents contribute nothing, as in SAELens. Between windows the packer's whole state is
 * the document it is in and how far ({@link State}), so a run can resume at any window exactly.
 */
public final class Packer {
    /**
     * bos: SAELens' begin_batch_token_id (the BOS id when prepend_bos, else null); separator:
     * sequence_separator_token_id (null for none).
     */
    public record Rules(int contextSize, Long bos, Long separator, boolean disableConcat) {
        public Rules {
            if (contextSize < 1) {
                throw new IllegalArgumentException("context size must be >= 1, got " + contextSize);
            }
            if (bos != null && contextSize < 2) {
                // SAELens would emit windows holding only BOS forever.
                throw new IllegalArgumentException("spec.dataset.contextSize is 1 with prependBos, which leaves no room for text; "
                        + "expected at least 2, or prependBos: false");
            }
        }
    }

    /** Between two windows: the document the packer is in (where it begins) and how many of its tokens are used. */
    public record State(TextPosition document, int offset) {
    }

    private final Rules rules;
    private final TokenDocuments documents;
    private long[] document = new long[0];
    private TextPosition documentStart;
    private int offset;
    private long epochOfLastWindow;

    Packer(Rules rules, TokenDocuments documents) {
        this.rules = rules;
        this.documents = documents;
        this.documentStart = documents.position();
        this.epochOfLastWindow = documentStart.epoch();
    }

    public Rules rules() {
        return rules;
    }

    /** The next full window of {@code contextSize} token ids. */
    public long[] next() {
        long[] window = rules.disableConcat() ? nextSingleDocument() : nextConcatenated();
        epochOfLastWindow = documents.position().epoch();
        return window;
    }

    /** Where the packer stands; valid between calls to {@link #next()}. */
    public State state() {
        return offset < document.length ? new State(documentStart, offset) : new State(documents.position(), 0);
    }

    /** Puts the packer (and its documents) back where {@link #state()} said it was. */
    public void restore(State state) {
        documents.seek(state.document());
        documentStart = state.document();
        document = new long[0];
        offset = 0;
        if (state.offset() > 0) {
            document = documents.next();
            if (state.offset() > document.length) {
                throw new IllegalArgumentException("the document at " + state.document() + " has " + document.length
                        + " tokens, fewer than the saved offset " + state.offset() + "; the data or tokenizer changed since the checkpoint");
            }
            offset = state.offset();
        }
        epochOfLastWindow = state.document().epoch();
    }

    private long[] nextConcatenated() {
        int size = rules.contextSize();
        long[] window = new long[size];
        int filled = 0;
        while (true) {
            if (offset >= document.length) {
                TextPosition next = documents.position();
                if (next.epoch() != documentStart.epoch()) {
                    // The end of the data: SAELens' generator ends there and drops the partial window.
                    filled = 0;
                }
                documentStart = next;
                checkProgress();
                document = documents.next();
                offset = 0;
                continue;
            }
            long first = document[offset];
            if (filled == 0) {
                if (rules.bos() != null && first != rules.bos()) {
                    window[filled++] = rules.bos();
                }
            } else if (rules.separator() != null && first != rules.separator()) {
                // Only a new document meets a partly filled window: an overflowing one starts a fresh window.
                window[filled++] = rules.separator();
            }
            int take = Math.min(size - filled, document.length - offset);
            System.arraycopy(document, offset, window, filled, take);
            filled += take;
            offset += take;
            if (filled == size) {
                return window;
            }
        }
    }

    private long[] nextSingleDocument() {
        int size = rules.contextSize();
        while (true) {
            checkProgress();
            long[] tokens = documents.next();
            if (tokens.length == 0) {
                continue;
            }
            Long bos = rules.bos();
            if (bos != null && tokens[0] != bos) {
                if (tokens.length >= size - 1) {
                    long[] window = new long[size];
                    window[0] = bos;
                    System.arraycopy(tokens, 0, window, 1, size - 1);
                    return window;
                }
            } else if (tokens.length >= size) {
                return Arrays.copyOf(tokens, size);
            }
        }
    }

    /** A whole pass over the data that yields no window would repeat forever. */
    private void checkProgress() {
        if (documents.position().epoch() > epochOfLastWindow + 1) {
            throw new IllegalStateException("a whole pass over the data gave no complete window of " + rules.contextSize()
                    + " tokens" + (rules.disableConcat() ? " (disableConcatSequences drops documents shorter than that)" : "")
                    + "; the dataset holds too little text");
        }
    }
}
