package io.distpipe.mapreduce.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import io.distpipe.common.AbstractService;
import io.distpipe.common.BrokerAborts;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.PollLoop;
import io.distpipe.common.RenewableProducer;
import io.distpipe.mapreduce.IntermediateValue;
import io.distpipe.mapreduce.MapTask;
import io.distpipe.mapreduce.MrTaskPhase;
import io.distpipe.mapreduce.MrTaskState;
import io.distpipe.mapreduce.MrTaskStatus;
import io.distpipe.mapreduce.ReduceTask;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member of the MapReduce worker group: takes map and reduce tasks from their topics (GetTask), runs them, and
 * reports each attempt (UpdateTaskStatus) in the same Kafka transaction as its output and the consumed task offset,
 * so a task whose worker dies is redone by another and counts once.
 *
 * <p>Map: the whole input file goes through the app's map; each pair goes to partition
 * {@link Shuffle#partition hash(key) mod nReduce} of the job's intermediate topic, keyed by the pair's key (the
 * shuffle is Kafka partitioning). Reduce r: partition r read with read_committed up to the offset the coordinator
 * fixed when mapping ended, keeping only each map task's accepted attempt; the output goes to a temporary file that
 * is renamed atomically to {@code mr-out-r}, so readers never see half a file and a redone task rewrites the same
 * bytes.
 */
public final class MrWorker extends AbstractService {

    public static final String GROUP_ID = "mr-workers";
    public static final String TRANSACTIONAL_ID_PREFIX = "mr-worker-";
    /** A map or reduce attempt must finish inside it; a killed worker's open attempt is aborted after it. */
    public static final int TRANSACTION_TIMEOUT_MS_DEFAULT = 20_000;
    public static final int MAX_POLL_INTERVAL_MS_DEFAULT = 60_000;

    private static final Logger LOG = LoggerFactory.getLogger(MrWorker.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(200);
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

    /** Settings of one worker; {@link #validate()} names the bad key. */
    public record Config(String workerId, String bootstrapServers, int sessionTimeoutMs, int transactionTimeoutMs) {

        public static Config defaults(String workerId, String bootstrapServers) {
            return new Config(workerId, bootstrapServers, KafkaClients.SESSION_TIMEOUT_MS_DEFAULT,
                TRANSACTION_TIMEOUT_MS_DEFAULT);
        }

        public Config validate() {
            if (workerId == null || !workerId.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("worker id must be letters, digits, '.', '_' or '-': " + workerId);
            }
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                throw new IllegalArgumentException("bootstrap.servers is missing");
            }
            if (sessionTimeoutMs < 500 || transactionTimeoutMs < 1000) {
                throw new IllegalArgumentException("session.timeout.ms >= 500 and transaction.timeout.ms >= 1000 "
                    + "are required");
            }
            return this;
        }
    }

    private final Config config;
    private final Consumer<byte[], byte[]> tasks;
    private final Consumer<byte[], byte[]> reader;
    /** The transactional producer, made again after a stall past the transaction timeout. */
    private final RenewableProducer<byte[], byte[]> txProducer;
    /** A task the broker aborted (it outlived the transaction timeout) is redone, not taken for fencing. */
    private final BrokerAborts brokerAborts;
    private final Serializer<String> keys;
    private final Deserializer<String> keyReader;
    private final Deserializer<MapTask> mapTasks;
    private final Deserializer<ReduceTask> reduceTasks;
    private final Serializer<IntermediateValue> intermediateWriter;
    private final Deserializer<IntermediateValue> intermediateReader;
    private final Serializer<MrTaskStatus> statusWriter;
    private volatile BooleanSupplier stopWhen = () -> false;

    private final AtomicLong mapsDone = new AtomicLong();
    private final AtomicLong reducesDone = new AtomicLong();
    private final AtomicLong attemptsFailed = new AtomicLong();

    /** {@code producers} makes the transactional producer, again after a stall past the transaction timeout. */
    public MrWorker(Config config, Consumer<byte[], byte[]> tasks, Consumer<byte[], byte[]> reader,
                    Supplier<Producer<byte[], byte[]>> producers, AvroSerdes serdes) {
        super(config.workerId(), config.workerId());
        this.config = config.validate();
        this.tasks = tasks;
        this.reader = reader;
        this.txProducer = new RenewableProducer<>(config.workerId(), Duration.ofMillis(config.transactionTimeoutMs()),
            producers);
        this.brokerAborts = new BrokerAborts(config.workerId());
        this.keys = serdes.keySerde(Topics.MR_TASK_STATUS).serializer();
        this.keyReader = serdes.keySerde(Topics.MR_INTERMEDIATE).deserializer();
        this.mapTasks = serdes.valueSerde(Topics.MR_MAP_TASKS).deserializer();
        this.reduceTasks = serdes.valueSerde(Topics.MR_REDUCE_TASKS).deserializer();
        this.intermediateWriter = serdes.valueSerde(Topics.MR_INTERMEDIATE).serializer();
        this.intermediateReader = serdes.valueSerde(Topics.MR_INTERMEDIATE).deserializer();
        this.statusWriter = serdes.valueSerde(Topics.MR_TASK_STATUS).serializer();
    }

    /** A worker with real Kafka clients. */
    public static MrWorker create(Config config, AvroSerdes serdes) {
        config.validate();
        Map<String, Object> taskProps = KafkaClients.consumer(config.bootstrapServers(), GROUP_ID,
            config.workerId(), config.sessionTimeoutMs());
        // One task per poll: a task is a whole file or partition, and the rest must stay free for other workers.
        taskProps.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        taskProps.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, MAX_POLL_INTERVAL_MS_DEFAULT);
        // Deal the task partitions of both topics out in turn, so consecutive tasks land on different workers.
        taskProps.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RoundRobinAssignor.class.getName());
        Map<String, Object> readerProps = KafkaClients.consumer(config.bootstrapServers(), null,
            config.workerId() + "-reader", config.sessionTimeoutMs());
        readerProps.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        // The last fetch of a partition often holds only a transaction marker; do not wait 500 ms for more.
        readerProps.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20);
        Map<String, Object> producerProps = KafkaClients.transactionalProducer(config.bootstrapServers(),
            TRANSACTIONAL_ID_PREFIX + config.workerId(), config.transactionTimeoutMs());
        producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        producerProps.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        return new MrWorker(config, new KafkaConsumer<>(taskProps), new KafkaConsumer<>(readerProps),
            () -> new KafkaProducer<>(producerProps), serdes);
    }

    public long mapsDone() {
        return mapsDone.get();
    }

    public long reducesDone() {
        return reducesDone.get();
    }

    /** Makes {@link #run()} return (closing cleanly) once {@code condition} holds; checked between tasks. */
    public void stopWhen(BooleanSupplier condition) {
        this.stopWhen = condition;
    }

    @Override
    public void start() {
        life.transition(State.STARTING);
        txProducer.producer().initTransactions();
        tasks.subscribe(List.of(Topics.MR_MAP_TASKS.name(), Topics.MR_REDUCE_TASKS.name()),
            new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    LOG.debug("{}: gave up task partitions {}.", id(), partitions);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    LOG.info("{}: now owns {} task partitions.", id(), partitions.size());
                }
            });
        life.transition(State.RUNNING);
        LOG.info("{}: started, group {}, transactional id {}{}.", id(), GROUP_ID, TRANSACTIONAL_ID_PREFIX, id());
    }

    /** The poll loop; returns when the worker is closed, fenced, or its stop condition holds. */
    public void run() {
        PollLoop.run(id(), life, LOG, "a newer instance with the same id", () -> {
            if (stopWhen.getAsBoolean()) {
                LOG.info("{}: stop condition reached; leaving the group.", id());
                life.beginClose();
                return false;
            }
            ConsumerRecords<byte[], byte[]> records = tasks.poll(POLL_TIMEOUT);
            for (ConsumerRecord<byte[], byte[]> record : records) {
                if (!execute(record)) {
                    break;
                }
            }
            return true;
        }, this::closeClients);
    }

    /** Runs one task attempt in one transaction; false when it was aborted (and the record will come again). */
    private boolean execute(ConsumerRecord<byte[], byte[]> record) {
        long attempt = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        Instant started = Instant.now();
        boolean map = record.topic().equals(Topics.MR_MAP_TASKS.name());
        MapTask mapTask = null;
        ReduceTask reduceTask = null;
        try {
            if (map) {
                mapTask = mapTasks.deserialize(record.topic(), record.headers(), record.value());
            } else {
                reduceTask = reduceTasks.deserialize(record.topic(), record.headers(), record.value());
            }
        } catch (RuntimeException e) {
            // Only the coordinator writes these topics through the same catalog serdes; an unreadable task is a bug
            // or a foreign writer, and skipping it would lose a task silently.
            throw new KafkaException(id() + ": cannot read the task at " + record.topic() + "-" + record.partition()
                + "@" + record.offset() + ": " + e.getMessage(), e);
        }
        long began = brokerAborts.now();
        txProducer.producer().beginTransaction();
        MrTaskStatus.Builder status = MrTaskStatus.newBuilder().setAttempt(attempt).setWorkerId(id())
            .setStartedAt(started).setReason(null).setOutput(null);
        try {
            try {
                if (map) {
                    status.setJobId(mapTask.getJobId()).setTaskId(mapTask.getTaskId()).setPhase(MrTaskPhase.MAP)
                        .setIndex(mapTask.getIndex()).setRetry(mapTask.getRetry());
                    runMap(mapTask, attempt, status);
                } else {
                    status.setJobId(reduceTask.getJobId()).setTaskId(reduceTask.getTaskId())
                        .setPhase(MrTaskPhase.REDUCE).setIndex(reduceTask.getIndex()).setRetry(reduceTask.getRetry());
                    runReduce(reduceTask, attempt, status);
                }
                status.setState(MrTaskState.DONE);
            } catch (TaskFailure e) {
                // The app or the input failed: nothing of this attempt may count, but the failure must reach the
                // coordinator (which retries within the job's budget) and the task record is consumed.
                LOG.warn("{}: task {} failed: {}", id(), status.getTaskId(), e.getMessage());
                txProducer.producer().abortTransaction();
                txProducer.producer().beginTransaction();
                status.setState(MrTaskState.FAILED).setReason(e.getMessage()).setRecordsIn(0).setRecordsOut(0);
                attemptsFailed.incrementAndGet();
            }
            MrTaskStatus done = status.setFinishedAt(Instant.now()).build();
            String topic = Topics.MR_TASK_STATUS.name();
            txProducer.producer().send(new ProducerRecord<>(topic, keys.serialize(topic, done.getTaskId()),
                statusWriter.serialize(topic, done)));
            TopicPartition from = new TopicPartition(record.topic(), record.partition());
            txProducer.producer().sendOffsetsToTransaction(Map.of(from, new OffsetAndMetadata(record.offset() + 1)),
                tasks.groupMetadata());
            txProducer.producer().commitTransaction();
            brokerAborts.committed();
            if (done.getState() == MrTaskState.DONE) {
                (map ? mapsDone : reducesDone).incrementAndGet();
            }
            LOG.info("{}: {} {} attempt {} in {} ms ({} in, {} out).", id(), done.getTaskId(), done.getState(),
                Long.toHexString(attempt), done.getFinishedAt().toEpochMilli() - started.toEpochMilli(),
                done.getRecordsIn(), done.getRecordsOut());
            return true;
        } catch (WakeupException e) {
            throw e;
        } catch (KafkaException e) {
            TopicPartition tp = new TopicPartition(record.topic(), record.partition());
            if (brokerAborts.recover(txProducer, e, began)) {
                // The broker aborted the attempt (a task longer than the transaction timeout, or a stalled worker):
                // nothing of it counts; it is redone, bounded by BrokerAborts, instead of ending the worker as fenced.
                LOG.warn("{}: attempt of {} aborted by the broker; it will be redone.", id(), status.getTaskId());
                if (tasks.assignment().contains(tp)) {
                    tasks.seek(tp, record.offset());
                }
                return false;
            }
            if (KafkaClients.fenced(e)) {
                throw e;
            }
            // Typically the group moved the task's partition elsewhere (the commit is refused): abort, and read the
            // task again if the partition is still ours.
            LOG.warn("{}: attempt of {} aborted ({}); it will be redone.", id(), status.getTaskId(), e.getMessage());
            txProducer.producer().abortTransaction();
            if (tasks.assignment().contains(tp)) {
                tasks.seek(tp, record.offset());
            }
            return false;
        }
    }

    private void runMap(MapTask task, long attempt, MrTaskStatus.Builder status) throws TaskFailure {
        MapReduceApp app = app(task.getApp());
        Path file = Path.of(task.getFile());
        String content;
        try {
            content = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TaskFailure("cannot read input " + file + ": " + e, e);
        }
        String topic = task.getIntermediateTopic();
        int nReduce = task.getNReduce();
        int index = task.getIndex();
        long[] emitted = new long[1];
        Producer<byte[], byte[]> producer = txProducer.producer();
        MapReduceApp.Emitter send = (key, value) -> {
            IntermediateValue v = new IntermediateValue(index, attempt, value);
            producer.send(new ProducerRecord<>(topic, Shuffle.partition(key, nReduce), keys.serialize(topic, key),
                intermediateWriter.serialize(topic, v)));
            emitted[0]++;
        };
        try {
            if (app.reduceIsCombiner()) {
                Map<String, List<String>> combined = new java.util.HashMap<>();
                app.map(file.getFileName().toString(), content,
                    (key, value) -> combined.computeIfAbsent(key, k -> new ArrayList<>(1)).add(value));
                for (Map.Entry<String, List<String>> e : combined.entrySet()) {
                    app.reduce(e.getKey(), e.getValue(), send);
                }
            } else {
                app.map(file.getFileName().toString(), content, send);
            }
        } catch (KafkaException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new TaskFailure("map of " + file.getFileName() + " by app " + task.getApp() + " threw " + e, e);
        }
        status.setRecordsIn(content.length()).setRecordsOut(emitted[0]);
    }

    private void runReduce(ReduceTask task, long attempt, MrTaskStatus.Builder status) throws TaskFailure {
        MapReduceApp app = app(task.getApp());
        if (app instanceof CrashApp crash) {
            crash.beforeReduceTask();
        }
        TopicPartition tp = new TopicPartition(task.getIntermediateTopic(), task.getIndex());
        List<Long> accepted = task.getAcceptedAttempts();
        Map<String, List<String>> groups = new TreeMap<>();
        long read = 0;
        if (task.getEndOffset() > 0) {
            reader.assign(List.of(tp));
            reader.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
            while (reader.position(tp) < task.getEndOffset()) {
                if (System.nanoTime() > deadline) {
                    throw new KafkaException("reading " + tp + " up to offset " + task.getEndOffset() + " took over "
                        + READ_TIMEOUT.toSeconds() + " s (position " + reader.position(tp) + ")");
                }
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(POLL_TIMEOUT)) {
                    if (r.offset() >= task.getEndOffset()) {
                        break;
                    }
                    IntermediateValue v = intermediateReader.deserialize(r.topic(), r.headers(), r.value());
                    if (v.getMapIndex() < accepted.size() && accepted.get(v.getMapIndex()) == v.getAttempt()) {
                        groups.computeIfAbsent(keyReader.deserialize(r.topic(), r.key()), k -> new ArrayList<>())
                            .add(v.getValue());
                        read++;
                    }
                }
            }
            reader.assign(List.of());
        }
        Path dir = Path.of(task.getOutputDir());
        Path out = dir.resolve("mr-out-" + task.getIndex());
        Path tmp = dir.resolve(".mr-out-" + task.getIndex() + "." + Long.toHexString(attempt) + ".tmp");
        long lines = 0;
        try {
            Files.createDirectories(dir);
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                long[] count = new long[1];
                for (Map.Entry<String, List<String>> group : groups.entrySet()) {
                    app.reduce(group.getKey(), group.getValue(), (k, v) -> {
                        try {
                            w.write(k);
                            w.write(' ');
                            w.write(v);
                            w.write('\n');
                            count[0]++;
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
                }
                lines = count[0];
            }
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            // Atomic: readers see the old complete file or the new one, and a redone task writes the same bytes.
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UncheckedIOException e) {
            deleteQuietly(tmp);
            throw new TaskFailure("cannot write " + out + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw new TaskFailure("reduce " + task.getIndex() + " by app " + task.getApp() + " threw " + e, e);
        }
        status.setRecordsIn(read).setRecordsOut(lines).setOutput(out.toString());
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.debug("cannot delete {}: {}", p, e.toString());
        }
    }

    private static MapReduceApp app(String name) throws TaskFailure {
        return Apps.byName(name).orElseThrow(() -> new TaskFailure("this worker has no app named " + name
            + " (known: " + Apps.names() + ")", null));
    }

    /** A task attempt failed for a reason of its own (input, app), not Kafka's. */
    static final class TaskFailure extends Exception {
        TaskFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    @Override
    public void close() {
        closeOrWake(this::closeClients, tasks::wakeup);
    }

    private void closeClients() {
        for (AutoCloseable c : List.<AutoCloseable>of(() -> tasks.close(Duration.ofSeconds(5)),
            () -> reader.close(Duration.ofSeconds(5)), () -> txProducer.producer().close(Duration.ofSeconds(5)))) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("{}: close: {}", id(), e.toString());
            }
        }
        if (life.state() == State.CLOSING || life.state() == State.FAILED) {
            life.transition(State.CLOSED);
        }
        LOG.info("{}: stopped after {} map and {} reduce tasks ({} failed attempts).", id(), mapsDone.get(),
            reducesDone.get(), attemptsFailed.get());
    }
}
