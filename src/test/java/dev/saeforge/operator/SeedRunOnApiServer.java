package dev.saeforge.operator;

import dev.saeforge.api.TrainingRun;
import io.fabric8.kubernetes.client.KubernetesClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import static dev.saeforge.operator.Fixtures.NAMESPACE;
import static dev.saeforge.operator.Fixtures.SEED;

/** Tests that write a run's status: an API server for each test, with the seed run submitted to it. */
abstract class SeedRunOnApiServer {
    ApiServer api;
    KubernetesClient client;

    @BeforeEach
    void submit() throws Exception {
        api = ApiServer.start();
        client = api.client;
        client.resources(TrainingRun.class).inNamespace(NAMESPACE).resource(Fixtures.seedRun()).create();
    }

    @AfterEach
    void stop() {
        api.close();
    }

    /** The seed run as stored now. */
    TrainingRun read() {
        return client.resources(TrainingRun.class).inNamespace(NAMESPACE).withName(SEED).get();
    }
}
