package dev.saeforge.operator;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** Checks every manifest we ship or create must pass: typed, no unknown fields, locked-down pods, no secret values. */
final class ManifestChecks {
    /** Environment variables whose values are credentials: they may only come from Secret references. */
    static final Pattern CREDENTIAL = Pattern.compile(".*(SECRET|PASSWORD|TOKEN|ACCESS_KEY|CREDENTIAL).*");

    private ManifestChecks() {
    }

    /**
     * Paths of fields fabric8 did not recognise: each typed model object keeps unknown keys in
     * additionalProperties, so a misspelled field (imagee, securityContex) shows up here.
     */
    static List<String> unknownFields(Object root) {
        List<String> found = new ArrayList<>();
        walk(root, root instanceof HasMetadata object ? object.getKind() + "/" + object.getMetadata().getName() : "", found,
                java.util.Collections.newSetFromMap(new IdentityHashMap<>()));
        return found;
    }

    private static void walk(Object value, String path, List<String> found, Set<Object> seen) {
        if (value == null || !seen.add(value)) {
            return;
        }
        if (value instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                walk(item, path + "[" + i++ + "]", found, seen);
            }
            return;
        }
        if (value instanceof Map<?, ?> map) {
            map.forEach((key, item) -> walk(item, path + "." + key, found, seen));
            return;
        }
        if (!(value instanceof KubernetesResource)) {
            return; // strings, numbers, Quantity, IntOrString...
        }
        for (Method getter : value.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers()) || getter.getDeclaringClass() == Object.class) {
                continue;
            }
            String name = getter.getName();
            if (!name.startsWith("get") || name.equals("getClass")) {
                continue;
            }
            Object child;
            try {
                child = getter.invoke(value);
            } catch (ReflectiveOperationException | RuntimeException e) {
                continue;
            }
            if (name.equals("getAdditionalProperties")) {
                if (child instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    extra.keySet().forEach(key -> found.add(path + "." + key));
                }
            } else {
                walk(child, path + "." + Character.toLowerCase(name.charAt(3)) + name.substring(4), found, seen);
            }
        }
    }

    /** The pod template of a workload we ship, or null for objects without pods. */
    static PodTemplateSpec podTemplate(HasMetadata object) {
        if (object instanceof Deployment deployment) {
            return deployment.getSpec().getTemplate();
        }
        if (object instanceof Job job) {
            return job.getSpec().getTemplate();
        }
        return null;
    }

    /** What makes a pod less locked down than required: root, privilege escalation, a writable root filesystem. */
    static List<String> insecure(String owner, PodSpec pod) {
        List<String> problems = new ArrayList<>();
        PodSecurityContext podContext = pod.getSecurityContext();
        boolean podNonRoot = podContext != null && Boolean.TRUE.equals(podContext.getRunAsNonRoot());
        List<Container> containers = new ArrayList<>(pod.getContainers());
        if (pod.getInitContainers() != null) {
            containers.addAll(pod.getInitContainers());
        }
        for (Container container : containers) {
            String where = owner + " container " + container.getName();
            SecurityContext context = container.getSecurityContext();
            if (context == null) {
                problems.add(where + ": no securityContext");
                continue;
            }
            if (!podNonRoot && !Boolean.TRUE.equals(context.getRunAsNonRoot())) {
                problems.add(where + ": may run as root (runAsNonRoot is not true)");
            }
            if (context.getRunAsUser() != null && context.getRunAsUser() == 0
                    || podContext != null && podContext.getRunAsUser() != null && podContext.getRunAsUser() == 0) {
                problems.add(where + ": runs as user 0");
            }
            if (!Boolean.FALSE.equals(context.getAllowPrivilegeEscalation())) {
                problems.add(where + ": allowPrivilegeEscalation is not false");
            }
            if (!Boolean.TRUE.equals(context.getReadOnlyRootFilesystem())) {
                problems.add(where + ": readOnlyRootFilesystem is not true");
            }
            if (Boolean.TRUE.equals(context.getPrivileged())) {
                problems.add(where + ": privileged");
            }
        }
        return problems;
    }

    /** Credentials written as plain values instead of Secret references. */
    static List<String> secretValues(String owner, PodSpec pod) {
        List<String> problems = new ArrayList<>();
        for (Container container : pod.getContainers()) {
            for (EnvVar env : container.getEnv() == null ? List.<EnvVar>of() : container.getEnv()) {
                if (CREDENTIAL.matcher(env.getName()).matches()
                        && (env.getValue() != null || env.getValueFrom() == null || env.getValueFrom().getSecretKeyRef() == null)) {
                    problems.add(owner + " container " + container.getName() + ": " + env.getName() + " is not a Secret reference");
                }
            }
        }
        return problems;
    }
}
