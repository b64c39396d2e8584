package dev.saeforge.operator;

import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

class HealthServerTest {
    final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() {
        vertx.close();
    }

    int get(int port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Test
    void probesAnswerWhatTheOperatorSaysAboutItself() throws Exception {
        AtomicBoolean live = new AtomicBoolean(true);
        AtomicBoolean ready = new AtomicBoolean(false);
        try (HealthServer server = HealthServer.start(vertx, 0, live::get, ready::get)) {
            assertThat(get(server.port(), "/healthz")).isEqualTo(200);
            assertThat(get(server.port(), "/readyz")).isEqualTo(503);

            ready.set(true);
            live.set(false);
            assertThat(get(server.port(), "/readyz")).isEqualTo(200);
            assertThat(get(server.port(), "/healthz")).isEqualTo(503);
            assertThat(get(server.port(), "/metrics")).isEqualTo(404);
        }
    }
}
