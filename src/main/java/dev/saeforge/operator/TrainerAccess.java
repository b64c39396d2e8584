package dev.saeforge.operator;

import dev.saeforge.api.TrainingRun;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import org.jboss.logging.Logger;

import java.net.HttpURLConnection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The identity of one run's training pods: a ServiceAccount, a Role that may read that one
 * TrainingRun and patch that one run's status (by resourceNames), and the RoleBinding between
 * them. The operator creates them before the run's first Job, each owned by the run, so deleting
 * the run deletes them. A trainer's token thus reaches its own run only, never its neighbours'.
 *
 * <p>Kubernetes lets the operator grant only what it holds itself (RBAC escalation prevention):
 * its own Role has get on trainingruns and patch on trainingruns/status for that reason.
 */
public final class TrainerAccess {
    private static final Logger LOG = Logger.getLogger(TrainerAccess.class);

    private TrainerAccess() {
    }

    /** The name of the run's ServiceAccount, Role and RoleBinding. */
    public static String name(TrainingRun run) {
        return run.getMetadata().getName() + "-trainer";
    }

    public static ServiceAccount serviceAccount(TrainingRun run) {
        return new ServiceAccountBuilder().withMetadata(metadata(run)).build();
    }

    /** What {@code saeforge train --run NAMESPACE/NAME} does with its token: read the run, report progress into its status. */
    public static Role role(TrainingRun run) {
        String runName = run.getMetadata().getName();
        return new RoleBuilder()
                .withMetadata(metadata(run))
                .withRules(
                        new PolicyRuleBuilder().withApiGroups(TrainingRun.GROUP).withResources("trainingruns")
                                .withResourceNames(runName).withVerbs("get").build(),
                        new PolicyRuleBuilder().withApiGroups(TrainingRun.GROUP).withResources("trainingruns/status")
                                .withResourceNames(runName).withVerbs("patch").build())
                .build();
    }

    public static RoleBinding roleBinding(TrainingRun run) {
        return new RoleBindingBuilder()
                .withMetadata(metadata(run))
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName(name(run)).endRoleRef()
                .addNewSubject().withKind("ServiceAccount").withName(name(run)).withNamespace(run.getMetadata().getNamespace()).endSubject()
                .build();
    }

    /**
     * Creates whichever of the three is missing. True when all three exist and belong to the run;
     * false (the reason logged) when one cannot be created, or one of that name belongs to
     * something else, e.g. to an earlier run of the same name that is still being deleted.
     */
    static boolean ensure(KubernetesClient client, TrainingRun run) {
        String namespace = run.getMetadata().getNamespace();
        try {
            return ensure(client.serviceAccounts(), run, serviceAccount(run))
                    && ensure(client.rbac().roles(), run, role(run))
                    && ensure(client.rbac().roleBindings(), run, roleBinding(run));
        } catch (KubernetesClientException e) {
            LOG.warnf("could not create the trainer's service account, Role or RoleBinding %s/%s: %s", namespace, name(run),
                    Reconciler.explain(e));
            return false;
        }
    }

    private static <T extends HasMetadata> boolean ensure(MixedOperation<T, ?, ? extends Resource<T>> kind, TrainingRun run, T desired) {
        String namespace = run.getMetadata().getNamespace();
        T existing = kind.inNamespace(namespace).withName(desired.getMetadata().getName()).get();
        if (existing == null) {
            try {
                return kind.inNamespace(namespace).resource(desired).create() != null;
            } catch (KubernetesClientException e) {
                if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                    throw e;
                }
                existing = kind.inNamespace(namespace).withName(desired.getMetadata().getName()).get();
            }
        }
        if (Reconciler.ownedBy(run, existing) == null) {
            LOG.warnf("%s %s/%s exists and belongs to something other than TrainingRun %s; waiting for it to be deleted",
                    desired.getKind(), namespace, desired.getMetadata().getName(), TrainingJobs.runReference(run));
            return false;
        }
        return true;
    }

    private static ObjectMeta metadata(TrainingRun run) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("app.kubernetes.io/name", "saeforge");
        labels.put("app.kubernetes.io/component", "trainer");
        labels.put("app.kubernetes.io/instance", run.getMetadata().getName());
        labels.put(TrainingJobs.MANAGED_BY_LABEL, TrainingJobs.MANAGED_BY);
        labels.put(TrainingJobs.RUN_LABEL, run.getMetadata().getName());
        return new ObjectMetaBuilder()
                .withName(name(run))
                .withNamespace(run.getMetadata().getNamespace())
                .withLabels(labels)
                .withOwnerReferences(List.of(TrainingJobs.ownerReference(run)))
                .build();
    }
}
