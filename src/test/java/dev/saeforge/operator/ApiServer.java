package dev.saeforge.operator;

import dev.saeforge.api.Crds;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;

/**
 * A Kubernetes API server for one test: fabric8's mock server in CRUD mode (objects are stored,
 * listed, patched and watched), with the TrainingRun CRD from k8s/crds/ installed, so the status
 * subresource behaves as on a cluster. Nothing else runs in it: the test plays the Job controller.
 */
public final class ApiServer implements AutoCloseable {
    private final KubernetesMockServer server;
    private final List<KubernetesClient> clients = new ArrayList<>();
    public final KubernetesClient client;

    private ApiServer(KubernetesMockServer server) throws Exception {
        this.server = server;
        this.client = newClient();
        client.apiextensions().v1().customResourceDefinitions().load(Files.newInputStream(Crds.COMMITTED)).create();
    }

    public static ApiServer start() throws Exception {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), responses,
                new KubernetesMixedDispatcher(responses), false);
        server.init();
        return new ApiServer(server);
    }

    /** A kubeconfig for other processes (saeforge itself), with {@code namespace} as the context's namespace. */
    public Path writeKubeconfig(Path file, String namespace) throws java.io.IOException {
        String url = server.url("/").replaceAll("/$", "");
        Files.writeString(file, """
                apiVersion: v1
                kind: Config
                clusters: [{name: mock, cluster: {server: "%s"}}]
                contexts: [{name: mock, context: {cluster: mock, namespace: %s, user: tester}}]
                current-context: mock
                users: [{name: tester, user: {token: not-checked}}]
                """.formatted(url, namespace));
        return file;
    }

    /** A client of its own, as a separate operator replica would have. */
    KubernetesClient newClient() {
        KubernetesClient created = server.createClient();
        clients.add(created);
        return created;
    }

    void createServiceAccount(String namespace, String name) {
        client.serviceAccounts().inNamespace(namespace)
                .resource(new ServiceAccountBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
    }

    /** The next PATCH of {@code path} is answered with {@code code}, as an overloaded or restarting API server would. */
    void failNextPatch(String path, int code) {
        server.expect().patch().withPath(path).andReturn(code, "{\"kind\":\"Status\",\"code\":" + code + "}").once();
    }

    @Override
    public void close() {
        clients.forEach(KubernetesClient::close);
        server.destroy();
    }
}
