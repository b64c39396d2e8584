package dev.saeforge.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Hugging Face hub's HTTP API, the part that downloads repositories: resolve a revision to a
 * commit and list its files ({@code GET /api/{models|datasets}/REPO/revision/REV?blobs=true}),
 * then fetch each file ({@code GET /[datasets/]REPO/resolve/COMMIT/FILE}, which redirects large
 * files to a CDN). The token (HF_TOKEN) goes to the hub's own host only, never to a redirect
 * target. Downloads go to FILE.part and resume from its length with a Range request, after a
 * dropped connection within the same call or in a later process.
 */
public final class HfHub {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ATTEMPTS = 5;
    private static final int MAX_REDIRECTS = 10;
    /** The hub's rule for ORG and NAME: letters, digits, '-', '_', '.', not starting or ending with '-' or '.'. */
    private static final java.util.regex.Pattern REPO_PART = java.util.regex.Pattern.compile("[A-Za-z0-9_](?:[\\w.-]*[A-Za-z0-9_])?");
    /** Characters git refuses in a ref name (git check-ref-format), besides control characters. */
    private static final java.util.regex.Pattern REF_FORBIDDEN = java.util.regex.Pattern.compile("[\\s~^:?*\\[\\\\]|\\.\\.|//|@\\{|\\p{Cntrl}");

    public enum RepoType {
        MODEL("models", ""), DATASET("datasets", "datasets/");

        final String apiPath;
        final String filePrefix;

        RepoType(String apiPath, String filePrefix) {
            this.apiPath = apiPath;
            this.filePrefix = filePrefix;
        }
    }

    /** A revision of a repository resolved to its commit, with each file's size in bytes. */
    public record Snapshot(RepoType type, String repo, String revision, String commit, Map<String, Long> sizes) {
        /** hf://[datasets/]REPO@COMMIT, for messages. */
        public String uri() {
            return "hf://" + type.filePrefix + repo + "@" + commit;
        }
    }

    private final URI endpoint;
    private final String token;
    private final HttpClient http;

    /** {@code token} may be null: public repositories need none. */
    public HfHub(URI endpoint, String token) {
        this.endpoint = URI.create(endpoint.toString().replaceAll("/+$", ""));
        this.token = token == null || token.isBlank() ? null : token.strip();
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** HF_ENDPOINT (default https://huggingface.co) and HF_TOKEN, as huggingface_hub reads them. */
    public static HfHub fromEnvironment() {
        String endpoint = System.getenv().getOrDefault("HF_ENDPOINT", DEFAULT_ENDPOINT);
        return new HfHub(URI.create(endpoint), System.getenv("HF_TOKEN"));
    }

    public URI endpoint() {
        return endpoint;
    }

    /** HF_TOKEN, stripped; null when none was given. */
    String token() {
        return token;
    }

    /** Resolves {@code revision} (a branch, tag or commit) of {@code repo} (ORG/NAME). */
    public Snapshot snapshot(RepoType type, String repo, String revision) throws IOException {
        String name = "hf://" + type.filePrefix + repo + "@" + revision;
        checkAddress(name, repo, revision);
        URI uri = URI.create(endpoint + "/api/" + type.apiPath + "/" + repo + "/revision/"
                + URLEncoder.encode(revision, StandardCharsets.UTF_8) + "?blobs=true");
        HttpResponse<InputStream> response = get(uri, -1, name);
        JsonNode info;
        try (InputStream body = response.body()) {
            info = JSON.readTree(body);
        }
        String commit = info.path("sha").asText("");
        JsonNode siblings = info.path("siblings");
        if (commit.isEmpty() || !siblings.isArray()) {
            throw new IOException(name + ": the hub's answer from " + uri + " lacks \"sha\" or \"siblings\"");
        }
        Map<String, Long> sizes = new TreeMap<>();
        for (JsonNode sibling : siblings) {
            long size = sibling.path("lfs").path("size").asLong(sibling.path("size").asLong(-1));
            sizes.put(sibling.path("rfilename").asText(), size);
        }
        // The commit names the cache directory the files go to: only a commit hash may.
        return new Snapshot(type, repo, revision, CachePaths.commit(commit, "hf://" + type.filePrefix + repo),
                Collections.unmodifiableMap(sizes));
    }

    /**
     * Downloads {@code file} of the snapshot to {@code target}, resuming {@code target}.part if an
     * earlier attempt left one. The file appears at {@code target} only once complete.
     */
    public void download(Snapshot snapshot, String file, Path target) throws IOException {
        Long expected = snapshot.sizes().get(file);
        if (expected == null) {
            throw new IOException(snapshot.uri() + " has no file " + file);
        }
        URI uri = URI.create(endpoint + "/" + snapshot.type().filePrefix + snapshot.repo() + "/resolve/" + snapshot.commit() + "/"
                + encodePath(file));
        Path part = target.resolveSibling(target.getFileName() + ".part");
        Files.createDirectories(target.getParent());
        IOException last = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            long offset = Files.exists(part) ? Files.size(part) : 0;
            if (expected >= 0 && offset > expected) {
                Files.delete(part);
                offset = 0;
            }
            if (expected >= 0 && offset == expected) {
                break;
            }
            try {
                fetchInto(uri, part, offset, snapshot.uri() + "/" + file);
                last = null;
                break;
            } catch (HubRefusal e) {
                throw e;
            } catch (IOException e) {
                last = e;
                pause(attempt);
            }
        }
        if (last != null) {
            throw new IOException(snapshot.uri() + "/" + file + ": download failed after " + ATTEMPTS + " attempts ("
                    + (Files.exists(part) ? Files.size(part) : 0) + " bytes kept in " + part + " to resume): " + last.getMessage(), last);
        }
        long size = Files.size(part);
        if (expected >= 0 && size != expected) {
            throw new IOException(snapshot.uri() + "/" + file + ": downloaded " + size + " bytes, the hub lists " + expected);
        }
        Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Appends the bytes from {@code offset} on to {@code part}; a server that ignores the range restarts it. */
    private void fetchInto(URI uri, Path part, long offset, String name) throws IOException {
        HttpResponse<InputStream> response = get(uri, offset, name);
        boolean resumed = response.statusCode() == 206;
        try (InputStream body = response.body();
             OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     resumed ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            body.transferTo(out);
        }
    }

    /** GET with manual redirects, so that the token goes to the hub only; {@code offset} >= 0 asks for a range. */
    private HttpResponse<InputStream> get(URI uri, long offset, String name) throws IOException {
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(current).GET().header("User-Agent", "saeforge");
            if (token != null && sameOrigin(current, endpoint)) {
                request.header("Authorization", "Bearer " + token);
            }
            if (offset > 0) {
                request.header("Range", "bytes=" + offset + "-");
            }
            HttpResponse<InputStream> response;
            try {
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(name + ": interrupted");
            } catch (IOException e) {
                if (Failures.isTransient(e)) {
                    throw new TransientIOException(name + ": cannot reach " + current.getScheme() + "://" + current.getAuthority()
                            + (e.getMessage() == null || e.getMessage().isBlank() ? "" : " (" + e.getMessage() + ")"), e);
                }
                throw e;
            }
            int status = response.statusCode();
            if (status / 100 == 3 && response.headers().firstValue("Location").isPresent()) {
                response.body().close();
                current = current.resolve(response.headers().firstValue("Location").get());
                continue;
            }
            if (status == 200 || status == 206) {
                return response;
            }
            String detail;
            try (InputStream body = response.body()) {
                detail = new String(body.readNBytes(300), StandardCharsets.UTF_8).strip();
            }
            String why = switch (status) {
                case 401, 403 -> token == null
                        ? "the repository is private or gated; set HF_TOKEN to a token with access"
                        : "the token in HF_TOKEN has no access to it";
                case 404 -> "no such repository, revision or file";
                default -> detail;
            };
            String message = name + ": HTTP " + status + " from " + current + ": " + why;
            throw Failures.isTransientStatus(status) ? new TransientIOException(message)
                    : status / 100 == 4 ? new HubRefusal(message) : new IOException(message);
        }
        throw new IOException(name + ": more than " + MAX_REDIRECTS + " redirects from " + uri);
    }

    /** A 4xx answer: retrying will not help. */
    static final class HubRefusal extends IOException {
        HubRefusal(String message) {
            super(message);
        }
    }

    /**
     * Refuses, before any request, a repository id or revision the hub could not hold: ORG/NAME
     * by the hub's naming rules (at most 96 characters, no "--" or ".."), a revision by git's rules
     * for ref names (a branch, a tag, refs/pr/N or a commit).
     */
    static void checkAddress(String name, String repo, String revision) {
        String[] parts = repo.split("/", -1);
        if (parts.length != 2 || repo.length() > 96 || repo.contains("--") || repo.contains("..")
                || !REPO_PART.matcher(parts[0]).matches() || !REPO_PART.matcher(parts[1]).matches()) {
            throw new IllegalArgumentException(name + ": \"" + repo + "\" is not a Hugging Face repository id; expected ORG/NAME,"
                    + " each of letters, digits, '-', '_' or '.' ('-' and '.' neither first nor last), without \"--\" or \"..\", at most 96 in all");
        }
        if (revision.isEmpty() || revision.length() > 255 || REF_FORBIDDEN.matcher(revision).find() || revision.startsWith("/")
                || revision.endsWith("/") || revision.endsWith(".") || revision.endsWith(".lock") || revision.startsWith("-")
                || java.util.Arrays.stream(revision.split("/")).anyMatch(p -> p.startsWith("."))) {
            throw new IllegalArgumentException(name + ": \"" + revision.replaceAll("\\p{Cntrl}", "?") + "\" is not a revision;"
                    + " expected a branch, a tag, refs/pr/N or a commit sha, by git's rules for ref names");
        }
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost()) && a.getPort() == b.getPort();
    }

    private static String encodePath(String file) {
        StringBuilder out = new StringBuilder();
        for (String segment : file.split("/")) {
            if (!out.isEmpty()) {
                out.append('/');
            }
            out.append(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return out.toString();
    }

    private static void pause(int attempt) throws InterruptedIOException {
        try {
            Thread.sleep(200L * attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to retry");
        }
    }
}
