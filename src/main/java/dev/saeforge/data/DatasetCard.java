package dev.saeforge.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.saeforge.api.EvalDatasetSpec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Which files of a hub dataset a config and split name, as HF {@code datasets} reads the dataset
 * card: the {@code configs} list in the YAML header of the repository's README.md, each with a
 * {@code config_name}, {@code data_files} (a pattern, a list of patterns, or a list of
 * {@code {split, path}} where path is a pattern or a list), an optional {@code data_dir} the
 * patterns are relative to, and an optional {@code default: true}. The default config is the one
 * marked default, or the one named "default", or the only one; the default split is train, the
 * split SAELens loads. Patterns match as fsspec's glob does: '*' within a path segment, '**' across
 * segments; hidden files and folders ('.') and '__' folders only when the pattern names them. A
 * card without {@code configs} (or no card) means one config, "default", whose splits are
 * inferred from file names ({@link #inferred}).
 */
record DatasetCard(List<Config> configs) {
    static final String DEFAULT_CONFIG = "default";
    static final String DEFAULT_SPLIT = EvalDatasetSpec.DEFAULT_SPLIT;
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** One config: its split patterns in card order (empty: inferred from file names under dataDir). */
    record Config(String name, boolean marked, String dataDir, Map<String, List<String>> splits) {
    }

    /** What a config and split resolved to: their names and the repository files they mean, in name order. */
    record Choice(String config, String split, List<String> files) {
    }

    DatasetCard {
        configs = List.copyOf(configs);
    }

    /** A repository without a README.md. */
    static DatasetCard none() {
        return new DatasetCard(List.of());
    }

    /** The card in {@code readme}, the text of README.md; {@code source} names it in messages. */
    static DatasetCard parse(String readme, String source) {
        String yaml = header(readme);
        if (yaml == null) {
            return none();
        }
        JsonNode root;
        try {
            root = YAML.readTree(yaml);
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": the YAML header is not valid YAML (" + firstLine(e.getMessage()) + ")");
        }
        JsonNode configs = root == null ? null : root.get("configs");
        if (configs == null || configs.isNull()) {
            return none();
        }
        if (!configs.isArray()) {
            throw new IllegalArgumentException(source + ": \"configs\" is " + configs + "; expected a list of {config_name, data_files}");
        }
        List<Config> out = new ArrayList<>();
        for (JsonNode config : configs) {
            if (!config.path("config_name").isValueNode() || config.get("config_name").isNull()) {
                throw new IllegalArgumentException(source + ": config " + config + " lacks a config_name");
            }
            String name = config.get("config_name").asText();
            String where = source + ": config \"" + name + "\"";
            String dataDir = config.path("data_dir").isTextual() ? config.get("data_dir").asText().replaceAll("^\\./|/+$", "") : "";
            out.add(new Config(name, config.path("default").asBoolean(false), dataDir, splits(config.get("data_files"), where)));
        }
        return new DatasetCard(out);
    }

    /**
     * The files of {@code config} (null: the default config) and {@code split} (null: train) among
     * {@code repoFiles} that {@code isData} accepts; {@code source} names the dataset in messages.
     * An unknown config or split is refused, listing those the card has.
     */
    Choice choose(String config, String split, Collection<String> repoFiles, Predicate<String> isData, String source) {
        Config chosen = config == null ? defaultConfig(source) : configNamed(config, source);
        String splitName = split == null ? DEFAULT_SPLIT : split;
        List<String> files;
        if (chosen.splits().isEmpty()) {
            String prefix = chosen.dataDir().isEmpty() ? "" : chosen.dataDir() + "/";
            files = inferred(repoFiles.stream().filter(f -> f.startsWith(prefix) && isData.test(f)).toList(), splitName);
            if (files.isEmpty() && !splitName.equals(DEFAULT_SPLIT)) {
                throw new IllegalArgumentException(source + ": config \"" + chosen.name() + "\" has no files of split \"" + splitName
                        + "\"; without data_files in the dataset card (README.md) a split is the files or folders named "
                        + String.join(", ", splitWords(splitName)));
            }
        } else {
            List<String> patterns = chosen.splits().get(splitName);
            if (patterns == null) {
                throw new IllegalArgumentException(source + ": config \"" + chosen.name() + "\" has no split \"" + splitName
                        + "\"; its splits in the dataset card (README.md): " + String.join(", ", chosen.splits().keySet()));
            }
            files = matching(chosen, patterns, repoFiles, isData, source);
        }
        return new Choice(chosen.name(), splitName, files.stream().sorted().toList());
    }

    /**
     * A split as the hub infers it without a card: of the files not in hidden or '__' folders, those
     * with one of the split's words ({@link #splitWords}) as a word of their path; for train, all of
     * them when no file is named so.
     */
    static List<String> inferred(List<String> dataFiles, String split) {
        List<String> visible = dataFiles.stream().filter(f -> !unrequested(f, "**")).toList();
        String any = String.join("|", splitWords(split).stream().map(Pattern::quote).toList());
        Pattern words = Pattern.compile("(^|[/\\-._ 0-9])(" + any + ")([/\\-._ 0-9]|$)");
        List<String> named = visible.stream().filter(f -> words.matcher(f).find()).toList();
        return named.isEmpty() && split.equals(DEFAULT_SPLIT) ? visible : named;
    }

    /**
     * The words that name a split's files, as the hub's loader reads them (datasets'
     * SPLIT_KEYWORDS); a split of another name is named by itself.
     */
    static List<String> splitWords(String split) {
        return switch (split) {
            case "train" -> List.of("train", "training");
            case "validation" -> List.of("validation", "valid", "val", "dev");
            case "test" -> List.of("test", "testing", "eval", "evaluation");
            default -> List.of(split);
        };
    }

    private Config defaultConfig(String source) {
        if (configs.isEmpty()) {
            return new Config(DEFAULT_CONFIG, true, "", Map.of());
        }
        List<Config> defaults = configs.stream()
                .filter(c -> configs.size() == 1 || c.name().equals(DEFAULT_CONFIG) || c.marked()).toList();
        if (defaults.size() > 1) {
            throw new IllegalArgumentException(source + ": the dataset card (README.md) has several default configs: "
                    + defaults.stream().map(Config::name).collect(Collectors.joining(", ")) + "; name one as " + source + ":CONFIG");
        }
        if (defaults.isEmpty()) {
            throw new IllegalArgumentException(source + ": the dataset card (README.md) has no default config; name one as "
                    + source + ":CONFIG, one of " + names());
        }
        return defaults.get(0);
    }

    private Config configNamed(String name, String source) {
        if (configs.isEmpty() && name.equals(DEFAULT_CONFIG)) {
            return defaultConfig(source);
        }
        return configs.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow(() -> new IllegalArgumentException(
                source + ": no config \"" + name + "\" in the dataset card (README.md); "
                        + (configs.isEmpty() ? "it lists no configs, so the only one is \"" + DEFAULT_CONFIG + "\"" : "its configs: " + names())));
    }

    private String names() {
        return configs.stream().map(Config::name).collect(Collectors.joining(", "));
    }

    private static List<String> matching(Config config, List<String> patterns, Collection<String> repoFiles, Predicate<String> isData,
                                         String source) {
        Set<String> out = new LinkedHashSet<>();
        for (String raw : patterns) {
            if (raw.contains("://")) {
                throw new IllegalArgumentException(source + ": config \"" + config.name() + "\" names data files by URL (" + raw
                        + "); only files of the dataset's own repository are read");
            }
            String pattern = (config.dataDir().isEmpty() ? "" : config.dataDir() + "/") + raw.replaceAll("^\\./", "");
            if (DatasetFiles.firstGlobCharacter(pattern) < 0 && !repoFiles.contains(pattern)) {
                throw new IllegalArgumentException(source + ": config \"" + config.name() + "\" names data file " + pattern
                        + ", which the repository does not hold");
            }
            Pattern glob = glob(pattern);
            for (String file : repoFiles) {
                if (glob.matcher(file).matches() && isData.test(file) && !unrequested(file, pattern)) {
                    out.add(file);
                }
            }
        }
        return List.copyOf(out);
    }

    /**
     * Whether {@code file}, which {@code pattern} matches, is one HF datasets leaves out unless the
     * pattern names it: one with more hidden or '__' segments than the pattern.
     */
    private static boolean unrequested(String file, String pattern) {
        String[] fileParts = file.split("/");
        String[] patternParts = pattern.split("/");
        Predicate<String> hidden = s -> s.startsWith(".") && !s.matches("\\.+");
        return count(fileParts, hidden) != count(patternParts, hidden)
                || count(parents(fileParts), s -> s.startsWith("__")) != count(parents(patternParts), s -> s.startsWith("__"));
    }

    private static String[] parents(String[] parts) {
        return java.util.Arrays.copyOf(parts, parts.length - 1);
    }

    private static long count(String[] parts, Predicate<String> which) {
        return java.util.Arrays.stream(parts).filter(which).count();
    }

    /** fsspec's glob as a regular expression: '**' as a whole segment spans any number of segments, '*' and '?' stay in one. */
    static Pattern glob(String pattern) {
        StringBuilder regex = new StringBuilder();
        String[] segments = pattern.split("/", -1);
        for (int s = 0; s < segments.length; s++) {
            String segment = segments[s];
            boolean last = s == segments.length - 1;
            if (segment.equals("**")) {
                regex.append(last ? ".*" : "(?:[^/]*/)*");
                continue;
            }
            for (int i = 0; i < segment.length(); i++) {
                char c = segment.charAt(i);
                if (c == '*') {
                    regex.append("[^/]*");
                } else if (c == '?') {
                    regex.append("[^/]");
                } else if (c == '[' && segment.indexOf(']', i + 2) > 0) {
                    int end = segment.indexOf(']', i + 2);
                    String set = segment.substring(i + 1, end);
                    regex.append('[').append(set.startsWith("!") ? "^" + quoteSet(set.substring(1)) : quoteSet(set)).append(']');
                    i = end;
                } else {
                    regex.append(Pattern.quote(String.valueOf(c)));
                }
            }
            if (!last) {
                regex.append('/');
            }
        }
        return Pattern.compile(regex.toString());
    }

    /** A glob character set's members for a regex class: ranges kept, other regex syntax escaped. */
    private static String quoteSet(String set) {
        return set.replaceAll("([\\\\\\[\\]^&])", "\\\\$1");
    }

    /** data_files as HF datasets sanitises it: split name to patterns; a plain pattern or list is the train split. */
    private static Map<String, List<String>> splits(JsonNode dataFiles, String where) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (dataFiles == null || dataFiles.isNull()) {
            return out;
        }
        String expected = "; expected a pattern, a list of patterns, or a list of {split, path} with path a pattern or a list of them";
        if (dataFiles.isTextual()) {
            out.put(DEFAULT_SPLIT, List.of(dataFiles.asText()));
            return out;
        }
        if (!dataFiles.isArray()) {
            throw new IllegalArgumentException(where + ": data_files is " + dataFiles + expected);
        }
        boolean bySplit = false;
        for (JsonNode item : dataFiles) {
            bySplit |= item.isObject();
        }
        if (!bySplit) {
            out.put(DEFAULT_SPLIT, strings(dataFiles, where, expected));
            return out;
        }
        for (JsonNode item : dataFiles) {
            if (!item.isObject() || item.size() != 2 || !item.path("split").isValueNode() || item.get("path") == null) {
                throw new IllegalArgumentException(where + ": data_files entry " + item + " is not {split, path}" + expected);
            }
            String split = item.get("split").asText();
            JsonNode path = item.get("path");
            if (out.put(split, path.isArray() ? strings(path, where, expected) : strings(List.of(path), where, expected)) != null) {
                throw new IllegalArgumentException(where + ": split \"" + split + "\" appears twice in data_files");
            }
        }
        return out;
    }

    private static List<String> strings(Iterable<JsonNode> nodes, String where, String expected) {
        List<String> out = new ArrayList<>();
        for (JsonNode node : nodes) {
            if (!node.isTextual()) {
                throw new IllegalArgumentException(where + ": data_files holds " + node + expected);
            }
            out.add(node.asText());
        }
        return out;
    }

    /** The YAML between a first line "---" and the next "---" line, as huggingface_hub splits a card; null if none. */
    private static String header(String readme) {
        List<String> lines = readme.lines().toList();
        if (lines.isEmpty() || !lines.get(0).equals("---")) {
            return null;
        }
        int end = lines.subList(1, lines.size()).indexOf("---");
        return end < 0 ? null : String.join("\n", lines.subList(1, end + 1));
    }

    private static String firstLine(String message) {
        return message == null ? "" : message.lines().findFirst().orElse("");
    }
}
