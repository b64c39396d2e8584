package dev.saeforge.data;

/**
 * Tokenized documents in a fixed order that never ends (the data restarts at its end), able to say
 * where it is and to go back there.
 */
interface TokenDocuments {
    /** The next document's token ids (possibly none). */
    long[] next();

    /** Where the document the next {@link #next()} returns begins. */
    TextPosition position();

    /** Makes {@link #next()} return the document at {@code position}. */
    void seek(TextPosition position);
}
