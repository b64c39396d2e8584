package dev.saeforge.data;

import dev.saeforge.lm.ModelSources;
import dev.saeforge.store.CachePaths;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.S3Objects;
import dev.saeforge.store.S3Settings;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The files a dataset location names, in name order:
 * <ul>
 * <li>a local file, folder (every data file under it) or glob ({@code data/*.parquet},
 *     {@code corpus/**}{@code /*.jsonl.gz}), plain or as file://;</li>
 * <li>s3://BUCKET/KEY: that object, or the data files under the prefix KEY/, or those matching a
 *     glob in KEY; endpoint and credentials from the environment ({@link S3Settings});</li>
 * <li>hf://datasets/ORG/NAME[@REVISION][/PATH]: the hub dataset's data files of the train split
 *     (files or folders named train, as the hub's loader picks them; all data files if none
 *     is), or of another split ({@link #splitWords}), or those at PATH (a file, a folder or a glob);
 *     HF_ENDPOINT and HF_TOKEN as for models;</li>
 * <li>tiny://corpus: {@link TinyCorpus}, generated into the cache on first use.</li>
 * </ul>
 * Remote files are downloaded into the cache (CACHE/datasets/s3/BUCKET/KEY,
 * CACHE/datasets/hf/ORG/NAME/COMMIT/FILE) one at a time, when the reader reaches them; a hub
 * download interrupted midway resumes where it stopped. A key or file name that would land outside
 * the cache is refused ({@link CachePaths}). A resumed run reads the files its checkpoint recorded
 * ({@link #recorded}), not those listed anew.
 */
final class DatasetFiles {
    private static final Pattern HF = Pattern.compile("hf://datasets/([A-Za-z0-9][\\w.-]*/[\\w.-]+)(?:@([\\w.-]+))?(?:/(.*))?");
    private static final Pattern S3 = Pattern.compile("s3://([^/]+)/?(.*)");
    /** The split a hub dataset's training text is read from. */
    static final String TRAIN = dev.saeforge.api.EvalDatasetSpec.DEFAULT_SPLIT;

    private final Path cacheDir;
    private final HfHub hub;
    private final Map<String, String> env;

    DatasetFiles(Path cacheDir, HfHub hub, Map<String, String> env) {
        this.cacheDir = cacheDir;
        this.hub = hub;
        this.env = env;
    }

    /** The cache, hub and S3 settings models are fetched with. */
    static DatasetFiles of(ModelSources sources) {
        return new DatasetFiles(sources.cacheDir(), sources.hub(), sources.env());
    }

    /** The files of {@code location} as listed now. */
    List<Shard> list(String location) throws IOException {
        return listing(location, null).shards();
    }

    /** A location's files, and the revision they were listed at (a hub commit; null for locations without revisions). */
    record Listing(String revision, List<Shard> shards) {
    }

    /** The files of {@code location}, at hub revision {@code revision} when not null instead of the location's own. */
    Listing listing(String location, String revision) throws IOException {
        return listing(location, revision, TRAIN);
    }

    /** As {@link #listing(String, String)}, a hub dataset's files of split {@code split}. */
    Listing listing(String location, String revision, String split) throws IOException {
        List<Shard> shards;
        String listedAt = null;
        if (location.equals(TinyCorpus.LOCATION)) {
            Path file = TinyCorpus.materialize(cacheDir);
            shards = List.of(new Shard(location + "/" + TinyCorpus.FILE, () -> file));
        } else if (location.startsWith("hf://")) {
            HfHub.Snapshot snapshot = snapshot(location, revision);
            listedAt = snapshot.commit();
            shards = hub(location, snapshot, split);
        } else if (location.startsWith("s3://")) {
            shards = s3(location);
        } else if (location.contains("://") && !location.startsWith("file://")) {
            throw new IllegalArgumentException("dataset location \"" + location + "\" has an unknown scheme; expected "
                    + dev.saeforge.api.DatasetSpec.URI_FORM);
        } else {
            shards = local(location.startsWith("file://") ? location.substring("file://".length()) : location);
        }
        if (shards.isEmpty()) {
            throw new IllegalArgumentException("dataset location " + location + " holds no data files (.jsonl, .jsonl.gz, .jsonl.zst, "
                    + ".parquet or .txt)" + (split.equals(TRAIN) ? "" : " of split " + split + " (files or folders named "
                    + String.join(", ", splitWords(split)) + ")"));
        }
        return new Listing(listedAt, shards.stream().sorted(Comparator.comparing(Shard::name)).toList());
    }

    /**
     * The files a checkpoint recorded its run reading, in its order and at its revision, so that a
     * resumed run reads exactly those: files added to the location since are not read. The location
     * is listed again only to find them; a file gone or changed (its size or version differs) is
     * refused, since the stream's position means nothing in other data.
     */
    List<Shard> recorded(InputFiles recorded) throws IOException {
        return recorded(recorded, TRAIN);
    }

    /** As {@link #recorded(InputFiles)}, for files of a hub dataset's split {@code split}. */
    List<Shard> recorded(InputFiles recorded, String split) throws IOException {
        Map<String, Shard> now = listing(recorded.dataset(), recorded.datasetRevision(), split).shards().stream()
                .collect(Collectors.toMap(Shard::name, Function.identity()));
        String remedy = "; an exact resume is impossible: restore the file as it was, or give the run a new metadata.name to start afresh";
        List<Shard> out = new ArrayList<>();
        for (InputFiles.File file : recorded.files()) {
            Shard shard = now.get(file.name());
            if (shard == null) {
                throw new IllegalArgumentException("dataset file " + file.name() + ", which the run was reading when its checkpoint was "
                        + "written, is no longer in " + recorded.dataset() + remedy);
            }
            if (!file.unchangedIn(shard.file())) {
                throw new IllegalArgumentException("dataset file " + file.name() + " changed since the run's checkpoint recorded it ("
                        + file.describe() + " then, " + shard.file().describe() + " now)" + remedy);
            }
            out.add(shard);
        }
        return out;
    }

    private static List<Shard> local(String location) throws IOException {
        int glob = firstGlobCharacter(location);
        if (glob >= 0) {
            int slash = location.lastIndexOf('/', glob);
            Path base = Path.of(slash < 0 ? "." : location.substring(0, slash + 1));
            PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + location.substring(slash + 1));
            if (!Files.isDirectory(base)) {
                throw new IllegalArgumentException("dataset location " + location + ": folder " + base + " does not exist");
            }
            return localShards(walk(base).filter(p -> matcher.matches(base.relativize(p))));
        }
        Path path = Path.of(location);
        if (Files.isRegularFile(path)) {
            return localShards(Stream.of(path));
        }
        if (Files.isDirectory(path)) {
            return localShards(walk(path).filter(p -> TextFormat.isDataFile(p.getFileName().toString())));
        }
        throw new IllegalArgumentException("dataset location " + location + " does not exist; expected a file, a folder or a glob, "
                + "or one of " + dev.saeforge.api.DatasetSpec.URI_FORM);
    }

    private static Stream<Path> walk(Path base) throws IOException {
        try (Stream<Path> files = Files.walk(base)) {
            return files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).toList().stream();
        }
    }

    /** Local files have no version: a checkpoint records their size. */
    private static List<Shard> localShards(Stream<Path> paths) throws IOException {
        List<Shard> out = new ArrayList<>();
        for (Path path : paths.toList()) {
            out.add(new Shard(path.toString(), Files.size(path), null, () -> path));
        }
        return out;
    }

    private List<Shard> s3(String location) throws IOException {
        Matcher m = S3.matcher(location);
        if (!m.matches()) {
            throw new IllegalArgumentException("dataset location \"" + location + "\" is not of the form s3://BUCKET/KEY");
        }
        String bucket = m.group(1);
        String key = m.group(2);
        S3Settings.checkKey(location, key);
        S3Objects objects = new S3Objects(S3Settings.from("s3://" + bucket, env));
        int glob = firstGlobCharacter(key);
        Map<String, S3Objects.Listed> listed;
        List<String> keys;
        if (glob >= 0) {
            String prefix = key.substring(0, key.lastIndexOf('/', glob) + 1);
            PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + key.substring(prefix.length()));
            listed = objects.list(prefix);
            keys = listed.keySet().stream().filter(k -> matcher.matches(Path.of(k.substring(prefix.length())))).toList();
        } else {
            listed = objects.list(key);
            if (listed.containsKey(key)) {
                keys = List.of(key);
            } else {
                String folder = key.isEmpty() || key.endsWith("/") ? key : key + "/";
                keys = listed.keySet().stream().filter(k -> k.startsWith(folder) && TextFormat.isDataFile(k)).toList();
            }
        }
        List<Shard> shards = new ArrayList<>();
        for (String k : keys) {
            S3Objects.Listed object = listed.get(k);
            Path target = CachePaths.inside(cacheDir.resolve("datasets/s3").resolve(bucket), k, "s3://" + bucket + ": key");
            shards.add(new Shard("s3://" + bucket + "/" + k, object.bytes(), object.etag(), () -> {
                objects.download(k, object.etag(), target);
                return target;
            }));
        }
        return shards;
    }

    /** The hub dataset of {@code location} at {@code revision}, when not null, else at the location's revision (main by default). */
    private HfHub.Snapshot snapshot(String location, String revision) throws IOException {
        Matcher m = hubLocation(location);
        String wanted = revision != null ? revision : m.group(2) == null ? "main" : m.group(2);
        return hub.snapshot(HfHub.RepoType.DATASET, m.group(1), wanted);
    }

    private static Matcher hubLocation(String location) {
        Matcher m = HF.matcher(location);
        if (!m.matches()) {
            throw new IllegalArgumentException("dataset location \"" + location + "\" is not of the form hf://datasets/ORG/NAME[@REVISION][/PATH]");
        }
        return m;
    }

    /**
     * The words that name split {@code split}'s files in a hub dataset, as the hub's loader reads
     * them (datasets' SPLIT_KEYWORDS); a split of another name is named by itself.
     */
    static List<String> splitWords(String split) {
        return switch (split) {
            case "train" -> List.of("train", "training");
            case "validation" -> List.of("validation", "valid", "val", "dev");
            case "test" -> List.of("test", "testing", "eval", "evaluation");
            default -> List.of(split);
        };
    }

    private List<Shard> hub(String location, HfHub.Snapshot snapshot, String split) {
        Matcher m = hubLocation(location);
        String repo = m.group(1);
        String path = m.group(3) == null ? "" : m.group(3).replaceAll("/+$", "");
        List<String> files;
        if (path.isEmpty()) {
            List<String> data = snapshot.sizes().keySet().stream().filter(TextFormat::isDataFile).toList();
            // The hub's rule: a word of the path names the split; with no file of the train split named, all files are.
            String any = String.join("|", splitWords(split).stream().map(Pattern::quote).toList());
            Pattern words = Pattern.compile("(^|[/\\-._ 0-9])(" + any + ")([/\\-._ 0-9]|$)");
            List<String> ofSplit = data.stream().filter(f -> words.matcher(f).find()).toList();
            files = ofSplit.isEmpty() && split.equals(TRAIN) ? data : ofSplit;
        } else if (snapshot.sizes().containsKey(path)) {
            files = List.of(path);
        } else if (firstGlobCharacter(path) >= 0) {
            PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + path);
            files = snapshot.sizes().keySet().stream().filter(f -> matcher.matches(Path.of(f))).toList();
        } else {
            files = snapshot.sizes().keySet().stream().filter(f -> f.startsWith(path + "/") && TextFormat.isDataFile(f)).toList();
        }
        Path dir = CachePaths.inside(cacheDir.resolve("datasets/hf"), repo + "/" + snapshot.commit(), "hub dataset repository and commit");
        List<Shard> shards = new ArrayList<>();
        for (String file : files) {
            Path target = CachePaths.inside(dir, file, snapshot.uri() + ": file");
            long size = snapshot.sizes().get(file);
            // The commit fixes a hub file's content: its size is all a checkpoint needs to record.
            shards.add(new Shard(snapshot.uri() + "/" + file, size, null, () -> {
                if (!Files.isRegularFile(target) || (size >= 0 && Files.size(target) != size)) {
                    hub.download(snapshot, file, target);
                }
                return target;
            }));
        }
        return shards;
    }

    private static int firstGlobCharacter(String s) {
        for (int i = 0; i < s.length(); i++) {
            if ("*?[{".indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }
}
