package dev.saeforge.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * Uploads files to a Hugging Face model repository as one commit, through the hub's HTTP API as
 * huggingface_hub's create_commit uses it: optionally {@code POST /api/repos/create} (409: it
 * exists); {@code POST /api/models/REPO/preupload/REV}, which says for each file whether it goes
 * inline ("regular") or through LFS; the LFS batch {@code POST /REPO.git/info/lfs/objects/batch}
 * by sha256, whose answer has upload actions only for objects the hub does not hold yet (that is
 * how an interrupted upload resumes: what arrived is not sent again); a PUT of each missing object
 * to its href and a POST to its verify action; then one {@code POST /api/models/REPO/commit/REV}
 * (NDJSON: a header line, then a "file" line with base64 content or an "lfsFile" line by sha256
 * per file). The commit is sent only once every LFS object is uploaded and verified, so a failed
 * upload leaves the repository as it was.
 * <p>
 * The token (HF_TOKEN) goes to the hub's own origin only, never to an upload href elsewhere.
 * Transient failures (connection trouble, 5xx, 408, 429) are retried with backoff; any other 4xx
 * answer is an error carrying the hub's message.
 */
public final class HubUpload {
    /** Tries per request, the first one included. */
    static final int ATTEMPTS = 5;
    /** Files per preupload request, as huggingface_hub sends them. */
    private static final int PREUPLOAD_CHUNK = 256;
    private static final int SAMPLE_BYTES = 512;
    private static final String LFS_JSON = "application/vnd.git-lfs+json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A local file to commit at {@code pathInRepo}, with its size and sha256 as read before the upload. */
    public record LocalFile(String pathInRepo, Path source, long size, String sha256) {
        /** Reads {@code source} once for its size and sha256. */
        public static LocalFile of(String pathInRepo, Path source) throws IOException {
            CheckpointFiles.Digest digest = CheckpointFiles.sha256(source);
            return new LocalFile(pathInRepo, source, digest.bytes(), digest.sha256());
        }
    }

    /** The commit made: its hash and the hub's page for it. */
    public record Commit(String oid, String url) {
    }

    private final HfHub hub;
    private final Consumer<String> progress;
    private final HttpClient http;
    private final Retry retry;

    /** Uploads to {@code hub}'s endpoint with its token; {@code progress} gets one line per step (stderr in the CLI). */
    public HubUpload(HfHub hub, Consumer<String> progress) {
        this.hub = hub;
        this.progress = progress;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER).build();
        Retry.Budget budget = new Retry.Budget(ATTEMPTS, "attempts", Duration.ofMinutes(10), "10m");
        this.retry = new Retry(budget, Duration.ofMillis(200), Duration.ofSeconds(20), hub.endpoint().toString(),
                e -> !(e instanceof HfHub.HubRefusal) && Failures.isRetryable(e), HubUpload::describe,
                RandomGenerator.getDefault(), Retry.Clock.SYSTEM);
    }

    /**
     * Commits {@code files} to {@code revision} (a branch) of model repository {@code repo}
     * (ORG/NAME), creating the repository first when {@code create}. A missing token, a bad
     * repository id or revision, and a missing repository are IllegalArgumentExceptions; the hub's
     * refusals and failures past the retry budget are IOExceptions, after which nothing was committed.
     */
    public Commit upload(String repo, String revision, List<LocalFile> files, String message, boolean create) throws IOException {
        checkTarget(repo, revision);
        if (create) {
            createRepository(repo);
        }
        Map<String, String> modes = uploadModes(repo, revision, files);
        List<LocalFile> lfs = files.stream().filter(f -> "lfs".equals(modes.get(f.pathInRepo()))).toList();
        uploadLfs(repo, revision, lfs);
        return commit(repo, revision, files, modes, message);
    }

    /**
     * Refuses (IllegalArgumentException), before any request, what cannot be uploaded: a repository
     * id or revision the hub could not hold, or no token in HF_TOKEN.
     */
    public void checkTarget(String repo, String revision) {
        HfHub.checkAddress("hf://" + repo + "@" + revision, repo, revision);
        if (hub.token() == null) {
            throw new IllegalArgumentException("HF_TOKEN is not set: publishing to " + repo + " needs a Hugging Face token with write"
                    + " access to it in the environment variable HF_TOKEN");
        }
    }

    private void createRepository(String repo) throws IOException {
        String[] parts = repo.split("/");
        ObjectNode body = JSON.createObjectNode().put("name", parts[1]).put("organization", parts[0]).put("private", false);
        URI uri = URI.create(hub.endpoint() + "/api/repos/create");
        HttpResponse<byte[]> response = retry.run("create " + repo, () -> checkTransient(http.send(post(uri, "application/json", body), BODY), "create " + repo));
        if (response.statusCode() == 409) {
            progress.accept("Repository " + repo + " exists already");
        } else {
            check(response, repo, "create repository " + repo);
            progress.accept("Created repository " + repo);
        }
    }

    /** The preupload answer: "regular" or "lfs" for each file. */
    private Map<String, String> uploadModes(String repo, String revision, List<LocalFile> files) throws IOException {
        Map<String, String> modes = new HashMap<>();
        URI uri = URI.create(hub.endpoint() + "/api/models/" + repo + "/preupload/" + encode(revision));
        for (int from = 0; from < files.size(); from += PREUPLOAD_CHUNK) {
            ObjectNode body = JSON.createObjectNode();
            ArrayNode list = body.putArray("files");
            for (LocalFile file : files.subList(from, Math.min(files.size(), from + PREUPLOAD_CHUNK))) {
                list.addObject().put("path", file.pathInRepo()).put("sample", Base64.getEncoder().encodeToString(sample(file.source())))
                        .put("size", file.size());
            }
            JsonNode answer = call("preupload to " + repo + "@" + revision, repo, revision, () -> post(uri, "application/json", body));
            for (JsonNode file : answer.path("files")) {
                modes.put(file.path("path").asText(), file.path("uploadMode").asText("regular"));
            }
        }
        return modes;
    }

    /** Uploads and verifies the LFS objects the hub lacks; those it holds already are skipped. */
    private void uploadLfs(String repo, String revision, List<LocalFile> lfs) throws IOException {
        if (lfs.isEmpty()) {
            return;
        }
        ObjectNode body = JSON.createObjectNode().put("operation", "upload");
        body.putArray("transfers").add("basic");
        ArrayNode objects = body.putArray("objects");
        lfs.forEach(file -> objects.addObject().put("oid", file.sha256()).put("size", file.size()));
        body.put("hash_algo", "sha256");
        body.putObject("ref").put("name", revision);
        URI uri = URI.create(hub.endpoint() + "/" + repo + ".git/info/lfs/objects/batch");
        JsonNode answer = call("LFS batch for " + repo, repo, revision, () -> HttpRequest.newBuilder(uri)
                .header("Accept", LFS_JSON).header("Content-Type", LFS_JSON).header("Authorization", "Bearer " + hub.token())
                .header("User-Agent", "saeforge").POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build());
        Map<String, JsonNode> actions = new LinkedHashMap<>();
        for (JsonNode object : answer.path("objects")) {
            if (object.has("error")) {
                throw new IOException(repo + ": the hub refuses LFS object " + object.path("oid").asText() + ": "
                        + object.path("error").path("message").asText(object.path("error").toString()));
            }
            actions.put(object.path("oid").asText(), object.path("actions"));
        }
        List<LocalFile> missing = lfs.stream().filter(file -> actions.getOrDefault(file.sha256(), JSON.missingNode()).has("upload")).toList();
        long total = missing.stream().mapToLong(LocalFile::size).sum();
        progress.accept(String.format(Locale.ROOT, "%d LFS files: %d on the hub already, %d to upload (%s)", lfs.size(),
                lfs.size() - missing.size(), missing.size(), megabytes(total)));
        long start = System.nanoTime();
        long sent = 0;
        for (int i = 0; i < missing.size(); i++) {
            LocalFile file = missing.get(i);
            JsonNode action = actions.get(file.sha256());
            put(file, action.path("upload"));
            if (action.has("verify")) {
                verify(repo, file, action.path("verify"));
            }
            sent += file.size();
            double seconds = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
            progress.accept(String.format(Locale.ROOT, "uploaded %s: %d/%d files, %s of %s, %.1f MB/s", file.pathInRepo(), i + 1,
                    missing.size(), megabytes(sent), megabytes(total), sent / 1e6 / seconds));
        }
    }

    private void put(LocalFile file, JsonNode upload) throws IOException {
        if (upload.path("header").has("chunk_size")) {
            throw new IOException(file.pathInRepo() + ": the hub asks for a multipart LFS upload, which saeforge does not make");
        }
        URI href = href(upload.path("href").asText());
        String what = "upload of " + file.pathInRepo() + " (" + megabytes(file.size()) + ")";
        HttpResponse<byte[]> response = retry.run(what, () -> {
            HttpRequest.Builder request = HttpRequest.newBuilder(href).header("User-Agent", "saeforge")
                    .PUT(HttpRequest.BodyPublishers.ofFile(file.source()));
            upload.path("header").properties().forEach(h -> request.header(h.getKey(), h.getValue().asText()));
            return checkTransient(http.send(authorized(request, href).build(), BODY), what);
        });
        check(response, file.pathInRepo(), what);
    }

    private void verify(String repo, LocalFile file, JsonNode verify) throws IOException {
        URI href = href(verify.path("href").asText());
        ObjectNode body = JSON.createObjectNode().put("oid", file.sha256()).put("size", file.size());
        call("verification of " + file.pathInRepo(), repo, null, () -> {
            HttpRequest.Builder request = HttpRequest.newBuilder(href).header("Content-Type", LFS_JSON).header("Accept", LFS_JSON)
                    .header("User-Agent", "saeforge").POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
            verify.path("header").properties().forEach(h -> request.header(h.getKey(), h.getValue().asText()));
            return authorized(request, href).build();
        });
    }

    private Commit commit(String repo, String revision, List<LocalFile> files, Map<String, String> modes, String message) throws IOException {
        StringBuilder ndjson = new StringBuilder();
        ObjectNode header = JSON.createObjectNode().put("key", "header");
        header.putObject("value").put("summary", message).put("description", "");
        ndjson.append(header).append('\n');
        for (LocalFile file : files) {
            ObjectNode line = JSON.createObjectNode();
            if ("lfs".equals(modes.get(file.pathInRepo()))) {
                line.put("key", "lfsFile").putObject("value").put("path", file.pathInRepo()).put("algo", "sha256")
                        .put("oid", file.sha256()).put("size", file.size());
            } else {
                line.put("key", "file").putObject("value").put("content", Base64.getEncoder().encodeToString(Files.readAllBytes(file.source())))
                        .put("path", file.pathInRepo()).put("encoding", "base64");
            }
            ndjson.append(line).append('\n');
        }
        URI uri = URI.create(hub.endpoint() + "/api/models/" + repo + "/commit/" + encode(revision));
        byte[] body = ndjson.toString().getBytes(StandardCharsets.UTF_8);
        JsonNode answer = call("commit to " + repo + "@" + revision, repo, revision, () -> HttpRequest.newBuilder(uri)
                .header("Content-Type", "application/x-ndjson").header("Authorization", "Bearer " + hub.token())
                .header("User-Agent", "saeforge").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
        String oid = answer.path("commitOid").asText("");
        if (oid.isEmpty()) {
            throw new IOException(repo + ": the hub's answer to the commit lacks \"commitOid\": " + abbreviate(answer.toString()));
        }
        return new Commit(oid, answer.path("commitUrl").asText(hub.endpoint() + "/" + repo + "/commit/" + oid));
    }

    /** A request that can be built again for each try. */
    private interface RequestMaker {
        HttpRequest make() throws IOException;
    }

    private static final HttpResponse.BodyHandler<byte[]> BODY = HttpResponse.BodyHandlers.ofByteArray();

    /** Sends a request (retrying transient failures) whose 2xx answer is JSON. */
    private JsonNode call(String what, String repo, String revision, RequestMaker request) throws IOException {
        HttpResponse<byte[]> response = retry.run(what, () -> checkTransient(http.send(request.make(), BODY), what));
        check(response, repo + (revision == null ? "" : "@" + revision), what);
        byte[] body = response.body();
        return body.length == 0 ? JSON.createObjectNode() : JSON.readTree(body);
    }

    private HttpRequest post(URI uri, String contentType, JsonNode body) throws IOException {
        return HttpRequest.newBuilder(uri).header("Content-Type", contentType).header("Authorization", "Bearer " + hub.token())
                .header("User-Agent", "saeforge").POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
    }

    /** An action's href; one on huggingface.co points at HF_ENDPOINT instead, as huggingface_hub does for mirrors. */
    private URI href(String href) {
        return URI.create(href.startsWith(HfHub.DEFAULT_ENDPOINT + "/") ? hub.endpoint() + href.substring(HfHub.DEFAULT_ENDPOINT.length()) : href);
    }

    /** Adds the token for the hub's own origin only. */
    private HttpRequest.Builder authorized(HttpRequest.Builder request, URI target) {
        return HfHub.sameOrigin(target, hub.endpoint()) ? request.header("Authorization", "Bearer " + hub.token()) : request;
    }

    /** A server error or throttling becomes a failure the retry tries again. */
    private static HttpResponse<byte[]> checkTransient(HttpResponse<byte[]> response, String what) throws TransientIOException {
        if (Failures.isTransientStatus(response.statusCode())) {
            throw new TransientIOException(what + ": HTTP " + response.statusCode() + " from " + response.uri() + ": " + hubMessage(response));
        }
        return response;
    }

    /** Any other non-2xx answer: a refusal naming what was refused and the hub's message. */
    private static void check(HttpResponse<byte[]> response, String target, String what) throws IOException {
        int status = response.statusCode();
        if (status / 100 == 2) {
            return;
        }
        String repo = target.replaceAll("@.*", "");
        String why = switch (status) {
            case 401, 403 -> "the token in HF_TOKEN cannot write to " + repo + " (" + hubMessage(response) + ")";
            case 404 -> hubMessage(response) + "; check that repository " + target + " exists (--create creates it) and that the"
                    + " revision is an existing branch";
            default -> hubMessage(response);
        };
        throw new HfHub.HubRefusal(what + ": HTTP " + status + " from " + response.uri() + ": " + why);
    }

    /** The hub's {"error": ...} message, else the start of its answer. */
    private static String hubMessage(HttpResponse<byte[]> response) {
        String body = new String(response.body(), StandardCharsets.UTF_8).strip();
        try {
            JsonNode json = JSON.readTree(body);
            if (json != null && json.path("error").isTextual()) {
                return json.path("error").asText();
            }
        } catch (IOException e) {
            // not JSON: the text itself says what happened
        }
        return body.isEmpty() ? "no message" : abbreviate(body);
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }

    private static String abbreviate(String text) {
        return text.length() <= 300 ? text : text.substring(0, 300) + "...";
    }

    private static byte[] sample(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(SAMPLE_BYTES);
        }
    }

    private static String encode(String revision) {
        return URLEncoder.encode(revision, StandardCharsets.UTF_8).replace("+", "%20");
    }

    static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.2f MB", bytes / 1e6);
    }
}
