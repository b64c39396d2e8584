package dev.saeforge.data;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The documents held out for evaluation: the first documents of the data, in the first pass's
 * file order, packed into windows exactly as training packs its own, until they fill the
 * evaluation's windows. Training skips them on every pass, so evaluation always measures text the
 * SAE never trained on; finding them reads only the start of the first file. With a separate
 * evaluation dataset ({@link #separate}) the windows are its first ones and training skips nothing.
 */
final class HeldOut implements TextStream.RowFilter {
    private final List<long[]> windows;
    /** File name to the number of its first rows held out. */
    private final Map<String, Long> rows;
    private final String description;

    private HeldOut(List<long[]> windows, Map<String, Long> rows, String description) {
        this.windows = windows;
        this.rows = rows;
        this.description = description;
    }

    /** Packs {@code count} windows from the start of {@code text} (a stream of all the data, no filter). */
    static HeldOut take(TextStream text, TokenDocuments tokens, Packer.Rules rules, int count) {
        text.seek(TextPosition.START);
        Packer packer = new Packer(rules, tokens);
        List<long[]> windows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            windows.add(packer.next());
        }
        Packer.State end = packer.state();
        TextPosition boundary = end.document();
        if (end.offset() > 0) {
            // The evaluation used part of this document: hold all of it out.
            text.seek(boundary);
            text.next();
            boundary = text.position();
        }
        if (boundary.epoch() > 0) {
            throw new IllegalArgumentException("the dataset is too small: the " + count + " windows held out for evaluation "
                    + "(spec.training.evalBatches * spec.dataset.storeBatchSizePrompts) take all of its text, leaving none to train on");
        }
        List<String> order = text.order(0);
        Map<String, Long> rows = new HashMap<>();
        for (int i = 0; i < boundary.shard(); i++) {
            rows.put(order.get(i), Long.MAX_VALUE);
        }
        if (boundary.row() > 0) {
            rows.put(order.get(boundary.shard()), boundary.row());
        }
        String description = windows.size() + " windows from the first " + rows.values().stream().mapToLong(r -> r)
                .filter(r -> r != Long.MAX_VALUE).sum() + " rows" + (rows.containsValue(Long.MAX_VALUE) ? " and "
                + rows.values().stream().filter(r -> r == Long.MAX_VALUE).count() + " whole files" : "") + " held out";
        return new HeldOut(List.copyOf(windows), Map.copyOf(rows), description);
    }

    /**
     * Up to {@code count} windows packed from the start of a separate evaluation dataset
     * ({@code text}, read in its first pass's file order, at most {@code maxRows} of its documents
     * when not null), as many as that text fills; the partial window at its end is dropped, as
     * SAELens drops it. Training holds nothing out. {@code location} and {@code field} (its spec
     * section) name the dataset in messages.
     */
    static HeldOut separate(TextStream text, TokenDocuments tokens, Packer.Rules rules, int count, Long maxRows, String location,
                            String field) {
        text.seek(TextPosition.START);
        FirstDocuments first = new FirstDocuments(tokens, maxRows == null ? Long.MAX_VALUE : maxRows);
        Packer packer = new Packer(rules, first);
        List<long[]> windows = new ArrayList<>();
        try {
            while (windows.size() < count) {
                windows.add(packer.next());
            }
        } catch (FirstDocuments.End end) {
            // The evaluation takes the windows the text filled.
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(field + ".uri: " + e.getMessage(), e);
        }
        String read = first.read + (first.read == 1 ? " row" : " rows") + (first.ended ? (maxRows != null && first.read == maxRows
                ? " (" + field + ".rows)" : " (all of it)") : "");
        if (windows.isEmpty()) {
            throw new IllegalArgumentException(field + ": the first " + read + " of " + location + " fill no window of "
                    + rules.contextSize() + " tokens" + (rules.disableConcat() ? " (disableConcatSequences drops shorter documents)" : "")
                    + "; expected evaluation text of at least one window");
        }
        return new HeldOut(List.copyOf(windows), Map.of(), windows.size() + " evaluation windows from the first " + read + " of "
                + location);
    }

    /** The first documents of the first pass over the data, at most a given number; then {@link End}. */
    private static final class FirstDocuments implements TokenDocuments {
        private final TokenDocuments documents;
        private final long limit;
        private long read;
        private boolean ended;

        /** Past the last document to read. */
        static final class End extends RuntimeException {
            End() {
                super(null, null, false, false);
            }
        }

        FirstDocuments(TokenDocuments documents, long limit) {
            this.documents = documents;
            this.limit = limit;
        }

        @Override
        public long[] next() {
            if (read < limit) {
                long[] document = documents.next();
                if (documents.position().epoch() == 0) {
                    read++;
                    return document;
                }
            }
            ended = true;
            throw new End();
        }

        @Override
        public TextPosition position() {
            return documents.position();
        }

        @Override
        public void seek(TextPosition position) {
            documents.seek(position);
        }
    }

    /** The evaluation windows, in order. */
    List<long[]> windows() {
        return windows;
    }

    /** Where the evaluation windows come from, for messages. */
    String describe() {
        return description;
    }

    @Override
    public boolean accepts(String shard, long row) {
        Long held = rows.get(shard);
        return held == null || row >= held;
    }
}
