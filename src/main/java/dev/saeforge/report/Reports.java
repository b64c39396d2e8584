package dev.saeforge.report;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.data.InputFiles;
import dev.saeforge.data.ReportTokens;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.Qwen3Config;
import dev.saeforge.lm.Qwen3Weights;
import dev.saeforge.lm.Tokenizer;
import dev.saeforge.sae.SaeArchitectures;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.Directories;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.tensor.Precision;
import dev.saeforge.tensor.SafetensorsArrays;
import dev.saeforge.tensor.Torch;
import dev.saeforge.train.MetricsHistory;
import dev.saeforge.store.Safetensors;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Writes the report of a checkpoint (report.json and index.html), from the checkpoint alone: its
 * trainingrun.yaml (model, hooks, data), each SAE's SAELens files, its metrics.jsonl (curves;
 * checkpoints of older runs have none, and get no curves) and its activation stream's position
 * (where the held-out tokens start when the run has no spec.dataset.eval, {@link ReportTokens}).
 * The SAEs are built with their architecture's {@code fromParameters}, as cfg.json names it (a
 * final batchtopk SAE is saved as jumprelu), and encode their inputs as the evaluation does:
 * run-time normalisation, and the activation scale of activation_scaler.json while it is unfolded.
 * One forward pass of the run's model per batch feeds every SAE, each at its hook.
 *
 * <p>Curves keep at most {@link #CURVE_POINTS} points (the first, the last and evenly spaced
 * ones between), so that a run that logged 29k times still makes a small page.
 *
 * <p>Memory and time at Qwen3-8B scale (d_in 4096, d_sae 65536, a batch of 16 windows of 1024
 * tokens): nothing grows with the tokens. While one SAE reads a batch the engine holds its
 * features, 16384 × 65536 float32 = 4 GiB (masked in place), the encoder's intermediates, and one
 * boolean comparison (1 GiB) at a time for the histogram; they are freed before the next SAE's. Java holds per latent its count, maximum and 32 histogram bins (17 MiB
 * for all) and 10 contexts of at most 17 tokens with their activations (about 170 MiB for all,
 * once full); per batch it reads back [d_sae]-sized counts and maxima, the top 10 rows of every
 * latent (5 MiB) and the spans of the contexts that entered a top 10. The time is the forward
 * pass to the deepest hook (about 2·parameters flops a token, 16 PFLOP for 1M tokens through all
 * of Qwen3-8B) plus the encoder, 2·d_in·d_sae flops a token (0.5 PFLOP for 1M tokens); the
 * histogram's 31 comparisons an element cost about 1% of the encoder. The logit lens reads the
 * final norm and lm_head (vocabulary × d_in, 2.5 GiB in float32) once, for the carded latents only.
 */
public final class Reports {
    public static final String JSON_FILE = "report.json";
    public static final String PAGE_FILE = "index.html";
    static final int CURVE_POINTS = 2000;
    static final int TOP_LOGITS = 10;
    /** Density histogram bins per decade of log10 frequency. */
    static final int DENSITY_BINS_PER_DECADE = 4;
    /** Where the activation stream stopped, as the trainer's Checkpointer writes it. */
    private static final String STREAM_POSITION = "activation_stream.json";
    /** Checkpoint files a report does not read. */
    private static final List<String> UNREAD = List.of("activation_stream.safetensors", SaeLensCheckpoint.TRAINER_STATE,
            SaeLensCheckpoint.SPARSITY);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Reports() {
    }

    /** Told how far the collection is, after each batch, and of what the user should know (the data wrapping around). */
    public interface Progress {
        void collected(long tokens, long total);

        void warning(String message);

        Progress NONE = new Progress() {
            @Override
            public void collected(long tokens, long total) {
            }

            @Override
            public void warning(String message) {
            }
        };
    }

    /**
     * Collects the report of the checkpoint pulled into {@code checkpointDir} (stored at
     * {@code checkpointUri}) and writes {@code outDir}/report.json and index.html. Bad options
     * (a latent past an SAE's d_sae) and checkpoints it cannot report on are
     * IllegalArgumentExceptions naming what is wrong.
     */
    public static Report write(Path checkpointDir, String checkpointUri, ReportOptions options, Path outDir, Progress progress)
            throws IOException {
        checkOutput(outDir);
        Report report = collect(checkpointDir, checkpointUri, options, progress);
        Files.createDirectories(outDir);
        JSON.writeValue(outDir.resolve(JSON_FILE).toFile(), report);
        Files.writeString(outDir.resolve(PAGE_FILE), ReportPage.render(report), StandardCharsets.UTF_8);
        return report;
    }

    /** Refuses an output directory that is a file. */
    public static void checkOutput(Path outDir) {
        if (Files.exists(outDir) && !Files.isDirectory(outDir)) {
            throw new IllegalArgumentException("-o " + outDir + " is a file; expected a directory to write " + PAGE_FILE + " and "
                    + JSON_FILE + " into");
        }
    }

    /**
     * As {@link #write(Path, String, ReportOptions, Path, Progress)} for a checkpoint in a store,
     * pulled to a temporary directory without what a report does not read (the optimiser's state,
     * the stream's buffered rows, sparsity), which can be many times the weights.
     */
    public static Report write(CheckpointStore store, CheckpointRef checkpoint, ReportOptions options, Path outDir, Progress progress)
            throws IOException {
        Path dir = Files.createTempDirectory("saeforge-report-");
        try {
            store.pullFiles(checkpoint.run(), checkpoint.name(), path -> UNREAD.stream().noneMatch(path::endsWith), dir);
            return write(dir, checkpoint.uri(), options, outDir, progress);
        } finally {
            Directories.deleteQuietly(dir);
        }
    }

    /** One SAE of the checkpoint, loaded. */
    record LoadedSae(SaeDefinition definition, HookPoint hook, TrainingSae sae, double scale, String architecture) {
    }

    /** The report of the checkpoint in {@code checkpointDir}, without writing it. */
    public static Report collect(Path checkpointDir, String checkpointUri, ReportOptions options, Progress progress) throws IOException {
        TrainingRun run = readRun(checkpointDir, checkpointUri);
        if (run.getSpec().synthetic != null) {
            throw new IllegalArgumentException(checkpointUri + " is of a synthetic run; a report shows a language model's tokens");
        }
        List<SaeDefinition> all = SaeDefinition.all(run);
        boolean single = all.size() == 1;
        List<SaeDefinition> definitions = options.sae() == null ? all : all.stream().filter(d -> d.name().equals(options.sae())).toList();
        if (definitions.isEmpty()) {
            throw new IllegalArgumentException(checkpointUri + " has no SAE " + options.sae() + "; it has "
                    + String.join(", ", all.stream().map(SaeDefinition::name).toList()));
        }
        List<HookPoint> hooks = definitions.stream().map(d -> HookPoint.parse(d.hook())).distinct().toList();
        Device device = Torch.device(run.getSpec().training.device != TrainingSpec.Device.CPU);
        try (NDManager manager = Torch.engine().newBaseManager(device)) {
            List<LoadedSae> saes = new ArrayList<>();
            for (SaeDefinition definition : definitions) {
                saes.add(load(definition, single ? checkpointDir : checkpointDir.resolve(definition.name()), checkpointUri, manager));
            }
            checkLatents(options.requested(), saes);
            Path inputsFile = checkpointDir.resolve(InputFiles.FILE_NAME);
            InputFiles recorded = Files.exists(inputsFile)
                    ? InputFiles.parse(Files.readAllBytes(inputsFile), checkpointUri + "/" + InputFiles.FILE_NAME) : null;
            Map<String, Object> position = streamPosition(checkpointDir.resolve(STREAM_POSITION));
            List<LatentCollector> collectors = saes.stream().map(s -> new LatentCollector(s.sae().dSae(), options.contexts())).toList();
            try (ReportTokens tokens = ReportTokens.open(run.getSpec(), hooks, device, ModelSources.fromEnvironment(), recorded, position,
                    options.tokens())) {
                collect(tokens, hooks, saes, collectors, manager, options.tokens(), progress);
                long n = tokens.counted();
                List<MetricsHistory.Entry> history = readHistory(checkpointDir.resolve(MetricsHistory.FILE));
                Map<Long, String> decoded = new HashMap<>();
                Qwen3Config config = tokens.data().model().config();
                List<Report.SaeSection> sections = new ArrayList<>();
                // The unembedding is read once, if some SAE is on a hook as wide as the residual stream.
                try (Unembedding unembedding = saes.stream().anyMatch(sae -> sae.hook().width(config) == config.hiddenSize())
                        ? Unembedding.load(tokens.data().model().weights(), config, manager) : null) {
                    for (int i = 0; i < saes.size(); i++) {
                        LoadedSae sae = saes.get(i);
                        Unembedding lens = sae.hook().width(config) == config.hiddenSize() ? unembedding : null;
                        sections.add(section(sae, collectors.get(i), n, history, options, lens, tokens.tokenizer(), decoded));
                    }
                }
                saes.forEach(s -> s.sae().close());
                return new Report(Report.SCHEMA, run.getMetadata().getName(), checkpointUri.substring(checkpointUri.lastIndexOf('/') + 1),
                        checkpointUri, tokensTrained(checkpointDir, definitions, single), new Report.HeldOut(n, tokens.source(), tokens.wrapped()),
                        sections);
            }
        }
    }

    /** Refuses a requested latent that some SAE does not have. */
    private static void checkLatents(List<Integer> requested, List<LoadedSae> saes) {
        for (int latent : requested) {
            for (LoadedSae sae : saes) {
                if (latent >= sae.sae().dSae()) {
                    throw new IllegalArgumentException("--latent " + latent + " is past the latents of SAE " + sae.definition().name()
                            + " (d_sae " + sae.sae().dSae() + ": latents 0 to " + (sae.sae().dSae() - 1) + ")");
                }
            }
        }
    }

    /**
     * Runs {@code total} tokens through the model, each batch once, and every SAE over its hook's
     * rows into its collector; rows that do not count are zeroed. Warns once when the data wraps.
     */
    private static void collect(ReportTokens tokens, List<HookPoint> hooks, List<LoadedSae> saes, List<LatentCollector> collectors,
                                NDManager manager, long total, Progress progress) {
        int contextSize = tokens.data().contextSize();
        boolean warned = false;
        while (true) {
            try (NDScope scope = new NDScope()) {
                ReportTokens.Batch batch = tokens.next(manager);
                if (batch == null) {
                    return;
                }
                float[] counted = new float[batch.windows().length * contextSize];
                for (long row : batch.counted()) {
                    counted[(int) row] = 1f;
                }
                NDArray mask = manager.create(counted).expandDims(1);
                for (int i = 0; i < saes.size(); i++) {
                    // Each SAE's batch-sized arrays go before the next SAE's come.
                    try (NDScope perSae = new NDScope()) {
                        LoadedSae sae = saes.get(i);
                        NDArray x = batch.activations().get(hooks.indexOf(sae.hook()));
                        collectors.get(i).add(features(sae, x).muli(mask), batch.windows(), contextSize);
                    }
                }
            }
            if (tokens.wrapped() && !warned) {
                progress.warning("the held-out data (" + tokens.source() + ") ran out after " + tokens.counted() + " of " + total
                        + " tokens and is read again from its start");
                warned = true;
            }
            progress.collected(tokens.counted(), total);
        }
    }

    private static TrainingRun readRun(Path dir, String uri) throws IOException {
        Path file = dir.resolve(SaeLensCheckpoint.TRAINING_RUN);
        if (!Files.exists(file)) {
            throw new IllegalArgumentException(uri + " has no " + SaeLensCheckpoint.TRAINING_RUN + "; expected a checkpoint written by saeforge train");
        }
        try {
            return TrainingRuns.parse(Files.readString(file), uri + "/" + SaeLensCheckpoint.TRAINING_RUN).get(0);
        } catch (InvalidSpecException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * The SAE in {@code dir}, built by the architecture its cfg.json names (which is the spec's,
     * except that batchtopk is saved as jumprelu for inference), with its unfolded activation scale.
     */
    static LoadedSae load(SaeDefinition definition, Path dir, String uri, NDManager manager) throws IOException {
        JsonNode cfg = JSON.readTree(dir.resolve(SaeLensCheckpoint.CONFIG).toFile());
        String architecture = cfg.path("architecture").asText(definition.sae().architecture.value());
        SaeSpec spec = definition.sae();
        if (!architecture.equals(spec.architecture.value())) {
            SaeSpec.Architecture saved = Arrays.stream(SaeSpec.Architecture.values()).filter(a -> a.value().equals(architecture)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(uri + ": " + SaeLensCheckpoint.CONFIG + " names architecture "
                            + architecture + ", which saeforge does not know"));
            spec = spec.withDefaults();
            spec.architecture = saved;
            spec = spec.withDefaults();
        }
        int dIn = cfg.path("d_in").asInt();
        Map<String, NDArray> values = new LinkedHashMap<>();
        try (Safetensors.Reader reader = Safetensors.read(dir.resolve(SaeLensCheckpoint.WEIGHTS))) {
            for (String name : reader.tensors().keySet()) {
                values.put(name, SafetensorsArrays.readFloat32(reader, name, manager));
            }
            TrainingSae sae = SaeArchitectures.of(spec.architecture).fromParameters(spec, dIn, manager, values);
            Path scaler = dir.resolve(SaeLensCheckpoint.ACTIVATION_SCALER);
            double scale = Files.exists(scaler) ? JSON.readTree(scaler.toFile()).path("scaling_factor").asDouble(1.0) : 1.0;
            return new LoadedSae(definition, HookPoint.parse(definition.hook()), sae, scale, definition.sae().architecture.value());
        } finally {
            values.values().forEach(NDArray::close);
        }
    }

    /** The SAE's latent activations on rows {@code x}, as the evaluation encodes them. */
    static NDArray features(LoadedSae sae, NDArray x) {
        return sae.sae().encode(sae.sae().normalise(sae.scale() == 1.0 ? x : x.mul(sae.scale())).input());
    }

    private static Map<String, Object> streamPosition(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        return JSON.convertValue(JSON.readTree(file.toFile()).path("position"), new TypeReference<Map<String, Object>>() {
        });
    }

    private static List<MetricsHistory.Entry> readHistory(Path file) throws IOException {
        return Files.exists(file) ? MetricsHistory.read(file) : List.of();
    }

    /** Tokens the checkpoint's SAEs trained on, as its first SAE's cfg.json records them. */
    private static long tokensTrained(Path dir, List<SaeDefinition> definitions, boolean single) throws IOException {
        Path cfg = (single ? dir : dir.resolve(definitions.get(0).name())).resolve(SaeLensCheckpoint.CONFIG);
        return JSON.readTree(cfg.toFile()).path("metadata").path("training_tokens").asLong();
    }

    private static Report.SaeSection section(LoadedSae sae, LatentCollector collected, long n, List<MetricsHistory.Entry> history,
                                             ReportOptions options, Unembedding lens, Tokenizer tokenizer, Map<Long, String> decoded) {
        int dSae = collected.dSae();
        String name = sae.definition().name();
        int dead = 0;
        int dense = 0;
        for (int j = 0; j < dSae; j++) {
            double frequency = (double) collected.fired(j) / n;
            dead += collected.fired(j) == 0 ? 1 : 0;
            dense += frequency > Report.DENSE_FREQUENCY ? 1 : 0;
        }
        Map<Integer, String> cards = chooseCards(collected, options);
        List<Integer> indices = new ArrayList<>(cards.keySet());
        Map<Integer, Report.TopLogits> logits = lens == null ? Map.of() : lens.topLogits(sae.sae(), indices, tokenizer, decoded);
        List<Report.Latent> latents = new ArrayList<>();
        for (int j : indices) {
            List<Report.Context> contexts = collected.top(j).stream().map(c -> context(c, tokenizer, decoded)).toList();
            latents.add(new Report.Latent(j, (double) collected.fired(j) / n, collected.max(j), cards.get(j), contexts,
                    collected.histogram(j), logits.get(j)));
        }
        List<MetricsHistory.Entry> own = history.stream().filter(e -> e.sae().equals(name)).toList();
        return new Report.SaeSection(name, sae.hook().toString(), sae.architecture(), sae.sae().dIn(), dSae,
                curves(own.stream().filter(e -> e.kind().equals(MetricsHistory.TRAIN)).toList()),
                own.stream().filter(e -> e.kind().equals(MetricsHistory.EVAL))
                        .map(e -> new Report.EvaluationPoint(e.tokens(), e.metrics())).toList(),
                densityHistogram(collected, n), dead, dense, latents);
    }

    /**
     * The latents with cards and why: those asked for, the most frequent (ties by index), then a
     * seeded sample of the others that fired; in that order.
     */
    static Map<Integer, String> chooseCards(LatentCollector collected, ReportOptions options) {
        Map<Integer, String> cards = new LinkedHashMap<>();
        options.requested().forEach(j -> cards.put(j, "requested"));
        IntStream.range(0, collected.dSae()).boxed().filter(j -> collected.fired(j) > 0)
                .sorted(Comparator.comparingLong((Integer j) -> -collected.fired(j)).thenComparing(j -> j))
                .filter(j -> !cards.containsKey(j)).limit(options.frequent()).forEach(j -> cards.put(j, "frequent"));
        List<Integer> others = new ArrayList<>(IntStream.range(0, collected.dSae()).boxed()
                .filter(j -> collected.fired(j) > 0 && !cards.containsKey(j)).toList());
        Random random = new Random(options.seed());
        int take = Math.min(options.sample(), others.size());
        for (int i = 0; i < take; i++) {   // a partial Fisher-Yates shuffle: the first take are the sample
            int pick = i + random.nextInt(others.size() - i);
            Integer swap = others.get(i);
            others.set(i, others.get(pick));
            others.set(pick, swap);
        }
        others.subList(0, take).stream().sorted().forEach(j -> cards.put(j, "sample"));
        return cards;
    }

    private static Report.Context context(LatentCollector.Candidate c, Tokenizer tokenizer, Map<Long, String> decoded) {
        List<String> tokens = new ArrayList<>();
        List<Double> activations = new ArrayList<>();
        for (int i = 0; i < c.tokens.length; i++) {
            tokens.add(decode(c.tokens[i], tokenizer, decoded));
            activations.add((double) c.activations[i]);
        }
        return new Report.Context(tokens, activations, c.peak);
    }

    /** One token's text alone (a partial UTF-8 sequence shows as the tokenizer decodes it, U+FFFD). */
    static String decode(long id, Tokenizer tokenizer, Map<Long, String> decoded) {
        return decoded.computeIfAbsent(id, t -> tokenizer.decode(new long[]{t}));
    }

    /** Frequencies of the latents that fired, as log10, in quarter-decades from log10(1/n) up to 0. */
    static Report.Histogram densityHistogram(LatentCollector collected, long n) {
        int bins = Math.max(1, (int) Math.ceil(Math.log10(n) * DENSITY_BINS_PER_DECADE - 1e-9));
        double low = -(double) bins / DENSITY_BINS_PER_DECADE;
        long[] counts = new long[bins];
        for (int j = 0; j < collected.dSae(); j++) {
            if (collected.fired(j) > 0) {
                double log = Math.log10((double) collected.fired(j) / n);
                counts[Math.max(0, Math.min(bins - 1, (int) Math.floor((log - low) * DENSITY_BINS_PER_DECADE)))]++;
            }
        }
        List<Double> edges = new ArrayList<>();
        for (int b = 0; b <= bins; b++) {
            edges.add(low + (double) b / DENSITY_BINS_PER_DECADE);
        }
        return new Report.Histogram(edges, Arrays.stream(counts).boxed().toList());
    }

    /** The training curves of one SAE's entries, at most {@link #CURVE_POINTS} of them (first and last kept). */
    static Report.Curves curves(List<MetricsHistory.Entry> entries) {
        List<MetricsHistory.Entry> kept = new ArrayList<>();
        int n = entries.size();
        if (n <= CURVE_POINTS) {
            kept.addAll(entries);
        } else {
            for (int i = 0; i < CURVE_POINTS; i++) {
                kept.add(entries.get((int) Math.round((double) i * (n - 1) / (CURVE_POINTS - 1))));
            }
        }
        Set<String> names = new LinkedHashSet<>();
        kept.forEach(e -> names.addAll(e.metrics().keySet()));
        Map<String, List<Double>> series = new LinkedHashMap<>();
        for (String metric : names) {
            series.put(metric, kept.stream().map(e -> e.metrics().get(metric)).toList());
        }
        return new Report.Curves(kept.stream().map(MetricsHistory.Entry::tokens).toList(), series);
    }

    /**
     * The logit lens: a decoder row through the model's final norm and unembedding, as
     * TransformerLens' W_dec @ W_U with the final RMSNorm's weight folded into W_U:
     * value_v = Σ_d W_dec[i,d]·norm[d]·W_U[v,d], W_U being lm_head (embed_tokens when tied).
     */
    record Unembedding(NDArray normWeight, NDArray unembed) implements AutoCloseable {
        static Unembedding load(Qwen3Weights weights, Qwen3Config config, NDManager manager) throws IOException {
            NDArray norm = weights.load(Qwen3Weights.FINAL_NORM, manager, Precision.FLOAT32);
            NDArray unembed = weights.load(config.tieWordEmbeddings() ? Qwen3Weights.EMBEDDING : Qwen3Weights.LM_HEAD, manager,
                    Precision.FLOAT32);
            return new Unembedding(norm, unembed);
        }

        /** The top positive and negative logits of each latent of {@code latents}. */
        Map<Integer, Report.TopLogits> topLogits(TrainingSae sae, List<Integer> latents, Tokenizer tokenizer, Map<Long, String> decoded) {
            Map<Integer, Report.TopLogits> out = new HashMap<>();
            if (latents.isEmpty()) {
                return out;
            }
            try (NDScope scope = new NDScope()) {
                NDArray decoder = sae.parameters().get(TrainingSae.W_DEC);
                NDArray rows = decoder.get(decoder.getManager().create(latents.stream().mapToLong(Integer::longValue).toArray()));
                NDArray values = rows.mul(normWeight).matMul(unembed.transpose());   // [latents, vocabulary]
                int k = (int) Math.min(TOP_LOGITS, values.getShape().get(1));
                NDList highest = values.topK(k, 1, true, true);
                NDList lowest = values.topK(k, 1, false, true);
                float[] hv = highest.get(0).toFloatArray();
                long[] hi = highest.get(1).toType(DataType.INT64, false).toLongArray();
                float[] lv = lowest.get(0).toFloatArray();
                long[] li = lowest.get(1).toType(DataType.INT64, false).toLongArray();
                for (int r = 0; r < latents.size(); r++) {
                    List<List<Object>> positive = new ArrayList<>();
                    List<List<Object>> negative = new ArrayList<>();
                    for (int t = 0; t < k; t++) {
                        positive.add(List.of(decode(hi[r * k + t], tokenizer, decoded), (double) hv[r * k + t]));
                        negative.add(List.of(decode(li[r * k + t], tokenizer, decoded), (double) lv[r * k + t]));
                    }
                    out.put(latents.get(r), new Report.TopLogits(positive, negative));
                }
            }
            return out;
        }

        @Override
        public void close() {
            normWeight.close();
            unembed.close();
        }
    }
}
