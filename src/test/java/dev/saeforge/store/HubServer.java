package dev.saeforge.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A local stand-in for the Hugging Face hub serving one model or dataset repository from a
 * directory, with the endpoints huggingface_hub uses: {@code /api/{models|datasets}/REPO/revision/REV}
 * (commit and files with sizes) and {@code /[datasets/]REPO/resolve/COMMIT/FILE}, which redirects to
 * a second server (the CDN, another origin) that honours Range requests. It can demand a token and cut a download short once,
 * and play a hostile hub: list a file name it chose, or answer a commit that is no hash.
 * <p>
 * It takes uploads as the hub does ({@link HubUpload}'s endpoints): repository creation, preupload
 * (*.safetensors go through LFS, the rest inline), the LFS batch (no actions for an object it holds),
 * a PUT of each object to the CDN, whose body must have the object's sha256, its verification, and
 * the NDJSON commit. A commit builds its new tree aside and then moves the branch to it, so its
 * files appear at a new commit hash all together or not at all; the download endpoints serve every
 * commit. It can cut an object's PUT mid-body and answer 500 to commits, a given number of times.
 */
public final class HubServer implements AutoCloseable {
    /** One request as the server saw it. */
    public record Request(String path, String range, String authorization, String method) {
    }

    /** The token {@link #HubServer(String, Path, String)} accepts for reads only: writes with it are refused (403). */
    public static final String READ_ONLY_TOKEN = "hf_read_only";

    public static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final HttpServer cdn;
    private final HfHub.RepoType type;
    private final String repo;
    private final String token;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Map<String, Long> cutShort = new ConcurrentHashMap<>();
    private final Map<String, Long> alsoListed = new ConcurrentHashMap<>();
    private volatile String answeredCommit;
    /** Each branch's commit, and each commit's files: a directory per commit. */
    private final Map<String, String> branches = new ConcurrentHashMap<>();
    private final Map<String, Path> trees = new ConcurrentHashMap<>();
    /** LFS objects received (sha256 checked), by oid. */
    private final Map<String, byte[]> objects = new ConcurrentHashMap<>();
    private final Map<String, Integer> cutUploads = new ConcurrentHashMap<>();
    private final AtomicInteger failingCommits = new AtomicInteger();
    private final AtomicInteger commitCount = new AtomicInteger();
    private final List<Path> commitDirs = new CopyOnWriteArrayList<>();
    private volatile boolean exists = true;

    /** Serves {@code files} as model repository {@code repo}; {@code token} null for a public one. */
    public HubServer(String repo, Path files, String token) throws IOException {
        this(HfHub.RepoType.MODEL, repo, files, token);
    }

    /** Serves the files under {@code files} (folders too) as repository {@code repo} of {@code type}. */
    public HubServer(HfHub.RepoType type, String repo, Path files, String token) throws IOException {
        this.type = type;
        this.repo = repo;
        this.token = token;
        branches.put("main", COMMIT);
        trees.put(COMMIT, files);
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
        this.cdn = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        cdn.createContext("/", this::handle);
        cdn.start();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    public List<Request> requests() {
        return requests;
    }

    /** The next download of {@code file} sends its first {@code bytes} bytes, then drops the connection. */
    public void cutShortOnce(String file, long bytes) {
        cutShort.put(file, bytes);
    }

    /** Lists {@code rfilename} of {@code size} bytes among the repository's files too, as a hostile repository could. */
    public void listAlso(String rfilename, long size) {
        alsoListed.put(rfilename, size);
    }

    /** Answers {@code sha} as the commit of every revision, as a hostile hub could. */
    public void answerCommit(String sha) {
        answeredCommit = sha;
    }

    /** The repository does not exist (404 everywhere) until created through {@code POST /api/repos/create}. */
    public HubServer withoutRepository() {
        exists = false;
        return this;
    }

    /** The commit {@code branch} points at now. */
    public String commitOf(String branch) {
        return branches.get(branch);
    }

    /** The files of {@code commit}, by path in the repository. */
    public Map<String, byte[]> filesOf(String commit) throws IOException {
        Map<String, byte[]> contents = new TreeMap<>();
        Path tree = trees.get(commit);
        try (Stream<Path> list = Files.walk(tree)) {
            for (Path file : list.filter(Files::isRegularFile).toList()) {
                contents.put(tree.relativize(file).toString().replace('\\', '/'), Files.readAllBytes(file));
            }
        }
        return contents;
    }

    /** The next {@code times} PUTs of LFS object {@code oid} (its sha256) send half the body, then drop the connection. */
    public void cutUploads(String oid, int times) {
        cutUploads.put(oid, times);
    }

    /** The next {@code times} commits are answered 500 and change nothing. */
    public void failCommits(int times) {
        failingCommits.set(times);
    }

    private void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        String authorization = exchange.getRequestHeaders().getFirst("Authorization");
        requests.add(new Request(path, exchange.getRequestHeaders().getFirst("Range"), authorization, exchange.getRequestMethod()));
        try (exchange) {
            String api = "/api/" + type.apiPath + "/" + repo + "/revision/";
            String resolve = "/" + type.filePrefix + repo + "/resolve/";
            if (exchange.getRequestMethod().equals("GET") && (path.startsWith(api) || path.startsWith(resolve))) {
                if (!exists) {
                    send(exchange, 404, "{\"error\":\"Repository not found\"}");
                } else if (token != null && !("Bearer " + token).equals(authorization) && !("Bearer " + READ_ONLY_TOKEN).equals(authorization)) {
                    send(exchange, 401, "{\"error\":\"Invalid credentials\"}");
                } else if (path.startsWith(api)) {
                    String revision = path.substring(api.length());
                    String commit = branches.getOrDefault(revision, revision);
                    if (trees.containsKey(commit)) {
                        send(exchange, 200, info(commit));
                    } else {
                        send(exchange, 404, "{\"error\":\"Invalid rev id: " + revision + "\"}");
                    }
                } else {
                    // As the hub does for LFS files: a redirect to another location, without the token.
                    exchange.getResponseHeaders().add("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/cdn/" + path.substring(resolve.length()));
                    exchange.sendResponseHeaders(302, -1);
                }
            } else if (path.startsWith("/cdn/lfs/") && exchange.getRequestMethod().equals("PUT")) {
                receiveObject(exchange, path.substring("/cdn/lfs/".length()));
            } else if (path.startsWith("/cdn/")) {
                String[] commitAndFile = path.substring("/cdn/".length()).split("/", 2);
                serveFile(exchange, commitAndFile[0], commitAndFile.length > 1 ? commitAndFile[1] : "");
            } else if (exchange.getRequestMethod().equals("POST")) {
                handleWrite(exchange, path, authorization);
            } else {
                send(exchange, 404, "{\"error\":\"Repository not found\"}");
            }
        }
    }

    /** The write endpoints: they need the server's token, and an existing repository except to create it. */
    private void handleWrite(HttpExchange exchange, String path, String authorization) throws IOException {
        String modelApi = "/api/" + type.apiPath + "/" + repo + "/";
        String lfs = "/" + type.filePrefix + repo + ".git/info/lfs/objects/";
        boolean create = path.equals("/api/repos/create");
        if (!create && !path.startsWith(modelApi) && !path.startsWith(lfs)) {
            send(exchange, 404, "{\"error\":\"Repository not found\"}");
        } else if (("Bearer " + READ_ONLY_TOKEN).equals(authorization)) {
            send(exchange, 403, "{\"error\":\"You don't have the rights to create a model under the namespace\"}");
        } else if (token == null || !("Bearer " + token).equals(authorization)) {
            send(exchange, 401, "{\"error\":\"Invalid username or password.\"}");
        } else if (create) {
            JsonNode body = JSON.readTree(exchange.getRequestBody());
            if (!repo.equals(body.path("organization").asText() + "/" + body.path("name").asText())) {
                send(exchange, 403, "{\"error\":\"You don't have the rights to create this repository\"}");
            } else if (exists) {
                send(exchange, 409, "{\"error\":\"You already created this model repo\"}");
            } else {
                exists = true;
                send(exchange, 200, "{\"url\":\"" + endpoint() + "/" + repo + "\"}");
            }
        } else if (!exists) {
            send(exchange, 404, "{\"error\":\"Repository not found\"}");
        } else if (path.startsWith(modelApi + "preupload/")) {
            preupload(exchange, path.substring((modelApi + "preupload/").length()));
        } else if (path.startsWith(modelApi + "commit/")) {
            commit(exchange, path.substring((modelApi + "commit/").length()));
        } else if (path.equals(lfs + "batch")) {
            batch(exchange);
        } else if (path.equals(lfs + "verify")) {
            JsonNode body = JSON.readTree(exchange.getRequestBody());
            byte[] object = objects.get(body.path("oid").asText());
            boolean verified = object != null && object.length == body.path("size").asLong()
                    && "verify-token".equals(exchange.getRequestHeaders().getFirst("X-Verify-Token"));
            send(exchange, verified ? 200 : 404, verified ? "{}" : "{\"error\":\"object not found or of another size\"}");
        } else {
            send(exchange, 404, "{\"error\":\"Not found\"}");
        }
    }

    private void preupload(HttpExchange exchange, String revision) throws IOException {
        if (!branches.containsKey(revision)) {
            send(exchange, 404, "{\"error\":\"Invalid rev id: " + revision + "\"}");
            return;
        }
        ObjectNode answer = JSON.createObjectNode();
        ArrayNode list = answer.putArray("files");
        for (JsonNode file : JSON.readTree(exchange.getRequestBody()).path("files")) {
            boolean lfs = file.path("path").asText().endsWith(".safetensors") && file.path("size").asLong() > 0;
            list.addObject().put("path", file.path("path").asText()).put("uploadMode", lfs ? "lfs" : "regular").put("shouldIgnore", false);
        }
        send(exchange, 200, answer.toString());
    }

    /** The LFS batch: upload and verify actions for the objects it lacks, none for those it holds. */
    private void batch(HttpExchange exchange) throws IOException {
        ObjectNode answer = JSON.createObjectNode().put("transfer", "basic");
        ArrayNode list = answer.putArray("objects");
        for (JsonNode object : JSON.readTree(exchange.getRequestBody()).path("objects")) {
            String oid = object.path("oid").asText();
            ObjectNode entry = list.addObject().put("oid", oid).put("size", object.path("size").asLong());
            if (!objects.containsKey(oid)) {
                ObjectNode actions = entry.put("authenticated", true).putObject("actions");
                actions.putObject("upload").put("href", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/cdn/lfs/" + oid)
                        .putObject("header").put("X-Upload-Signature", signature(oid));
                actions.putObject("verify").put("href", endpoint() + "/" + type.filePrefix + repo + ".git/info/lfs/objects/verify")
                        .putObject("header").put("X-Verify-Token", "verify-token");
            }
        }
        exchange.getResponseHeaders().add("Content-Type", "application/vnd.git-lfs+json");
        send(exchange, 200, answer.toString());
    }

    /** A PUT of one LFS object: kept only when signed as the batch said and its body has the oid's sha256. */
    private void receiveObject(HttpExchange exchange, String oid) throws IOException {
        if (!signature(oid).equals(exchange.getRequestHeaders().getFirst("X-Upload-Signature"))) {
            send(exchange, 403, "<Error><Code>SignatureDoesNotMatch</Code></Error>");
            return;
        }
        long length = Long.parseLong(exchange.getRequestHeaders().getFirst("Content-Length"));
        if (cutUploads.getOrDefault(oid, 0) > 0) {
            cutUploads.merge(oid, -1, Integer::sum);
            exchange.getRequestBody().readNBytes((int) (length / 2));
            // Abandon the exchange mid-body: the client sees the connection end before its upload does.
            throw new IOException("upload cut short on purpose");
        }
        byte[] body = exchange.getRequestBody().readAllBytes();
        if (!sha256(body).equals(oid)) {
            send(exchange, 400, "<Error><Code>BadDigest</Code></Error>");
            return;
        }
        objects.put(oid, body);
        send(exchange, 200, "");
    }

    /**
     * A commit: the branch's files with the new ones added, written to a new directory, and only
     * then the branch moved to the new commit.
     */
    private void commit(HttpExchange exchange, String revision) throws IOException {
        byte[] ndjson = exchange.getRequestBody().readAllBytes();
        String parent = branches.get(revision);
        if (parent == null) {
            send(exchange, 404, "{\"error\":\"Invalid rev id: " + revision + "\"}");
            return;
        }
        if (failingCommits.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            send(exchange, 500, "{\"error\":\"Internal Error - We're working hard to fix this as soon as possible!\"}");
            return;
        }
        Path tree = Files.createTempDirectory("hub-commit");
        commitDirs.add(tree);
        for (Map.Entry<String, byte[]> file : filesOf(parent).entrySet()) {
            write(tree, file.getKey(), file.getValue());
        }
        for (String line : new String(ndjson, StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode entry = JSON.readTree(line);
            JsonNode value = entry.path("value");
            switch (entry.path("key").asText()) {
                case "file" -> write(tree, value.path("path").asText(), Base64.getDecoder().decode(value.path("content").asText()));
                case "lfsFile" -> {
                    byte[] object = objects.get(value.path("oid").asText());
                    if (object == null || object.length != value.path("size").asLong()) {
                        send(exchange, 422, "{\"error\":\"LFS object " + value.path("oid").asText() + " was not uploaded\"}");
                        return;
                    }
                    write(tree, value.path("path").asText(), object);
                }
                case "header" -> {
                }
                default -> {
                    send(exchange, 400, "{\"error\":\"unknown key " + entry.path("key").asText() + "\"}");
                    return;
                }
            }
        }
        String commit = sha256((parent + commitCount.incrementAndGet()).getBytes(StandardCharsets.UTF_8)).substring(0, 40);
        trees.put(commit, tree);
        branches.put(revision, commit);
        send(exchange, 200, JSON.createObjectNode().put("commitUrl", endpoint() + "/" + repo + "/commit/" + commit)
                .put("commitOid", commit).toString());
    }

    private static void write(Path tree, String path, byte[] content) throws IOException {
        Path file = tree.resolve(path).normalize();
        if (!file.startsWith(tree)) {
            throw new IOException("path " + path + " leaves the repository");
        }
        Files.createDirectories(file.getParent());
        Files.write(file, content);
    }

    private static String signature(String oid) {
        return "signed-" + oid.substring(0, 12);
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private String info(String commit) throws IOException {
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("id", repo);
        root.put("sha", answeredCommit == null ? commit : answeredCommit);
        ArrayNode siblings = root.putArray("siblings");
        Path tree = trees.get(commit);
        try (Stream<Path> list = Files.walk(tree)) {
            for (Path file : list.filter(Files::isRegularFile).sorted().toList()) {
                ObjectNode sibling = siblings.addObject();
                sibling.put("rfilename", tree.relativize(file).toString().replace('\\', '/'));
                sibling.put("size", Files.size(file));
            }
        }
        alsoListed.forEach((name, size) -> siblings.addObject().put("rfilename", name).put("size", size));
        return root.toString();
    }

    private void serveFile(HttpExchange exchange, String commit, String name) throws IOException {
        Path tree = trees.get(commit);
        Path file = tree == null ? null : tree.resolve(name);
        if (file == null || !Files.isRegularFile(file)) {
            send(exchange, 404, "Entry not found");
            return;
        }
        byte[] bytes = Files.readAllBytes(file);
        String range = exchange.getRequestHeaders().getFirst("Range");
        int from = range == null ? 0 : Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
        if (range != null) {
            exchange.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (bytes.length - 1) + "/" + bytes.length);
        }
        exchange.sendResponseHeaders(range == null ? 200 : 206, bytes.length - from);
        OutputStream body = exchange.getResponseBody();
        Long cut = cutShort.remove(name);
        if (cut != null) {
            body.write(bytes, from, (int) (cut - from));
            body.flush();
            // Abandon the exchange mid-body: the client sees the connection end before Content-Length.
            throw new IOException("cut short on purpose");
        }
        body.write(bytes, from, bytes.length - from);
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
        cdn.stop(0);
        for (Path tree : commitDirs) {
            try (Stream<Path> walk = Files.walk(tree)) {
                for (Path path : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(path);
                }
            } catch (IOException e) {
                // a temporary directory left behind harms nothing
            }
        }
    }
}
