package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointSae;
import dev.saeforge.store.HubUpload;
import dev.saeforge.store.SaeLensCheckpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Where a checkpoint goes on the hub, {@code hf://ORG/REPO[/PATH]}, and what goes there, laid out
 * as SAELens' upload_saes_to_huggingface lays out a release and SAE.from_pretrained(REPO, SAE_ID)
 * reads one: a folder per SAE id under PATH holding cfg.json, sae_weights.safetensors and
 * sparsity.safetensors (the inference files only, no trainer state), and a README.md model card
 * under PATH, with the feature report in report/ beside it when the checkpoint has one.
 * <p>
 * The SAE id is the SAE's name in a run of several; a single-SAE run's one SAE takes its hook
 * name, as SAELens' own releases name theirs (the run's name when there is no hook, as in a
 * synthetic run).
 */
record Publication(String repo, String path) {
    static final String FORM = "hf://ORG/REPO[/PATH]";
    static final String MODEL_CARD = "README.md";
    static final String REPORT = "report";
    private static final Pattern TARGET = Pattern.compile("hf://([^/]+/[^/]+)(?:/(.*))?");
    /** The SAELens files of an SAE, as SAELens uploads them. */
    private static final List<String> SAE_FILES = List.of(SaeLensCheckpoint.CONFIG, SaeLensCheckpoint.WEIGHTS, SaeLensCheckpoint.SPARSITY);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads {@code hf://ORG/REPO[/PATH]}; anything else is an IllegalArgumentException naming the form. */
    static Publication parse(String target) {
        Matcher m = TARGET.matcher(target.replaceAll("/+$", ""));
        if (!m.matches() || m.group(1).startsWith("datasets/") || (m.group(2) != null && (m.group(2).contains("//")
                || Stream.of(m.group(2).split("/")).anyMatch(part -> part.equals("..") || part.equals("."))))) {
            throw new IllegalArgumentException("\"" + target + "\" is not a place on the Hugging Face hub to publish to; expected "
                    + FORM + ", a model repository and optionally a folder in it");
        }
        return new Publication(m.group(1), m.group(2) == null ? "" : m.group(2));
    }

    /** {@code file}'s path in the repository: under PATH. */
    String inRepo(String file) {
        return path.isEmpty() ? file : path + "/" + file;
    }

    /** hf://ORG/REPO[/PATH], for messages. */
    String uri() {
        return "hf://" + repo + (path.isEmpty() ? "" : "/" + path);
    }

    /** The id SAE.from_pretrained(REPO, id) loads {@code sae} by (see the class comment). */
    String saeId(CheckpointSae sae, int saes) {
        return inRepo(saes == 1 && sae.hook() != null ? sae.hook() : sae.name());
    }

    /**
     * The files to commit from a checkpoint pulled into {@code pulled}: each SAE's SAELens files,
     * the model card (written into {@code work}), and the report's files from {@code report} when
     * it is not null.
     */
    List<HubUpload.LocalFile> files(Path pulled, CheckpointRef checkpoint, List<CheckpointSae> saes, Path report, Path work)
            throws IOException {
        List<HubUpload.LocalFile> files = new ArrayList<>();
        for (CheckpointSae sae : saes) {
            for (String file : SAE_FILES) {
                Path source = pulled.resolve(sae.path(file));
                if (Files.isRegularFile(source)) {
                    files.add(HubUpload.LocalFile.of(saeId(sae, saes.size()) + "/" + file, source));
                } else if (!file.equals(SaeLensCheckpoint.SPARSITY)) {
                    throw new IOException(checkpoint.uri() + " has no " + sae.path(file) + "; SAELens needs it to load SAE " + sae.name());
                }
            }
        }
        if (report != null) {
            try (Stream<Path> walk = Files.walk(report)) {
                for (Path file : walk.filter(Files::isRegularFile).sorted().toList()) {
                    files.add(HubUpload.LocalFile.of(inRepo(REPORT + "/" + report.relativize(file).toString().replace('\\', '/')), file));
                }
            }
        }
        Path trainingRun = pulled.resolve(SaeLensCheckpoint.TRAINING_RUN);
        String spec = Files.isRegularFile(trainingRun) ? Files.readString(trainingRun) : null;
        Path card = Files.writeString(work.resolve(MODEL_CARD), modelCard(checkpoint, saes, spec, report != null, pulled),
                StandardCharsets.UTF_8);
        files.add(HubUpload.LocalFile.of(inRepo(MODEL_CARD), card));
        return files;
    }

    /**
     * The model card: YAML front matter the hub reads (library_name: saelens, tags), how to load
     * each SAE, each SAE's recorded metrics and evaluation, the report's link (or how to make one)
     * and the TrainingRun that trained them.
     */
    String modelCard(CheckpointRef checkpoint, List<CheckpointSae> saes, String trainingRun, boolean hasReport, Path pulled)
            throws IOException {
        StringBuilder card = new StringBuilder();
        card.append("---\nlibrary_name: saelens\ntags:\n- saelens\n- sparse-autoencoder\n- saeforge\n---\n\n");
        card.append("# ").append(checkpoint.run()).append(": sparse autoencoders\n\n");
        card.append("Checkpoint `").append(checkpoint.name()).append("` of run `").append(checkpoint.run()).append("`, trained with SAE Forge");
        if (checkpoint.info().get("tokens") instanceof Number tokens) {
            card.append(" on ").append(String.format(java.util.Locale.ROOT, "%,d", tokens.longValue())).append(" tokens");
        }
        card.append(".\n\n| SAE id | hook | architecture | d_in | d_sae | model |\n|---|---|---|---|---|---|\n");
        for (CheckpointSae sae : saes) {
            JsonNode cfg = JSON.readTree(pulled.resolve(sae.path(SaeLensCheckpoint.CONFIG)).toFile());
            card.append("| `").append(saeId(sae, saes.size())).append("` | ").append(cfg.path("metadata").path("hook_name").asText("-"))
                    .append(" | ").append(cfg.path("architecture").asText()).append(" | ").append(cfg.path("d_in").asText())
                    .append(" | ").append(cfg.path("d_sae").asText()).append(" | ").append(cfg.path("metadata").path("model_name").asText("-"))
                    .append(" |\n");
        }
        card.append("\nLoad one with SAELens:\n\n```python\nfrom sae_lens import SAE\n\nsae = SAE.from_pretrained(\"").append(repo)
                .append("\", \"").append(saeId(saes.get(0), saes.size())).append("\")\n```\n\n## Metrics\n");
        for (CheckpointSae sae : saes) {
            card.append("\n### `").append(saeId(sae, saes.size())).append("`\n\n| metric | value |\n|---|---|\n");
            if (sae.info().get("dead_features") instanceof Number dead) {
                card.append("| dead_features | ").append(dead).append(" |\n");
            }
            for (String section : List.of("evaluation", "metrics")) {
                if (sae.info().get(section) instanceof Map<?, ?> figures) {
                    figures.forEach((key, value) -> card.append("| ").append(section).append('.').append(key).append(" | ").append(value).append(" |\n"));
                }
            }
        }
        card.append("\n## Feature report\n\n");
        if (hasReport) {
            card.append("[The feature report](").append(REPORT).append("/index.html): training curves, feature density and latent cards.\n");
        } else {
            card.append("No report was published with this checkpoint. Make one with `saeforge report ").append(checkpoint.run())
                    .append('/').append(checkpoint.name()).append(" -o DIR` and open DIR/index.html.\n");
        }
        if (trainingRun != null) {
            card.append("\n## TrainingRun\n\n```yaml\n").append(trainingRun.strip()).append("\n```\n");
        }
        return card.toString();
    }
}
