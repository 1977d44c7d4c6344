package io.distpipe.mapreduce.engine;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.LocalKafka;
import io.distpipe.common.Supervisor;
import io.distpipe.common.WorkerProcess;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;

/**
 * A self-contained MapReduce system for one command: an embedded broker, the coordinator, and workers as threads of
 * this JVM or as child JVMs ({@code distpipe mr worker}). Closing it stops them all.
 */
public final class MrRun implements AutoCloseable {

    /**
     * Restarts of one worker JVM: enough for the crash app (a third of its tasks halt the JVM), while a worker that
     * cannot stay up (it dies at start) reaches the bound within minutes.
     */
    static final Supervisor.RestartPolicy WORKER_RESTARTS = new Supervisor.RestartPolicy(30, Duration.ofMinutes(10),
        Duration.ofMillis(200), Duration.ofSeconds(5));

    private final KafkaCluster kafka;
    private final SchemaRegistryServer registry;
    private final AvroSerdes serdes;
    private final List<AutoCloseable> parts = new ArrayList<>();
    private final Path logDir;
    private int workers;

    private MrRun(KafkaCluster kafka, SchemaRegistryServer registry, Path logDir) {
        this.kafka = kafka;
        this.registry = registry;
        this.serdes = AvroSerdes.connect(registry.url());
        this.logDir = logDir;
    }

    /** Starts the broker, the registry and the coordinator. */
    public static MrRun start(Path logDir) throws Exception {
        KafkaCluster kafka = LocalKafka.get().startEmbedded();
        SchemaRegistryServer registry;
        try {
            registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
        } catch (Exception e) {
            kafka.close();
            throw e;
        }
        MrRun run = new MrRun(kafka, registry, logDir);
        try {
            MrCoordinator coordinator = new MrCoordinator(new MrCoordinator.Config("mr-coordinator",
                kafka.bootstrapServers(), MrCoordinator.MAX_RETRIES_DEFAULT, 1), run.serdes);
            coordinator.start();
            run.background(coordinator.id(), coordinator::run, coordinator::close);
        } catch (Exception e) {
            run.close();
            throw e;
        }
        return run;
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    public AvroSerdes serdes() {
        return serdes;
    }

    /** Adds {@code count} more workers (worker-1, worker-2, ...), as threads here or as child JVMs. */
    public void addWorkers(int count, boolean childJvms) throws Exception {
        for (int i = 0; i < count; i++) {
            String id = "worker-" + ++workers;
            if (childJvms) {
                supervise(id);
            } else {
                MrWorker worker = MrWorker.create(MrWorker.Config.defaults(id, kafka.bootstrapServers()), serdes);
                worker.start();
                background(id, worker::run, worker::close);
            }
        }
    }

    /**
     * Starts a worker JVM and keeps it running: one that dies (a crash app halting it, a SIGKILL) is started again
     * with the same id, which also aborts the transaction it left open.
     */
    private void supervise(String id) throws Exception {
        List<String> args = List.of("mr", "worker", "--id", id, "--bootstrap-servers", kafka.bootstrapServers(),
            "--registry-url", registry.url());
        Supervisor<ChildJvm> supervisor = Supervisor.builder(id, () -> WorkerProcess.start(id, args, logDir))
            .policy(WORKER_RESTARTS).build();
        supervisor.start();
        supervisor.runInBackground();
        parts.add(supervisor);
    }

    /** Submits a job and follows it until it finishes. */
    public MrJobStatus runJob(String jobId, String app, List<String> files, int nReduce, Path output, Duration timeout,
                       Consumer<MrJobStatus> onUpdate) {
        try (MrClient client = new MrClient(kafka.bootstrapServers(), "mr-submit", serdes)) {
            client.submit(jobId, app, files, nReduce, output);
            return client.await(jobId, timeout, onUpdate);
        }
    }

    private void background(String name, Runnable loop, Runnable stop) {
        Thread t = new Thread(loop, name);
        t.setDaemon(true);
        t.start();
        parts.add(() -> {
            stop.run();
            t.join(30_000);
        });
    }

    @Override
    public void close() {
        for (int i = parts.size() - 1; i >= 0; i--) {
            try {
                parts.get(i).close();
            } catch (Exception e) {
                org.slf4j.LoggerFactory.getLogger(MrRun.class).warn("Stopping a part of the MapReduce run: {}",
                    e.toString());
            }
        }
        try {
            registry.close();
        } finally {
            kafka.close();
        }
    }
}
