package dev.saeforge.data;

import dev.saeforge.api.DatasetSpec;

import java.util.Locale;

/** How a dataset file holds its documents, chosen from spec.dataset.format or the file name. */
enum TextFormat {
    /** One JSON object per line (.jsonl, .ndjson, .json), optionally .gz or .zst compressed. */
    JSONL,
    /** A Parquet table; the text is one of its string columns. */
    PARQUET,
    /** Plain text, one document per line (as Hugging Face's text loader reads it), optionally .gz or .zst compressed. */
    TEXT;

    /** The file names a dataset listing keeps when the format is auto. */
    static boolean isDataFile(String name) {
        return detect(name) != null;
    }

    /** The format {@code format} names, or (auto) the one {@code fileName} has; an unknown name is an error. */
    static TextFormat of(DatasetSpec.Format format, String fileName) {
        return switch (format) {
            case JSONL -> JSONL;
            case PARQUET -> PARQUET;
            case TEXT -> TEXT;
            case AUTO -> {
                TextFormat detected = detect(fileName);
                if (detected == null) {
                    throw new IllegalArgumentException(fileName + ": cannot tell its format from the name; expected .jsonl, .jsonl.gz, "
                            + ".jsonl.zst, .parquet or .txt, or set spec.dataset.format");
                }
                yield detected;
            }
        };
    }

    private static TextFormat detect(String fileName) {
        String name = Compression.strip(fileName.toLowerCase(Locale.ROOT));
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson") || name.endsWith(".json")) {
            return JSONL;
        }
        if (name.endsWith(".parquet")) {
            return fileName.toLowerCase(Locale.ROOT).endsWith(".parquet") ? PARQUET : null;
        }
        if (name.endsWith(".txt")) {
            return TEXT;
        }
        return null;
    }

    /** Whole-file compression of line-based files, by suffix. */
    enum Compression {
        NONE, GZIP, ZSTD;

        static Compression of(String fileName) {
            String name = fileName.toLowerCase(Locale.ROOT);
            return name.endsWith(".gz") ? GZIP : name.endsWith(".zst") || name.endsWith(".zstd") ? ZSTD : NONE;
        }

        static String strip(String fileName) {
            return fileName.replaceAll("\\.(gz|zst|zstd)$", "");
        }
    }
}
