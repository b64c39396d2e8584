package dev.saeforge.operator;

import dev.saeforge.api.TrainingRun;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.FilterWatchListDeletable;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * Informers on TrainingRuns and on the Jobs and pods the operator made, a work queue of run keys,
 * and workers that reconcile them. Runs only while its replica holds the leader lease.
 */
public final class Controller implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Controller.class);
    private static final String ATTEMPT_INDEX = "attempt";

    /** How hard the controller works: worker threads, periodic resync, and the retry back-off. */
    public record Settings(int workers, Duration resync, Duration retryBase, Duration retryMax, Duration syncTimeout) {
        public static Settings defaults() {
            return new Settings(2, Duration.ofMinutes(5), Duration.ofSeconds(1), Duration.ofMinutes(5), Duration.ofMinutes(2));
        }
    }

    private final KubernetesClient client;
    private final OperatorConfig config;
    private final Settings settings;
    private final WorkQueue queue;
    private final Reconciler reconciler;
    private final List<SharedIndexInformer<TrainingRun>> runInformers = new ArrayList<>();
    private final List<SharedIndexInformer<Job>> jobInformers = new ArrayList<>();
    private final List<SharedIndexInformer<Pod>> podInformers = new ArrayList<>();
    private final List<Thread> workers = new ArrayList<>();
    private volatile boolean closed;

    /** @param leading whether this replica holds the leader lease now: the reconciler writes nothing while it does not */
    public Controller(KubernetesClient client, OperatorConfig config, Settings settings, RunEvents events, Clock clock, BooleanSupplier leading) {
        this.client = client;
        this.config = config;
        this.settings = settings;
        this.queue = new WorkQueue(settings.retryBase(), settings.retryMax());
        this.reconciler = new Reconciler(client, config, new InformerCache(), events, clock, () -> !closed && leading.getAsBoolean());
    }

    /** Starts the informers, waits until their caches hold every object, then starts the workers. */
    public void start() throws Exception {
        long resync = settings.resync().toMillis();
        // null: every namespace, through one informer per kind.
        List<String> scopes = config.namespaces.isEmpty() ? java.util.Collections.singletonList(null) : config.namespaces;
        for (String namespace : scopes) {
            SharedIndexInformer<TrainingRun> runs = scope(client.resources(TrainingRun.class), namespace).runnableInformer(resync);
            runs.addEventHandler(new RunHandler());
            runInformers.add(runs);
            SharedIndexInformer<Job> jobs = scope(client.batch().v1().jobs(), namespace)
                    .withLabel(TrainingJobs.MANAGED_BY_LABEL, TrainingJobs.MANAGED_BY).runnableInformer(0);
            jobs.addEventHandler(new OwnedHandler<>());
            jobInformers.add(jobs);
            SharedIndexInformer<Pod> pods = scope(client.pods(), namespace)
                    .withLabel(TrainingJobs.MANAGED_BY_LABEL, TrainingJobs.MANAGED_BY).runnableInformer(0);
            pods.addIndexers(Map.of(ATTEMPT_INDEX, pod -> List.of(attemptKey(pod.getMetadata().getNamespace(),
                    label(pod, TrainingJobs.RUN_LABEL), label(pod, TrainingJobs.ATTEMPT_LABEL)))));
            pods.addEventHandler(new OwnedHandler<>());
            podInformers.add(pods);
        }
        List<CompletableFuture<Void>> synced = new ArrayList<>();
        for (SharedIndexInformer<?> informer : informers()) {
            synced.add(informer.start().toCompletableFuture());
        }
        CompletableFuture.allOf(synced.toArray(CompletableFuture[]::new)).get(settings.syncTimeout().toMillis(), TimeUnit.MILLISECONDS);
        for (int i = 0; i < settings.workers(); i++) {
            Thread worker = new Thread(this::work, "saeforge-reconcile-" + i);
            worker.setDaemon(true);
            worker.start();
            workers.add(worker);
        }
        LOG.infof("watching TrainingRuns in %s with %d workers",
                config.namespaces.isEmpty() ? "every namespace" : String.join(", ", config.namespaces), settings.workers());
    }

    /** Informers watching and every worker alive. */
    public boolean isRunning() {
        return !closed && !workers.isEmpty() && workers.stream().allMatch(Thread::isAlive)
                && informers().stream().allMatch(SharedIndexInformer::isRunning);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        queue.shutDown();
        informers().forEach(SharedIndexInformer::close);
        workers.forEach(Thread::interrupt);
    }

    private void work() {
        while (!closed) {
            String key;
            try {
                key = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (key == null) {
                return;
            }
            int slash = key.indexOf('/');
            try {
                reconciler.reconcile(key.substring(0, slash), key.substring(slash + 1));
                queue.forget(key);
            } catch (Reconciler.RetryLater e) {
                LOG.debugf("TrainingRun %s: %s", key, e.getMessage());
                queue.retry(key);
            } catch (RuntimeException e) {
                if (closed) {
                    return; // interrupted by close(): the next leader reconciles it
                }
                LOG.warnf(e, "reconciling TrainingRun %s failed (attempt %d); retrying with back-off", key, queue.failures(key) + 1);
                queue.retry(key);
            } finally {
                queue.done(key);
            }
        }
    }

    private List<SharedIndexInformer<?>> informers() {
        List<SharedIndexInformer<?>> all = new ArrayList<>(runInformers);
        all.addAll(jobInformers);
        all.addAll(podInformers);
        return all;
    }

    private static <T extends HasMetadata, L extends KubernetesResourceList<T>, R extends Resource<T>> FilterWatchListDeletable<T, L, R> scope(
            MixedOperation<T, L, R> operation, String namespace) {
        return namespace == null ? operation.inAnyNamespace() : operation.inNamespace(namespace);
    }

    private static String attemptKey(String namespace, String run, String attempt) {
        return namespace + "/" + run + "/" + attempt;
    }

    private static String label(HasMetadata object, String key) {
        Map<String, String> labels = object.getMetadata().getLabels();
        return labels == null ? null : labels.get(key);
    }

    /** Queues a run when it appears, when its spec or annotations change, and at every resync. */
    private final class RunHandler implements ResourceEventHandler<TrainingRun> {
        @Override
        public void onAdd(TrainingRun run) {
            queue.add(key(run));
        }

        @Override
        public void onUpdate(TrainingRun before, TrainingRun after) {
            boolean resync = Objects.equals(before.getMetadata().getResourceVersion(), after.getMetadata().getResourceVersion());
            // Progress reports from the trainer change only the status: nothing to decide on.
            boolean decisive = !Objects.equals(before.getMetadata().getGeneration(), after.getMetadata().getGeneration())
                    || !Objects.equals(before.getMetadata().getAnnotations(), after.getMetadata().getAnnotations())
                    || !Objects.equals(before.getMetadata().getDeletionTimestamp(), after.getMetadata().getDeletionTimestamp());
            if (resync || decisive) {
                queue.add(key(after));
            }
        }

        @Override
        public void onDelete(TrainingRun run, boolean finalStateUnknown) {
            // Nothing to do: owner references take its Jobs away.
        }

        private String key(TrainingRun run) {
            return run.getMetadata().getNamespace() + "/" + run.getMetadata().getName();
        }
    }

    /** Queues the run a Job or pod belongs to, whenever that Job or pod changes. */
    private final class OwnedHandler<T extends HasMetadata> implements ResourceEventHandler<T> {
        @Override
        public void onAdd(T object) {
            enqueue(object);
        }

        @Override
        public void onUpdate(T before, T after) {
            enqueue(after);
        }

        @Override
        public void onDelete(T object, boolean finalStateUnknown) {
            enqueue(object);
        }

        private void enqueue(T object) {
            String run = label(object, TrainingJobs.RUN_LABEL);
            if (run != null) {
                queue.add(object.getMetadata().getNamespace() + "/" + run);
            }
        }
    }

    /** Lookups in the informers' stores. */
    private final class InformerCache implements Reconciler.Cache {
        @Override
        public Job job(String namespace, String name) {
            return first(jobInformers, informer -> informer.getStore().getByKey(namespace + "/" + name));
        }

        @Override
        public List<Pod> pods(String namespace, String run, int attempt) {
            List<Pod> pods = new ArrayList<>();
            for (SharedIndexInformer<Pod> informer : podInformers) {
                pods.addAll(informer.getIndexer().byIndex(ATTEMPT_INDEX, attemptKey(namespace, run, Integer.toString(attempt))));
            }
            return pods;
        }

        private <T> T first(List<SharedIndexInformer<T>> informers, Function<SharedIndexInformer<T>, T> lookup) {
            for (SharedIndexInformer<T> informer : informers) {
                T found = lookup.apply(informer);
                if (found != null) {
                    return found;
                }
            }
            return null;
        }
    }
}
