package dev.saeforge.data;

/**
 * A pre-tokenized dataset's rows as documents, each checked against the run: SAELens takes each
 * row of a tokenized dataset as one window, its first context_size ids, the BOS and separators
 * already in it (as its PretokenizeRunner packed them). Packed with {@link #packing}, every row
 * gives exactly that window. A row shorter than a window, or holding an id the model has no
 * embedding for (the data was tokenized for another model), stops the run at that row: training on
 * it would be wrong whatever spec.dataset.malformedRows says.
 */
final class TokenRows implements TokenDocuments {
    private final TextStream rows;
    private final int contextSize;
    private final long vocabSize;

    TokenRows(TextStream rows, int contextSize, long vocabSize) {
        this.rows = rows;
        this.contextSize = contextSize;
        this.vocabSize = vocabSize;
    }

    /** Packing that takes each row's first contextSize ids as they are: no BOS, no separator, one window per row. */
    static Packer.Rules packing(int contextSize) {
        return new Packer.Rules(contextSize, null, null, true);
    }

    @Override
    public long[] next() {
        long[] ids = rows.nextTokens();
        if (ids.length < contextSize) {
            throw new IllegalArgumentException(rows.lastRow() + " holds " + ids.length + " token ids, fewer than spec.dataset.contextSize "
                    + contextSize + "; each pre-tokenized row is one window, so pretokenize with --context-size " + contextSize
                    + " or lower spec.dataset.contextSize");
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new IllegalArgumentException(rows.lastRow() + " holds token id " + ids[i] + " at index " + i + ", outside the model's "
                        + vocabSize + "-id vocabulary (0 to " + (vocabSize - 1) + "); the dataset was tokenized with another tokenizer");
            }
        }
        return ids;
    }

    @Override
    public TextPosition position() {
        return rows.position();
    }

    @Override
    public void seek(TextPosition position) {
        rows.seek(position);
    }
}
