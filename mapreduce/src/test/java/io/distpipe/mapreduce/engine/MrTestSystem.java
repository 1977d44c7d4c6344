package io.distpipe.mapreduce.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.mapreduce.MrTaskPhase;
import io.distpipe.mapreduce.MrTaskState;
import io.distpipe.mapreduce.MrTaskStatus;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;

/** One embedded broker and HTTP registry shared by an IT class, with helpers to run coordinators and workers. */
final class MrTestSystem implements AutoCloseable {

    static final Duration JOB_TIMEOUT = Duration.ofSeconds(120);

    final EmbeddedKafka kafka;
    final SchemaRegistryServer registry;
    final AvroSerdes serdes;
    private final List<AutoCloseable> running = new CopyOnWriteArrayList<>();

    MrTestSystem() throws IOException {
        kafka = EmbeddedKafka.startTemporary();
        registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
        serdes = AvroSerdes.connect(registry.url());
    }

    /**
     * The generated test corpus ({@link Corpus}: eight files, about 4 MB), written once per build under
     * {@code target/} (system property {@code distpipe.mapreduce.corpus}).
     */
    static List<Path> texts() throws IOException {
        return Corpus.ensure(Path.of(System.getProperty("distpipe.mapreduce.corpus", "target/mr-corpus")));
    }

    /** A coordinator running on its own thread. */
    RunningCoordinator coordinator(java.util.function.Predicate<MrJobStatus> haltAfter) {
        MrCoordinator c = new MrCoordinator(new MrCoordinator.Config("mr-coordinator", kafka.bootstrapServers(),
            MrCoordinator.MAX_RETRIES_DEFAULT, 1), serdes);
        c.haltAfter(haltAfter);
        c.start();
        Thread t = new Thread(c::run, "mr-coordinator");
        t.start();
        RunningCoordinator rc = new RunningCoordinator(c, t);
        running.add(rc);
        return rc;
    }

    record RunningCoordinator(MrCoordinator coordinator, Thread thread) implements AutoCloseable {
        @Override
        public void close() throws InterruptedException {
            coordinator.close();
            thread.join(30_000);
        }
    }

    /** An in-process worker on its own thread; {@link #exitedAtNanos} is set when its loop returns. */
    static final class RunningWorker implements AutoCloseable {
        final MrWorker worker;
        final Thread thread;
        volatile long exitedAtNanos;

        RunningWorker(MrWorker worker) {
            this.worker = worker;
            this.thread = new Thread(() -> {
                worker.run();
                exitedAtNanos = System.nanoTime();
            }, worker.id());
        }

        @Override
        public void close() throws InterruptedException {
            worker.close();
            thread.join(30_000);
        }
    }

    RunningWorker worker(String id) {
        MrWorker w = MrWorker.create(MrWorker.Config.defaults(id, kafka.bootstrapServers()), serdes);
        w.start();
        RunningWorker rw = new RunningWorker(w);
        rw.thread.start();
        running.add(rw);
        return rw;
    }

    MrClient client(String id) {
        MrClient c = new MrClient(kafka.bootstrapServers(), id, serdes);
        running.add(c);
        return c;
    }

    /** Every line of every mr-out-* file of {@code dir}, sorted (MIT: sort mr-out* | grep .). */
    static List<String> mergedOutput(Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("mr-out-")).toList()) {
                Files.readAllLines(f, StandardCharsets.UTF_8).stream().filter(l -> !l.isEmpty()).forEach(lines::add);
            }
        }
        lines.sort(null);
        return lines;
    }

    static List<String> reference(MapReduceApp app, List<Path> inputs) throws IOException {
        List<String> lines = new ArrayList<>(Sequential.run(app, inputs));
        lines.sort(null);
        return lines;
    }

    /** Every committed task status of {@code jobId}, in topic order. */
    List<MrTaskStatus> taskStatuses(String jobId) {
        List<MrTaskStatus> result = new ArrayList<>();
        TopicPartition tp = new TopicPartition(Topics.MR_TASK_STATUS.name(), 0);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(KafkaClients.consumer(kafka.bootstrapServers(),
            null, "test-task-status", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            var reader = serdes.valueSerde(Topics.MR_TASK_STATUS).deserializer();
            while (c.position(tp) < end) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    MrTaskStatus s;
                    try {
                        s = reader.deserialize(r.topic(), r.headers(), r.value());
                    } catch (SerializationException e) {
                        continue; // the poison record of MapReduceIT's dead-letter test
                    }
                    if (s.getJobId().equals(jobId)) {
                        result.add(s);
                    }
                }
            }
        }
        return result;
    }

    /** Whether two different workers ran tasks of {@code phase} at overlapping times (from their status stamps). */
    static boolean overlapping(List<MrTaskStatus> statuses, MrTaskPhase phase) {
        List<MrTaskStatus> done = statuses.stream().filter(s -> s.getPhase() == phase
            && s.getState() == MrTaskState.DONE).toList();
        for (MrTaskStatus a : done) {
            for (MrTaskStatus b : done) {
                if (!a.getWorkerId().equals(b.getWorkerId()) && a.getStartedAt().isBefore(b.getFinishedAt())
                    && b.getStartedAt().isBefore(a.getFinishedAt())) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Stops whatever is still running (workers, coordinators, clients) so the next test starts clean. */
    void stopAll() throws Exception {
        for (AutoCloseable c : running) {
            c.close();
        }
        running.clear();
    }

    @Override
    public void close() throws Exception {
        stopAll();
        registry.close();
        kafka.close();
    }
}
