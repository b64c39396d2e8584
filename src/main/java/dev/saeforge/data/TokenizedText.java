package dev.saeforge.data;

import dev.saeforge.lm.Tokenizer;

/** A text stream's documents as token ids, each tokenized alone without special tokens (TransformerLens' to_tokens(prepend_bos=False)). */
final class TokenizedText implements TokenDocuments {
    private final TextStream text;
    private final Tokenizer tokenizer;

    TokenizedText(TextStream text, Tokenizer tokenizer) {
        this.text = text;
        this.tokenizer = tokenizer;
    }

    @Override
    public long[] next() {
        return tokenizer.encode(text.next());
    }

    @Override
    public TextPosition position() {
        return text.position();
    }

    @Override
    public void seek(TextPosition position) {
        text.seek(position);
    }
}
