package dev.saeforge.data;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.SplittableRandom;

/**
 * tiny://corpus: a small corpus of the project's own text, generated from a fixed seed so that
 * every machine gets the same bytes. Documents are short notes, lab logs, dialogue and lists about
 * training sparse autoencoders, with numbers, quotes and punctuation in varied places, so that a
 * language model's activations over it have some structure. It is written as JSON Lines into the
 * cache on first use, and from then on read like any other jsonl dataset.
 */
public final class TinyCorpus {
    public static final String LOCATION = "tiny://corpus";
    /** Change the version when the generator changes, so old caches are not mistaken for the new text. */
    static final String FILE = "tiny-corpus-v1.jsonl";
    static final int DOCUMENTS = 10_000;
    private static final long SEED = 20250101L;

    private static final List<String> SUBJECTS = List.of("the model", "the autoencoder", "the researcher", "our team", "the trainer",
            "a feature", "the dictionary", "the tokenizer", "each layer", "the residual stream", "the encoder", "the decoder",
            "a latent", "the optimizer", "the evaluation", "the checkpoint");
    private static final List<String> VERBS = List.of("reads", "writes", "finds", "measures", "tracks", "ignores", "compresses",
            "explains", "predicts", "splits", "mixes", "stores", "loads", "sorts", "counts", "shares");
    private static final List<String> OBJECTS = List.of("the activations", "every token", "a sparse code", "the loss", "the next word",
            "quoted speech", "the numbers", "a long sentence", "the threshold", "the batch", "the gradient", "the learning rate",
            "a dead latent", "the variance", "the context window", "the first paragraph");
    private static final List<String> ADVERBS = List.of("slowly", "again", "carefully", "at once", "in order", "by hand", "twice",
            "without error", "on the GPU", "on a laptop", "every night", "before lunch");
    private static final List<String> NAMES = List.of("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John",
            "Leslie", "Margaret", "Claude", "Ken");
    private static final List<String> TOPICS = List.of("sparsity", "superposition", "dead features", "shrinkage", "the L0 penalty",
            "feature splitting", "the bandwidth", "warm-up steps", "the mixing buffer", "cross-entropy", "explained variance");

    private TinyCorpus() {
    }

    /** The corpus file in {@code cacheDir}, written there first if missing. */
    public static Path materialize(Path cacheDir) throws IOException {
        Path file = cacheDir.resolve("datasets/tiny").resolve(FILE);
        if (Files.isRegularFile(file)) {
            return file;
        }
        Files.createDirectories(file.getParent());
        Path staging = Files.createTempFile(file.getParent(), FILE, ".writing");
        ObjectMapper json = new ObjectMapper();
        try (Writer out = Files.newBufferedWriter(staging, StandardCharsets.UTF_8)) {
            SplittableRandom random = new SplittableRandom(SEED);
            for (int i = 0; i < DOCUMENTS; i++) {
                out.write(json.writeValueAsString(java.util.Map.of("text", document(random))));
                out.write('\n');
            }
        }
        Files.move(staging, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return file;
    }

    static String document(SplittableRandom random) {
        return switch (random.nextInt(4)) {
            case 0 -> note(random);
            case 1 -> log(random);
            case 2 -> dialogue(random);
            default -> list(random);
        };
    }

    private static String note(SplittableRandom r) {
        StringBuilder out = new StringBuilder("On " + pick(r, TOPICS) + ". ");
        int sentences = 3 + r.nextInt(8);
        for (int i = 0; i < sentences; i++) {
            out.append(sentence(r)).append(' ');
        }
        return out.toString().strip();
    }

    private static String log(SplittableRandom r) {
        StringBuilder out = new StringBuilder("Run " + (100 + r.nextInt(900)) + ", day " + (1 + r.nextInt(30)) + ".");
        int entries = 3 + r.nextInt(6);
        int step = 0;
        for (int i = 0; i < entries; i++) {
            step += 100 * (1 + r.nextInt(20));
            out.append(String.format(" Step %d: loss %.3f, L0 %d, explained variance %.2f.", step, 0.2 + 2 * r.nextDouble(),
                    5 + r.nextInt(120), 0.5 + 0.49 * r.nextDouble()));
            if (r.nextInt(3) == 0) {
                out.append(' ').append(sentence(r));
            }
        }
        return out.toString();
    }

    private static String dialogue(SplittableRandom r) {
        StringBuilder out = new StringBuilder();
        int turns = 2 + r.nextInt(5);
        for (int i = 0; i < turns; i++) {
            out.append(pick(r, NAMES)).append(" said, \"")
                    .append(capitalise(sentence(r).replaceAll("\\.$", r.nextBoolean() ? "?" : "!")))
                    .append("\" ");
        }
        return out.toString().strip();
    }

    private static String list(SplittableRandom r) {
        StringBuilder out = new StringBuilder("Things to check about " + pick(r, TOPICS) + ":");
        int items = 3 + r.nextInt(7);
        for (int i = 1; i <= items; i++) {
            out.append(' ').append(i).append(". ").append(capitalise(pick(r, SUBJECTS))).append(' ').append(pick(r, VERBS))
                    .append(' ').append(pick(r, OBJECTS)).append(';');
        }
        out.setCharAt(out.length() - 1, '.');
        return out.toString();
    }

    private static String sentence(SplittableRandom r) {
        String s = pick(r, SUBJECTS) + " " + pick(r, VERBS) + " " + pick(r, OBJECTS);
        if (r.nextInt(3) == 0) {
            s += " " + pick(r, ADVERBS);
        }
        if (r.nextInt(4) == 0) {
            s += ", and " + pick(r, SUBJECTS) + " " + pick(r, VERBS) + " " + (1 + r.nextInt(4096)) + " of them";
        }
        return capitalise(s) + ".";
    }

    private static String pick(SplittableRandom r, List<String> words) {
        return words.get(r.nextInt(words.size()));
    }

    private static String capitalise(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
