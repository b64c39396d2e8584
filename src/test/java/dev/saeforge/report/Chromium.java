package dev.saeforge.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A headless Chromium driven over the Chrome DevTools Protocol, for tests that open a page the way
 * a person does and watch what it does: console errors, uncaught exceptions and every request it
 * makes. Speaks the protocol over the JDK's WebSocket with Jackson, so it needs no browser driver.
 * Each instance has its own throwaway profile; {@link #close()} ends the browser and deletes it.
 */
public final class Chromium implements AutoCloseable {
    /** Where screenshots go: a test artefact beside the build's other reports. */
    static final Path SCREENSHOTS = Path.of("target", "report-screenshots");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration STARTUP = Duration.ofSeconds(60);
    private static final Duration REPLY = Duration.ofSeconds(60);
    private static final int WIDTH = 1280;
    private static final int HEIGHT = 900;
    /** Taller captures than this exceed what Chromium can paint in one image. */
    private static final int MAX_SCREENSHOT_HEIGHT = 16_000;

    private final Process process;
    private final Path profile;
    private final Path log;
    private WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> replies = new ConcurrentHashMap<>();
    private volatile CompletableFuture<Void> loaded = new CompletableFuture<>();
    private final List<String> consoleErrors = new ArrayList<>();
    private final List<String> exceptions = new ArrayList<>();
    private final List<String> requests = new ArrayList<>();

    private Chromium(Process process, Path profile, Path log) {
        this.process = process;
        this.profile = profile;
        this.log = log;
    }

    /**
     * A fresh headless Chromium on an empty page. Fails (never skips) when no chromium is
     * installed: the browser test is part of what "done" means for the report.
     */
    public static Chromium launch() throws IOException, InterruptedException {
        String executable = executable().orElseThrow(() -> new AssertionError(
                "The report page's browser test needs headless Chromium, and no chromium or chromium-browser is on the PATH ("
                        + System.getenv("PATH") + "): install Debian's chromium package (apt-get install -y chromium), as .ci/run does."));
        Path profile = Files.createTempDirectory("saeforge-chromium-");
        Path log = Files.createTempFile("saeforge-chromium-", ".log");
        // Background services off: only the page under test may cause traffic, and CI has no network.
        Process process = new ProcessBuilder(executable, "--headless=new", "--no-sandbox", "--remote-debugging-port=0", "--user-data-dir=" + profile,
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=" + WIDTH + "," + HEIGHT, "about:blank")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Chromium chromium = new Chromium(process, profile, log);
        try {
            chromium.connect(chromium.pageTarget(chromium.debuggingPort()));
            return chromium;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            chromium.close();
            throw e;
        }
    }

    private static Optional<String> executable() {
        return Stream.of(System.getenv("PATH").split(File.pathSeparator)).flatMap(dir -> Stream.of("chromium", "chromium-browser")
                .map(name -> Path.of(dir, name))).filter(Files::isExecutable).map(Path::toString).findFirst();
    }

    /** The port Chromium chose, from the file it writes into its profile once it listens. */
    private int debuggingPort() throws IOException, InterruptedException {
        Path portFile = profile.resolve("DevToolsActivePort");
        long deadline = System.nanoTime() + STARTUP.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(portFile)) {
                List<String> lines = Files.readAllLines(portFile);
                if (!lines.isEmpty() && !lines.get(0).isBlank()) {
                    return Integer.parseInt(lines.get(0).trim());
                }
            }
            if (!process.isAlive()) {
                throw new AssertionError("chromium exited with status " + process.exitValue() + " before listening; its output:\n" + output());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("chromium did not write " + portFile + " within " + STARTUP.toSeconds() + " s; its output:\n" + output());
    }

    /** The WebSocket address of the browser's page (about:blank), from the DevTools HTTP endpoint. */
    private URI pageTarget(int port) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest list = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).timeout(REPLY).build();
        long deadline = System.nanoTime() + STARTUP.toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode target : JSON.readTree(http.send(list, HttpResponse.BodyHandlers.ofString()).body())) {
                if ("page".equals(target.path("type").asText()) && target.hasNonNull("webSocketDebuggerUrl")) {
                    return URI.create(target.get("webSocketDebuggerUrl").asText());
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("chromium showed no page target within " + STARTUP.toSeconds() + " s");
    }

    private void connect(URI target) throws InterruptedException {
        socket = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(target, new Listener()).join();
        for (String domain : List.of("Page", "Runtime", "Log", "Network")) {
            send(domain + ".enable", JSON.createObjectNode());
        }
        send("Emulation.setDeviceMetricsOverride", JSON.createObjectNode().put("width", WIDTH).put("height", HEIGHT).put("deviceScaleFactor", 1)
                .put("mobile", false));
        // Headless windows never get focus; without it typing reaches no input.
        send("Emulation.setFocusEmulationEnabled", JSON.createObjectNode().put("enabled", true));
    }

    /** Opens {@code page} and waits for its load event; what was recorded for the page before is forgotten. */
    void open(Path page) throws InterruptedException {
        synchronized (this) {
            consoleErrors.clear();
            exceptions.clear();
            requests.clear();
        }
        loaded = new CompletableFuture<>();
        JsonNode navigation = send("Page.navigate", JSON.createObjectNode().put("url", url(page)));
        if (navigation.hasNonNull("errorText")) {
            throw new AssertionError("chromium could not open " + page + ": " + navigation.get("errorText").asText());
        }
        await(loaded, "the load event of " + page);
    }

    /** The address Chromium shows for a file, as the page's own request names it. */
    static String url(Path page) {
        return page.toAbsolutePath().toUri().toString();
    }

    /** The value of a JavaScript expression in the page (promises awaited), as JSON. */
    JsonNode evaluate(String expression) throws InterruptedException {
        JsonNode result = send("Runtime.evaluate", JSON.createObjectNode().put("expression", expression).put("returnByValue", true)
                .put("awaitPromise", true));
        if (result.has("exceptionDetails")) {
            JsonNode details = result.get("exceptionDetails");
            throw new AssertionError("evaluating " + expression + " threw: " + details.path("exception").path("description").asText(details.path("text").asText()));
        }
        return result.path("result").path("value");
    }

    /** Types {@code text} into the element {@code selector} finds, replacing its value, as keyboard input does (one input event). */
    void type(String selector, String text) throws InterruptedException {
        String element = "document.querySelector(" + quote(selector) + ")";
        if (!evaluate("(() => { const e = " + element + "; if (!e) return false; e.focus(); e.select(); return true; })()").asBoolean()) {
            throw new AssertionError("no element matches " + selector);
        }
        if (text.isEmpty()) {
            evaluate("(() => { const e = " + element + "; e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); })()");
        } else {
            send("Input.insertText", JSON.createObjectNode().put("text", text));
        }
        String value = evaluate(element + ".value").asText();
        if (!value.equals(text)) {
            throw new AssertionError("typed " + quote(text) + " into " + selector + " but it holds " + quote(value));
        }
    }

    /** A screenshot of the whole page (up to {@value #MAX_SCREENSHOT_HEIGHT} pixels tall) as {@code SCREENSHOTS/name.png}. */
    Path screenshot(String name) throws IOException, InterruptedException {
        JsonNode size = send("Page.getLayoutMetrics", JSON.createObjectNode()).path("cssContentSize");
        ObjectNode clip = JSON.createObjectNode().put("x", 0).put("y", 0).put("scale", 1)
                .put("width", Math.ceil(size.path("width").asDouble(WIDTH)))
                .put("height", Math.min(MAX_SCREENSHOT_HEIGHT, Math.ceil(size.path("height").asDouble(HEIGHT))));
        ObjectNode parameters = JSON.createObjectNode().put("format", "png").put("captureBeyondViewport", true);
        parameters.set("clip", clip);
        byte[] png = Base64.getDecoder().decode(send("Page.captureScreenshot", parameters).path("data").asText());
        Files.createDirectories(SCREENSHOTS);
        return Files.write(SCREENSHOTS.resolve(name + ".png"), png);
    }

    /** Console messages of level error (console.error, failed loads, policy violations) since the page opened. */
    synchronized List<String> consoleErrors() {
        return List.copyOf(consoleErrors);
    }

    /** Exceptions no script caught, since the page opened. */
    synchronized List<String> exceptions() {
        return List.copyOf(exceptions);
    }

    /** The URL of every request the page made since it opened, its own document's included. */
    synchronized List<String> requests() {
        return List.copyOf(requests);
    }

    private JsonNode send(String method, ObjectNode parameters) throws InterruptedException {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        replies.put(id, reply);
        ObjectNode command = JSON.createObjectNode().put("id", id).put("method", method);
        command.set("params", parameters);
        socket.sendText(command.toString(), true).join();
        JsonNode answer = await(reply, "chromium's reply to " + method);
        if (answer.has("error")) {
            throw new AssertionError(method + " failed: " + answer.get("error").path("message").asText(answer.get("error").toString()));
        }
        return answer.path("result");
    }

    private <T> T await(CompletableFuture<T> future, String what) throws InterruptedException {
        try {
            return future.get(REPLY.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("no " + what + " within " + REPLY.toSeconds() + " s");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new AssertionError("waiting for " + what + ": " + e.getCause().getMessage(), e.getCause());
        }
    }

    private void receive(String message) {
        JsonNode node;
        try {
            node = JSON.readTree(message);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (node.has("id")) {
            CompletableFuture<JsonNode> reply = replies.remove(node.get("id").asInt());
            if (reply != null) {
                reply.complete(node);
            }
            return;
        }
        JsonNode params = node.path("params");
        synchronized (this) {
            switch (node.path("method").asText()) {
                case "Page.loadEventFired" -> loaded.complete(null);
                case "Network.requestWillBeSent" -> requests.add(params.path("request").path("url").asText());
                case "Runtime.exceptionThrown" -> {
                    JsonNode details = params.path("exceptionDetails");
                    exceptions.add(details.path("exception").path("description").asText(details.path("text").asText()));
                }
                case "Runtime.consoleAPICalled" -> {
                    if (List.of("error", "assert").contains(params.path("type").asText())) {
                        List<String> arguments = new ArrayList<>();
                        params.path("args").forEach(a -> arguments.add(a.has("value") ? a.get("value").asText() : a.path("description").asText()));
                        consoleErrors.add("console." + params.path("type").asText() + ": " + String.join(" ", arguments));
                    }
                }
                case "Log.entryAdded" -> {
                    JsonNode entry = params.path("entry");
                    if ("error".equals(entry.path("level").asText())) {
                        consoleErrors.add(entry.path("source").asText() + ": " + entry.path("text").asText() + " " + entry.path("url").asText(""));
                    }
                }
                default -> {
                }
            }
        }
    }

    /** Collects a message's frames and hands whole messages on (screenshots span many frames). */
    private final class Listener implements WebSocket.Listener {
        private final StringBuilder message = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            message.append(data);
            if (last) {
                receive(message.toString());
                message.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            replies.values().forEach(r -> r.completeExceptionally(error));
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            replies.values().forEach(r -> r.completeExceptionally(new IOException("chromium closed the connection: " + statusCode + " " + reason)));
            return null;
        }
    }

    private static String quote(String text) {
        try {
            return JSON.writeValueAsString(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String output() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** Ends the browser and its helper processes, then deletes the profile and the log. */
    @Override
    public void close() {
        if (socket != null) {
            socket.abort();
        }
        List<ProcessHandle> helpers = process.descendants().toList();
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            for (ProcessHandle helper : helpers) {
                helper.destroyForcibly();
                helper.onExit().get(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            // a helper that outlives this wait is gone soon after; deleting the profile below copes with its leftovers
        }
        delete(profile);
        delete(log);
    }

    private static void delete(Path path) {
        try (Stream<Path> paths = Files.walk(path)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // already gone
        }
    }
}
