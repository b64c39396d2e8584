package dev.saeforge.data;

import dev.saeforge.api.DatasetSpec;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The documents of a dataset, one pass after another. Each pass reads the files in an order drawn
 * from the seed and the pass number (the same on every machine), each file from its first row to
 * its last. At the end of the data it warns and starts the next pass, as SAELens starts a new
 * epoch. {@link #position()} and {@link #seek} make a resumed run read exactly the documents it
 * would have read.
 *
 * <p>Malformed rows (not JSON, no text field, a null text, not UTF-8, a line longer than
 * spec.dataset.maxRecordBytes) and files lacking the text column stop the stream with an error naming the file and row, or, with spec.dataset.malformedRows: skip, are
 * skipped, counted and warned about.
 */
final class TextStream implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(TextStream.class);
    /** Malformed rows warned about one by one before only the counts are reported. */
    private static final int WARNINGS = 10;

    /** Rows that are not for this stream (held out for evaluation, or only those). */
    interface RowFilter {
        boolean accepts(String shard, long row);

        RowFilter ALL = (shard, row) -> true;
    }

    private final List<Shard> shards;
    private final DatasetSpec.Format format;
    private final RowReader.Column column;
    private final boolean skipMalformed;
    private final int maxRecordBytes;
    private final long seed;
    private final RowFilter filter;
    private final String description;
    private long epoch;
    private int shard;
    private long row;
    private int[] order;
    private long orderEpoch = -1;
    private RowReader reader;
    private long skippedRows;
    private long skippedFiles;
    private long documentsThisEpoch;
    private boolean onePass;

    TextStream(List<Shard> shards, DatasetSpec.Format format, String textField, DatasetSpec.MalformedRows malformedRows,
               int maxRecordBytes, long seed, RowFilter filter, String description) {
        this(shards, format, RowReader.Column.text(textField), malformedRows, maxRecordBytes, seed, filter, description);
    }

    /** A stream of the documents in {@code column}: texts (rendered conversations too), or token ids for {@link #nextTokens()}. */
    TextStream(List<Shard> shards, DatasetSpec.Format format, RowReader.Column column, DatasetSpec.MalformedRows malformedRows,
               int maxRecordBytes, long seed, RowFilter filter, String description) {
        if (shards.isEmpty()) {
            throw new IllegalArgumentException(description + " holds no files");
        }
        for (Shard file : shards) {
            TextFormat fileFormat = TextFormat.of(format, file.fileName());
            if (column.chat() != null && fileFormat == TextFormat.TEXT) {
                throw new IllegalArgumentException("spec.dataset.chatTemplate reads conversations from JSON Lines or Parquet files, but "
                        + file.name() + " is text; give rows with a \"" + column.names().get(0) + "\" list of messages");
            }
        }
        this.shards = shards;
        this.format = format;
        this.column = column;
        this.skipMalformed = malformedRows == DatasetSpec.MalformedRows.SKIP;
        this.maxRecordBytes = maxRecordBytes;
        this.seed = seed;
        this.filter = filter;
        this.description = description;
    }

    /** The next document's text. */
    String next() {
        return nextRow().text();
    }

    /** The next document's token ids (a stream of a token column). */
    long[] nextTokens() {
        return nextRow().tokens();
    }

    /** "FILE row N": the row the last document came from, for messages. */
    String lastRow() {
        return shardName() + " row " + row;
    }

    private RowReader.Row nextRow() {
        try {
            while (true) {
                if (reader == null) {
                    if (!open()) {
                        continue;
                    }
                }
                RowReader.Row next = reader.next();
                if (next == null) {
                    endOfFile();
                    continue;
                }
                long current = row++;
                String name = shardName();
                if (next.isBlank() || !filter.accepts(name, current)) {
                    continue;
                }
                if (next.problem() != null) {
                    malformed(name + " row " + (current + 1) + " " + next.problem());
                    continue;
                }
                documentsThisEpoch++;
                return next;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    TextPosition position() {
        return new TextPosition(epoch, shard, row);
    }

    void seek(TextPosition position) {
        if (position.shard() >= shards.size()) {
            throw new IllegalArgumentException("the saved position names file " + position.shard() + " of a pass, but " + description
                    + " has " + shards.size() + " files; the data changed since the checkpoint");
        }
        closeReader();
        epoch = position.epoch();
        shard = position.shard();
        row = position.row();
        documentsThisEpoch = row > 0 || shard > 0 ? 1 : 0;
    }

    /** For a reader of one pass only, which reads into the next merely to find the end: no warning that it starts. */
    TextStream readingOnePass() {
        onePass = true;
        return this;
    }

    long skippedRows() {
        return skippedRows;
    }

    long skippedFiles() {
        return skippedFiles;
    }

    int files() {
        return shards.size();
    }

    /** The file names in the order pass {@code pass} reads them. */
    List<String> order(long pass) {
        return java.util.Arrays.stream(orderOf(pass)).mapToObj(i -> shards.get(i).name()).toList();
    }

    private boolean open() throws IOException {
        Shard file = shards.get(orderOf(epoch)[shard]);
        try {
            reader = RowReader.open(file.local(), file.name(), TextFormat.of(format, file.fileName()), column, row, maxRecordBytes);
            return true;
        } catch (RowReader.MissingColumnException e) {
            if (!skipMalformed) {
                throw new IllegalArgumentException(e.getMessage() + " (or set spec.dataset.malformedRows: skip to skip such files)", e);
            }
            skippedFiles++;
            LOG.warnf("skipping %s (%d files skipped so far): %s", file.name(), skippedFiles, e.getMessage());
            endOfFile();
            return false;
        }
    }

    private void endOfFile() {
        closeReader();
        shard++;
        row = 0;
        if (shard == shards.size()) {
            if (documentsThisEpoch == 0) {
                throw new IllegalStateException(description + " holds no documents" + (skippedRows + skippedFiles > 0
                        ? " that could be read (" + skippedRows + " malformed rows and " + skippedFiles + " files skipped)" : ""));
            }
            shard = 0;
            epoch++;
            documentsThisEpoch = 0;
            if (!onePass) {
                LOG.warnf("all of %s has been read; starting pass %d over it", description, epoch + 1);
            }
        }
    }

    private void malformed(String problem) {
        if (!skipMalformed) {
            throw new IllegalArgumentException(problem + " (or set spec.dataset.malformedRows: skip to skip such rows)");
        }
        skippedRows++;
        if (skippedRows <= WARNINGS || Long.bitCount(skippedRows) == 1) {
            LOG.warnf("skipping malformed row (%d so far): %s", skippedRows, problem);
        }
    }

    private String shardName() {
        return shards.get(orderOf(epoch)[shard]).name();
    }

    /** A Fisher-Yates shuffle of the files, seeded by the seed and the pass. */
    private int[] orderOf(long pass) {
        if (pass != orderEpoch) {
            int[] indices = new int[shards.size()];
            for (int i = 0; i < indices.length; i++) {
                indices[i] = i;
            }
            SplittableRandom random = new SplittableRandom(new SplittableRandom(seed).split().nextLong() ^ pass * 0x9E3779B97F4A7C15L);
            for (int i = indices.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = indices[i];
                indices[i] = indices[j];
                indices[j] = t;
            }
            order = indices;
            orderEpoch = pass;
        }
        return order;
    }

    private void closeReader() {
        if (reader != null) {
            try {
                reader.close();
            } catch (IOException ignored) {
                // a read-only file that fails to close loses nothing
            }
            reader = null;
        }
    }

    @Override
    public void close() {
        closeReader();
    }
}
