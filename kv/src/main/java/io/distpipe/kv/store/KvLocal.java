package io.distpipe.kv.store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.distpipe.kv.KvReply;
import io.distpipe.topics.serde.AvroSerdes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole key-value store in this JVM (a coordinator and N workers on threads) against a given cluster: what
 * {@code kv shell} starts when no system runs, and what in-process tests use.
 */
public final class KvLocal implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KvLocal.class);

    private final String bootstrapServers;
    private final KvSerdes serdes;
    private final List<KvCoordinator> coordinators = new ArrayList<>();
    private final List<KvWorker> workers = new ArrayList<>();

    private KvLocal(String bootstrapServers, KvSerdes serdes) {
        this.bootstrapServers = bootstrapServers;
        this.serdes = serdes;
    }

    /** Starts a coordinator and {@code workers} workers (W1..Wn) and waits until all are in the pool. */
    public static KvLocal start(String bootstrapServers, AvroSerdes avro, int workers, boolean transactionalWorkers)
        throws InterruptedException {
        KvSerdes.prepare(bootstrapServers, avro, 3);
        KvLocal local = new KvLocal(bootstrapServers, new KvSerdes(avro));
        try {
            local.startCoordinator("C1");
            for (int i = 1; i <= workers; i++) {
                local.startWorker(new KvWorker.Config("W" + i, bootstrapServers,
                    KvWorker.Config.TRANSACTION_TIMEOUT_MS_DEFAULT, transactionalWorkers));
            }
            local.awaitPool(workers, Duration.ofSeconds(60));
        } catch (RuntimeException | InterruptedException e) {
            local.close();
            throw e;
        }
        return local;
    }

    public KvCoordinator startCoordinator(String id) {
        KvCoordinator coordinator = new KvCoordinator(KvCoordinator.Config.of(id, bootstrapServers), serdes);
        coordinator.start();
        Thread thread = new Thread(coordinator, "kv-" + id);
        thread.setDaemon(true);
        thread.start();
        coordinators.add(coordinator);
        return coordinator;
    }

    public KvWorker startWorker(KvWorker.Config config) {
        KvWorker worker = new KvWorker(config, serdes);
        worker.start();
        Thread thread = new Thread(worker, "kv-" + config.id());
        thread.setDaemon(true);
        thread.start();
        workers.add(worker);
        return worker;
    }

    /** Waits until a VERIFY answered by {@code size} workers says the pool has them all. */
    public void awaitPool(int size, Duration timeout) throws InterruptedException {
        awaitPool(bootstrapServers, serdes, size, timeout);
    }

    /** Asks until the pool of the store at {@code bootstrapServers} has at least {@code size} workers. */
    public static void awaitPool(String bootstrapServers, KvSerdes serdes, int size, Duration timeout)
        throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        try (KvClient client = KvClient.open(bootstrapServers, serdes, Duration.ofSeconds(5))) {
            while (System.nanoTime() < deadline) {
                try {
                    KvReply reply = client.verify().get();
                    if (reply.getMembers().size() >= size && reply.getOk()) {
                        return;
                    }
                    last = reply.getMessage() + " (pool " + reply.getMembers() + ")";
                } catch (ExecutionException | CompletionException e) {
                    last = e.getCause().toString();
                }
                TimeUnit.MILLISECONDS.sleep(200);
            }
        }
        throw new IllegalStateException("The key-value store did not get " + size + " workers in its pool within "
            + timeout.toSeconds() + " s: " + last);
    }

    public KvSerdes serdes() {
        return serdes;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public List<KvWorker> workers() {
        return List.copyOf(workers);
    }

    public List<KvCoordinator> coordinators() {
        return List.copyOf(coordinators);
    }

    @Override
    public void close() {
        for (KvWorker worker : workers) {
            try {
                worker.close();
            } catch (RuntimeException e) {
                LOG.warn("Closing {} failed: {}", worker.id(), e.toString());
            }
        }
        for (KvCoordinator coordinator : coordinators) {
            try {
                coordinator.close();
            } catch (RuntimeException e) {
                LOG.warn("Closing {} failed: {}", coordinator.id(), e.toString());
            }
        }
    }
}
