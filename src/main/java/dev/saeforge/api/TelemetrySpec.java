package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Pattern;

/** OpenTelemetry export; without an endpoint the trainer exports nothing. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"otlpEndpoint", "otlpProtocol"})
public class TelemetrySpec {
    @JsonPropertyDescription("OTLP collector URL, e.g. http://otel-collector.observability:4317.")
    @Pattern("^https?://[^\\s/]+(/\\S*)?$")
    @Expect(what = "an OTLP endpoint", form = "http(s)://HOST:PORT")
    public String otlpEndpoint;

    @JsonPropertyDescription("OTLP transport: grpc (port 4317) or http/protobuf (port 4318).")
    public OtlpProtocol otlpProtocol = OtlpProtocol.GRPC;

    public enum OtlpProtocol {
        @JsonProperty("grpc") GRPC,
        @JsonProperty("http/protobuf") HTTP_PROTOBUF
    }
}
