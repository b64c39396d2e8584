package dev.saeforge.telemetry;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An OTLP/HTTP endpoint for tests: what a collector receives on /v1/traces and /v1/metrics,
 * decoded from protobuf. No collector ships in Debian or npm, and the protocol is small.
 */
final class OtlpReceiver implements AutoCloseable {
    private final HttpServer server;
    final List<ExportTraceServiceRequest> traces = new CopyOnWriteArrayList<>();
    final List<ExportMetricsServiceRequest> metrics = new CopyOnWriteArrayList<>();

    OtlpReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/traces", exchange -> {
            try (InputStream body = exchange.getRequestBody()) {
                traces.add(ExportTraceServiceRequest.parseFrom(body));
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.createContext("/v1/metrics", exchange -> {
            try (InputStream body = exchange.getRequestBody()) {
                metrics.add(ExportMetricsServiceRequest.parseFrom(body));
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    List<io.opentelemetry.proto.trace.v1.Span> spans() {
        return traces.stream().flatMap(r -> r.getResourceSpansList().stream())
                .flatMap(r -> r.getScopeSpansList().stream()).flatMap(s -> s.getSpansList().stream()).toList();
    }

    List<String> metricNames() {
        return metrics.stream().flatMap(r -> r.getResourceMetricsList().stream())
                .flatMap(r -> r.getScopeMetricsList().stream()).flatMap(s -> s.getMetricsList().stream())
                .map(io.opentelemetry.proto.metrics.v1.Metric::getName).distinct().toList();
    }

    List<io.opentelemetry.proto.common.v1.KeyValue> resourceAttributes() {
        return traces.stream().flatMap(r -> r.getResourceSpansList().stream())
                .flatMap(r -> r.getResource().getAttributesList().stream()).toList();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
