package dev.saeforge.operator;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * /healthz (liveness) and /readyz (readiness) for the operator's probes, served by the Vert.x
 * instance Quarkus already runs: no HTTP extension, no port opened by the CLI commands.
 */
public final class HealthServer implements AutoCloseable {
    private final HttpServer server;

    private HealthServer(HttpServer server) {
        this.server = server;
    }

    public static HealthServer start(Vertx vertx, int port, BooleanSupplier live, BooleanSupplier ready) throws Exception {
        HttpServer server = vertx.createHttpServer().requestHandler(request -> {
            BooleanSupplier check = switch (request.path()) {
                case "/healthz" -> live;
                case "/readyz" -> ready;
                default -> null;
            };
            if (check == null) {
                request.response().setStatusCode(404).end("not found\n");
            } else if (check.getAsBoolean()) {
                request.response().setStatusCode(200).end("ok\n");
            } else {
                request.response().setStatusCode(503).end("not " + (check == live ? "healthy" : "ready") + "\n");
            }
        });
        server.listen(port).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        return new HealthServer(server);
    }

    public int port() {
        return server.actualPort();
    }

    @Override
    public void close() throws Exception {
        server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
