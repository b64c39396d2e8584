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
 * <li>hf://datasets/ORG/NAME[@REVISION][:CONFIG[/SPLIT]|/PATH]: the hub dataset's data files of
 *     the config and split (by default the default config's train split) as its card names them
 *     ({@link DatasetCard}), or those at PATH (a file, a folder or a glob); HF_ENDPOINT and
 *     HF_TOKEN as for models;</li>
 * <li>tiny://corpus: {@link TinyCorpus}, generated into the cache on first use.</li>
 * </ul>
 * Remote files are downloaded into the cache (CACHE/datasets/s3/BUCKET/KEY,
 * CACHE/datasets/hf/ORG/NAME/COMMIT/FILE) one at a time, when the reader reaches them (a hub
 * dataset's README.md when it is listed, for its card); a hub
 * download interrupted midway resumes where it stopped. A key or file name that would land outside
 * the cache is refused ({@link CachePaths}). A resumed run reads the files its checkpoint recorded
 * ({@link #recorded}), not those listed anew.
 */
final class DatasetFiles {
    private static final Pattern HF = Pattern.compile(
            "hf://datasets/([A-Za-z0-9][\\w.-]*/[\\w.-]+)(?:@([\\w.-]+))?(?:/(.*)|:([\\w.-]+)(?:/(\\w+(?:\\.\\w+)*))?)?");
    private static final Pattern S3 = Pattern.compile("s3://([^/]+)/?(.*)");
    /** The file of a hub dataset repository holding its card. */
    private static final String CARD = "README.md";

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

    /**
     * A location's files, the revision they were listed at (a hub commit; null for locations without
     * revisions), and the hub dataset's config and split they are (null for other locations and paths).
     */
    record Listing(String revision, String config, String split, List<Shard> shards) {
    }

    /** The files of {@code location}, at hub revision {@code revision} when not null instead of the location's own. */
    Listing listing(String location, String revision) throws IOException {
        return listing(location, revision, null, false);
    }

    /**
     * As {@link #listing(String, String)}, a hub dataset's split {@code split} (null: the split its
     * location names, else train) of the config its location names.
     */
    Listing listing(String location, String revision, String split) throws IOException {
        return listing(location, revision, split, false);
    }

    /** {@code everyHubFile}: all files of a hub snapshot, for finding recorded ones by name. */
    private Listing listing(String location, String revision, String split, boolean everyHubFile) throws IOException {
        List<Shard> shards;
        String listedAt = null;
        DatasetCard.Choice choice = null;
        if (location.equals(TinyCorpus.LOCATION)) {
            Path file = TinyCorpus.materialize(cacheDir);
            shards = List.of(new Shard(location + "/" + TinyCorpus.FILE, () -> file));
        } else if (location.startsWith("hf://")) {
            HfHub.Snapshot snapshot = snapshot(location, revision);
            listedAt = snapshot.commit();
            choice = everyHubFile ? new DatasetCard.Choice(null, null, List.copyOf(snapshot.sizes().keySet()))
                    : hubChoice(location, snapshot, split);
            shards = hubShards(snapshot, choice.files());
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
                    + ".parquet or .txt)");
        }
        return new Listing(listedAt, choice == null ? null : choice.config(), choice == null ? null : choice.split(),
                shards.stream().sorted(Comparator.comparing(Shard::name)).toList());
    }

    /**
     * The files a checkpoint recorded its run reading, in its order and at its revision, so that a
     * resumed run reads exactly those: files added to the location since are not read. The location
     * is listed again only to find them (a hub dataset's every file, so that files recorded under
     * other rules for its card are found too); a file gone or changed (its size or version differs)
     * is refused, since the stream's position means nothing in other data.
     */
    List<Shard> recorded(InputFiles recorded) throws IOException {
        Map<String, Shard> now = listing(recorded.dataset(), recorded.datasetRevision(), null, true).shards().stream()
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
            throw new IllegalArgumentException("dataset location \"" + location
                    + "\" is not of the form hf://datasets/ORG/NAME[@REVISION][:CONFIG[/SPLIT]|/PATH]");
        }
        return m;
    }

    /**
     * The files {@code location} means in {@code snapshot}: its PATH, or its config and split (or
     * {@code split} when not null) as the dataset card names them.
     */
    private DatasetCard.Choice hubChoice(String location, HfHub.Snapshot snapshot, String split) throws IOException {
        Matcher m = hubLocation(location);
        Map<String, Long> sizes = snapshot.sizes();
        if (m.group(3) == null) {
            return card(snapshot).choose(m.group(4), split != null ? split : m.group(5), sizes.keySet(), TextFormat::isDataFile, location);
        }
        String path = m.group(3).replaceAll("/+$", "");
        List<String> files;
        if (path.isEmpty()) {
            files = DatasetCard.inferred(sizes.keySet().stream().filter(TextFormat::isDataFile).toList(), DatasetCard.DEFAULT_SPLIT);
        } else if (sizes.containsKey(path)) {
            files = List.of(path);
        } else if (firstGlobCharacter(path) >= 0) {
            PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + path);
            files = sizes.keySet().stream().filter(f -> matcher.matches(Path.of(f))).toList();
        } else {
            files = sizes.keySet().stream().filter(f -> f.startsWith(path + "/") && TextFormat.isDataFile(f)).toList();
        }
        return new DatasetCard.Choice(null, null, files);
    }

    /** The dataset card in the snapshot's README.md, downloaded into the cache like its other files; none without one. */
    private DatasetCard card(HfHub.Snapshot snapshot) throws IOException {
        if (!snapshot.sizes().containsKey(CARD)) {
            return DatasetCard.none();
        }
        Path readme = cachePath(snapshot, CARD);
        fetch(snapshot, CARD, readme);
        return DatasetCard.parse(Files.readString(readme), snapshot.uri() + "/" + CARD);
    }

    private List<Shard> hubShards(HfHub.Snapshot snapshot, List<String> files) {
        List<Shard> shards = new ArrayList<>();
        for (String file : files) {
            Path target = cachePath(snapshot, file);
            // The commit fixes a hub file's content: its size is all a checkpoint needs to record.
            shards.add(new Shard(snapshot.uri() + "/" + file, snapshot.sizes().get(file), null, () -> fetch(snapshot, file, target)));
        }
        return shards;
    }

    /** Where {@code file} of the snapshot lies in the cache: CACHE/datasets/hf/ORG/NAME/COMMIT/FILE. */
    private Path cachePath(HfHub.Snapshot snapshot, String file) {
        Path dir = CachePaths.inside(cacheDir.resolve("datasets/hf"), snapshot.repo() + "/" + snapshot.commit(), "hub dataset repository and commit");
        return CachePaths.inside(dir, file, snapshot.uri() + ": file");
    }

    /** Downloads {@code file} of the snapshot to {@code target} unless it is already there whole. */
    private Path fetch(HfHub.Snapshot snapshot, String file, Path target) throws IOException {
        long size = snapshot.sizes().get(file);
        if (!Files.isRegularFile(target) || (size >= 0 && Files.size(target) != size)) {
            hub.download(snapshot, file, target);
        }
        return target;
    }

    static int firstGlobCharacter(String s) {
        for (int i = 0; i < s.length(); i++) {
            if ("*?[{".indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }
}
