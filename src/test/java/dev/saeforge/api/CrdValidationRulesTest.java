package dev.saeforge.api;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import dev.saeforge.operator.SpecLock;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRule;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CEL rules of the committed CRD, compiled and evaluated as an API server that evaluates
 * x-kubernetes-validations would (self: the object as written, oldSelf: as stored): a started
 * run's spec is fixed except what steers it.
 */
class CrdValidationRulesTest {
    static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addVar("self", SimpleType.DYN)
            .addVar("oldSelf", SimpleType.DYN)
            .build();
    static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder().build();

    /** A rule and where in the schema it sits (the fields from the root to its object). */
    record Located(List<String> path, ValidationRule rule) {
    }

    static List<Located> rules;

    @BeforeAll
    static void readTheCommittedCrd() throws Exception {
        CustomResourceDefinition crd = Serialization.unmarshal(Files.readString(Crds.COMMITTED), CustomResourceDefinition.class);
        rules = new ArrayList<>();
        collect(List.of(), crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema());
    }

    private static void collect(List<String> path, JSONSchemaProps schema) {
        if (schema.getXKubernetesValidations() != null) {
            schema.getXKubernetesValidations().forEach(rule -> rules.add(new Located(path, rule)));
        }
        if (schema.getProperties() != null) {
            schema.getProperties().forEach((name, child) -> {
                List<String> deeper = new ArrayList<>(path);
                deeper.add(name);
                collect(deeper, child);
            });
        }
    }

    /** The messages of the rules an update from {@code old} to {@code updated} breaks. */
    static List<String> refusals(Map<String, Object> old, Map<String, Object> updated) throws Exception {
        List<String> messages = new ArrayList<>();
        for (Located located : rules) {
            Object self = at(updated, located.path());
            Object oldSelf = at(old, located.path());
            if (self == null || oldSelf == null) {
                continue; // transition rules run only where both sides exist
            }
            CelAbstractSyntaxTree ast = COMPILER.compile(located.rule().getRule()).getAst();
            Object result = RUNTIME.createProgram(ast).eval(Map.of("self", self, "oldSelf", oldSelf));
            if (!Boolean.TRUE.equals(result)) {
                messages.add(located.rule().getMessage());
            }
        }
        return messages;
    }

    @SuppressWarnings("unchecked")
    private static Object at(Map<String, Object> object, List<String> path) {
        Object here = object;
        for (String name : path) {
            if (!(here instanceof Map<?, ?> map)) {
                return null;
            }
            here = ((Map<String, Object>) map).get(name);
        }
        return here;
    }

    /** The seed run as the API server stores it, as CEL sees it (integers as long). */
    static Map<String, Object> stored(Consumer<TrainingRun> change) throws Exception {
        TrainingRun run = TrainingRuns.read(Path.of("examples/qwen3-8b-layer28.yaml")).get(0);
        change.accept(run);
        return celValues(Mappers.json().convertValue(run, Map.class));
    }

    @SuppressWarnings("unchecked")
    private static <T> T celValues(Object value) {
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> converted = new LinkedHashMap<>();
            map.forEach((k, v) -> converted.put((String) k, celValues(v)));
            return (T) converted;
        }
        if (value instanceof List<?> list) {
            return (T) list.stream().map(CrdValidationRulesTest::celValues).toList();
        }
        if (value instanceof Integer || value instanceof Short) {
            return (T) Long.valueOf(((Number) value).longValue());
        }
        if (value instanceof Float) {
            return (T) Double.valueOf(((Number) value).doubleValue());
        }
        return (T) value;
    }

    static void started(TrainingRun run) {
        run.setStatus(new TrainingRunStatus());
        run.getStatus().attempts = 1;
        run.getStatus().specHash = SpecLock.hash(run.getSpec());
    }

    @Test
    void everyRuleCompiles() throws Exception {
        assertThat(rules).isNotEmpty();
        for (Located located : rules) {
            assertThat(COMPILER.compile(located.rule().getRule()).getAst().isChecked()).as(located.rule().getRule()).isTrue();
        }
    }

    @Test
    void aStartedRunsHookSaeAndDatasetCannotChange() throws Exception {
        Map<String, Object> old = stored(CrdValidationRulesTest::started);

        assertThat(refusals(old, stored(run -> {
            started(run);
            run.getSpec().hook = "blocks.20.hook_resid_post";
        }))).singleElement().asString().startsWith("spec.hook cannot change once the run has started");
        assertThat(refusals(old, stored(run -> {
            started(run);
            run.getSpec().sae.dSae = 2 * run.getSpec().sae.dSae;
        }))).singleElement().asString().startsWith("spec.sae cannot change");
        assertThat(refusals(old, stored(run -> {
            started(run);
            run.getSpec().dataset.uri = "hf://datasets/other/corpus";
        }))).singleElement().asString().startsWith("spec.dataset cannot change")
                .contains("only suspend, cancel, maxRestarts, maxPreemptions and telemetry can");
        assertThat(refusals(old, stored(run -> {
            started(run);
            run.getSpec().synthetic = new SyntheticSpec();
        }))).as("adding a field is a change").singleElement().asString().startsWith("spec.synthetic cannot change");
    }

    @Test
    void aStartedRunCanBeSuspendedCancelledGivenRestartsAndTelemetry() throws Exception {
        Map<String, Object> old = stored(CrdValidationRulesTest::started);

        assertThat(refusals(old, stored(run -> {
            started(run);
            run.getSpec().suspend = true;
            run.getSpec().cancel = true;
            run.getSpec().maxRestarts = 10;
            run.getSpec().telemetry.otlpEndpoint = "http://other-collector:4317";
            run.getSpec().telemetry.otlpProtocol = TelemetrySpec.OtlpProtocol.HTTP_PROTOBUF;
        }))).isEmpty();
        assertThat(refusals(old, old)).as("a status write leaves the spec as it is").isEmpty();
    }

    @Test
    void aRunNotStartedYetCanBeEditedFreely() throws Exception {
        Map<String, Object> old = stored(run -> { });

        assertThat(refusals(old, stored(run -> run.getSpec().hook = "blocks.20.hook_resid_post"))).isEmpty();
    }
}
