package dev.saeforge.store;

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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * A local stand-in for the Hugging Face hub serving one model or dataset repository from a
 * directory, with the endpoints huggingface_hub uses: {@code /api/{models|datasets}/REPO/revision/REV}
 * (commit and files with sizes) and {@code /[datasets/]REPO/resolve/COMMIT/FILE}, which redirects to
 * a second server (the CDN, another origin) that honours Range requests. It can demand a token and cut a download short once,
 * and play a hostile hub: list a file name it chose, or answer a commit that is no hash.
 */
public final class HubServer implements AutoCloseable {
    /** One request as the server saw it. */
    public record Request(String path, String range, String authorization) {
    }

    public static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    private final HttpServer server;
    private final HttpServer cdn;
    private final HfHub.RepoType type;
    private final String repo;
    private final Path files;
    private final String token;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Map<String, Long> cutShort = new ConcurrentHashMap<>();
    private final Map<String, Long> alsoListed = new ConcurrentHashMap<>();
    private volatile String answeredCommit = COMMIT;

    /** Serves {@code files} as model repository {@code repo}; {@code token} null for a public one. */
    public HubServer(String repo, Path files, String token) throws IOException {
        this(HfHub.RepoType.MODEL, repo, files, token);
    }

    /** Serves the files under {@code files} (folders too) as repository {@code repo} of {@code type}. */
    public HubServer(HfHub.RepoType type, String repo, Path files, String token) throws IOException {
        this.type = type;
        this.repo = repo;
        this.files = files;
        this.token = token;
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

    private void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        String authorization = exchange.getRequestHeaders().getFirst("Authorization");
        requests.add(new Request(path, exchange.getRequestHeaders().getFirst("Range"), authorization));
        try (exchange) {
            String api = "/api/" + type.apiPath + "/" + repo + "/revision/";
            String resolve = "/" + type.filePrefix + repo + "/resolve/" + COMMIT + "/";
            if (path.startsWith(api) || path.startsWith(resolve)) {
                if (token != null && !("Bearer " + token).equals(authorization)) {
                    send(exchange, 401, "{\"error\":\"Invalid credentials\"}");
                } else if (path.startsWith(api)) {
                    String revision = path.substring(api.length());
                    if (revision.equals("main") || revision.equals(COMMIT)) {
                        send(exchange, 200, info());
                    } else {
                        send(exchange, 404, "{\"error\":\"Invalid rev id: " + revision + "\"}");
                    }
                } else {
                    // As the hub does for LFS files: a redirect to another location, without the token.
                    exchange.getResponseHeaders().add("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/cdn/" + COMMIT + "/" + path.substring(resolve.length()));
                    exchange.sendResponseHeaders(302, -1);
                }
            } else if (path.startsWith("/cdn/" + COMMIT + "/")) {
                serveFile(exchange, path.substring(("/cdn/" + COMMIT + "/").length()));
            } else {
                send(exchange, 404, "{\"error\":\"Repository not found\"}");
            }
        }
    }

    private String info() throws IOException {
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("id", repo);
        root.put("sha", answeredCommit);
        ArrayNode siblings = root.putArray("siblings");
        try (Stream<Path> list = Files.walk(files)) {
            for (Path file : list.filter(Files::isRegularFile).sorted().toList()) {
                ObjectNode sibling = siblings.addObject();
                sibling.put("rfilename", files.relativize(file).toString().replace('\\', '/'));
                sibling.put("size", Files.size(file));
            }
        }
        alsoListed.forEach((name, size) -> siblings.addObject().put("rfilename", name).put("size", size));
        return root.toString();
    }

    private void serveFile(HttpExchange exchange, String name) throws IOException {
        Path file = files.resolve(name);
        if (!Files.isRegularFile(file)) {
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
    }
}
