package dev.saeforge.data;

import dev.saeforge.lm.ModelSources;
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
 *     is), or those at PATH (a file, a folder or a glob); HF_ENDPOINT and HF_TOKEN as for models;</li>
 * <li>tiny://corpus: {@link TinyCorpus}, generated into the cache on first use.</li>
 * </ul>
 * Remote files are downloaded into the cache (CACHE/datasets/s3/BUCKET/KEY,
 * CACHE/datasets/hf/ORG/NAME/COMMIT/FILE) one at a time, when the reader reaches them; a hub
 * download interrupted midway resumes where it stopped.
 */
final class DatasetFiles {
    private static final Pattern HF = Pattern.compile("hf://datasets/([A-Za-z0-9][\\w.-]*/[\\w.-]+)(?:@([\\w.-]+))?(?:/(.*))?");
    private static final Pattern S3 = Pattern.compile("s3://([^/]+)/?(.*)");
    /** The hub's rule for files of the train split: "train" or "training" as a word of the path. */
    private static final Pattern TRAIN_SPLIT = Pattern.compile("(^|[/\\-._ 0-9])(train|training)([/\\-._ 0-9]|$)");

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

    List<Shard> list(String location) throws IOException {
        List<Shard> shards;
        if (location.equals(TinyCorpus.LOCATION)) {
            Path file = TinyCorpus.materialize(cacheDir);
            shards = List.of(new Shard(location + "/" + TinyCorpus.FILE, () -> file));
        } else if (location.startsWith("hf://")) {
            shards = hub(location);
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
        return shards.stream().sorted(Comparator.comparing(Shard::name)).toList();
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
            return walk(base).filter(p -> matcher.matches(base.relativize(p))).map(DatasetFiles::localShard).toList();
        }
        Path path = Path.of(location);
        if (Files.isRegularFile(path)) {
            return List.of(localShard(path));
        }
        if (Files.isDirectory(path)) {
            return walk(path).filter(p -> TextFormat.isDataFile(p.getFileName().toString())).map(DatasetFiles::localShard).toList();
        }
        throw new IllegalArgumentException("dataset location " + location + " does not exist; expected a file, a folder or a glob, "
                + "or one of " + dev.saeforge.api.DatasetSpec.URI_FORM);
    }

    private static Stream<Path> walk(Path base) throws IOException {
        try (Stream<Path> files = Files.walk(base)) {
            return files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).toList().stream();
        }
    }

    private static Shard localShard(Path path) {
        return new Shard(path.toString(), () -> path);
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
        Map<String, String> listed;
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
            String etag = listed.get(k);
            Path target = cacheDir.resolve("datasets/s3").resolve(bucket).resolve(k);
            shards.add(new Shard("s3://" + bucket + "/" + k, () -> {
                objects.download(k, etag, target);
                return target;
            }));
        }
        return shards;
    }

    private List<Shard> hub(String location) throws IOException {
        Matcher m = HF.matcher(location);
        if (!m.matches()) {
            throw new IllegalArgumentException("dataset location \"" + location + "\" is not of the form hf://datasets/ORG/NAME[@REVISION][/PATH]");
        }
        String repo = m.group(1);
        HfHub.Snapshot snapshot = hub.snapshot(HfHub.RepoType.DATASET, repo, m.group(2) == null ? "main" : m.group(2));
        String path = m.group(3) == null ? "" : m.group(3).replaceAll("/+$", "");
        List<String> files;
        if (path.isEmpty()) {
            List<String> data = snapshot.sizes().keySet().stream().filter(TextFormat::isDataFile).toList();
            List<String> train = data.stream().filter(f -> TRAIN_SPLIT.matcher(f).find()).toList();
            files = train.isEmpty() ? data : train;
        } else if (snapshot.sizes().containsKey(path)) {
            files = List.of(path);
        } else if (firstGlobCharacter(path) >= 0) {
            PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + path);
            files = snapshot.sizes().keySet().stream().filter(f -> matcher.matches(Path.of(f))).toList();
        } else {
            files = snapshot.sizes().keySet().stream().filter(f -> f.startsWith(path + "/") && TextFormat.isDataFile(f)).toList();
        }
        Path dir = cacheDir.resolve("datasets/hf").resolve(repo).resolve(snapshot.commit());
        List<Shard> shards = new ArrayList<>();
        for (String file : files) {
            Path target = dir.resolve(file);
            long size = snapshot.sizes().get(file);
            shards.add(new Shard(snapshot.uri() + "/" + file, () -> {
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
