package io.distpipe.primes.work;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import io.distpipe.common.AbstractService;
import io.distpipe.common.BrokerAborts;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.PollLoop;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.RenewableProducer;
import io.distpipe.common.Supervisor;
import io.distpipe.primes.PrimeFound;
import io.distpipe.primes.SnapshotMarker;
import io.distpipe.primes.Task;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.primes.TaskMessage;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member of the primes worker group: reads tasks, tests each number with Miller–Rabin, and in one Kafka transaction
 * writes the primes, a {@link TaskCompleted} and the consumed offsets, so a killed worker's task is redone by another
 * without anything counted twice.
 */
public final class PrimeWorker extends AbstractService {

    public static final String GROUP_ID = "primes-workers";
    public static final String TRANSACTIONAL_ID_PREFIX = "primes-worker-";
    public static final int MAX_POLL_RECORDS_DEFAULT = 16;
    /**
     * Short, because a killed worker's pending offset commit holds up the worker that takes over its partitions
     * until the broker aborts the dead worker's transaction. Numbers are tested before the transaction opens, so a
     * slow task does not make a transaction last longer.
     */
    public static final int TRANSACTION_TIMEOUT_MS_DEFAULT = 4_000;
    public static final String DLQ_HEADER_REASON = ReadPolicy.HEADER_REASON;
    public static final String DLQ_HEADER_SOURCE = ReadPolicy.HEADER_SOURCE;

    private static final Logger LOG = LoggerFactory.getLogger(PrimeWorker.class);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(200);
    private static final int COMMIT_ATTEMPTS = 5;
    /**
     * Transactions the broker aborted (its timeout, on a stalled process) are written again, 4 times in a row: 5
     * attempts in all, then the worker stops loudly.
     */
    private static final Supervisor.RestartPolicy BROKER_ABORT_RETRIES = new Supervisor.RestartPolicy(4,
        BrokerAborts.POLICY_DEFAULT.window(), BrokerAborts.POLICY_DEFAULT.initialBackoff(),
        BrokerAborts.POLICY_DEFAULT.maxBackoff());
    private static final int MAX_PARTITION_FETCH_BYTES = 128 * 1024;

    /** Settings of one worker; {@link #validate()} names the bad key. */
    public record Config(String workerId, String bootstrapServers, int sessionTimeoutMs, int transactionTimeoutMs,
                         int maxPollRecords) {

        public static Config defaults(String workerId, String bootstrapServers) {
            return new Config(workerId, bootstrapServers, KafkaClients.SESSION_TIMEOUT_MS_DEFAULT,
                TRANSACTION_TIMEOUT_MS_DEFAULT, MAX_POLL_RECORDS_DEFAULT);
        }

        public Config validate() {
            if (workerId == null || !workerId.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("worker id must be letters, digits, '.', '_' or '-': " + workerId);
            }
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                throw new IllegalArgumentException("bootstrap.servers is missing");
            }
            if (sessionTimeoutMs < 500 || transactionTimeoutMs < 1000 || maxPollRecords < 1) {
                throw new IllegalArgumentException("session.timeout.ms >= 500, transaction.timeout.ms >= 1000 and "
                    + "max.poll.records >= 1 are required");
            }
            return this;
        }
    }

    /** How numbers are tested: Miller–Rabin in production; tests plug in a slow or observing tester. */
    public interface PrimeTester {
        PrimeTester MILLER_RABIN = new PrimeTester() {
            @Override
            public boolean isPrime(long n) {
                return MillerRabin.isPrime(n);
            }

            @Override
            public MillerRabin.Verdict test(BigInteger n) {
                return MillerRabin.test(n);
            }
        };

        boolean isPrime(long n);

        MillerRabin.Verdict test(BigInteger n);
    }

    /**
     * Named injection points for tests: the tester of numbers, the monotonic clock (nanoseconds) that budgets and
     * transaction ages are measured on, and the wait between retries.
     */
    public record Hooks(PrimeTester tester, LongSupplier nanoClock, Supervisor.Sleeper sleeper,
                        Duration readRetryBound) {
        public static final Hooks NONE = new Hooks(PrimeTester.MILLER_RABIN, System::nanoTime,
            d -> TimeUnit.NANOSECONDS.sleep(d.toNanos()));

        /** With the default bound on retrying a task record that cannot be read for now (registry down). */
        public Hooks(PrimeTester tester, LongSupplier nanoClock, Supervisor.Sleeper sleeper) {
            this(tester, nanoClock, sleeper, ReadPolicy.BOUND_DEFAULT);
        }
    }

    /** Receives snapshot markers in task order (the snapshot algorithm plugs in here). */
    public interface MarkerListener {
        MarkerListener NONE = (worker, marker, partition, offset) -> List.of();

        /** Records to add to the current transaction when {@code marker} reaches this worker. */
        List<ProducerRecord<byte[], byte[]>> onMarker(PrimeWorker worker, SnapshotMarker marker, int partition,
                                                       long offset);
    }

    private final Config config;
    private final Consumer<byte[], byte[]> consumer;
    /** The transactional producer, made again after the broker aborted a stalled transaction and it refuses it. */
    private final RenewableProducer<byte[], byte[]> txProducer;
    private final BrokerAborts brokerAborts;
    private final Deserializer<String> keyDeserializer;
    private final Deserializer<TaskMessage> taskDeserializer;
    private final Serializer<String> keySerializer;
    private final Serializer<PrimeFound> primeSerializer;
    private final Serializer<TaskCompleted> completedSerializer;
    private final PrimeTester tester;
    private final LongSupplier nanoClock;
    private volatile MarkerListener markerListener;

    private final AtomicLong tasksCompleted = new AtomicLong();
    private final AtomicLong numbersTested = new AtomicLong();
    private final AtomicLong primesFound = new AtomicLong();
    private final AtomicLong poisonRecords = new AtomicLong();
    /** Transient read failures (registry down) are retried, then stop the worker; poison is dead-lettered. */
    private final ReadPolicy reads;

    public PrimeWorker(Config config, Consumer<byte[], byte[]> consumer, Producer<byte[], byte[]> producer,
                       AvroSerdes serdes) {
        this(config, consumer, producer, serdes, Hooks.NONE);
    }

    /** A worker with one producer, which it cannot make again (tests of everything but a renewal). */
    public PrimeWorker(Config config, Consumer<byte[], byte[]> consumer, Producer<byte[], byte[]> producer,
                       AvroSerdes serdes, Hooks hooks) {
        this(config, consumer, only(producer), serdes, hooks);
    }

    /**
     * A worker whose transactional producers {@code producers} makes (uninitialized): the first at once, another
     * each time the broker aborted a stalled transaction and the producer refuses it ({@link BrokerAborts}).
     */
    public PrimeWorker(Config config, Consumer<byte[], byte[]> consumer,
                       Supplier<? extends Producer<byte[], byte[]>> producers, AvroSerdes serdes, Hooks hooks) {
        super(config.workerId(), config.workerId());
        this.tester = hooks.tester();
        this.nanoClock = hooks.nanoClock();
        this.config = config.validate();
        this.consumer = consumer;
        this.txProducer = new RenewableProducer<>(config.workerId(), Duration.ofMillis(config.transactionTimeoutMs()),
            producers);
        this.brokerAborts = new BrokerAborts(config.workerId(), BROKER_ABORT_RETRIES,
            millis -> hooks.sleeper().sleep(Duration.ofMillis(millis)), nanoClock);
        this.keyDeserializer = serdes.keySerde(Topics.PRIMES_TASKS).deserializer();
        this.taskDeserializer = serdes.valueSerde(Topics.PRIMES_TASKS).deserializer();
        this.keySerializer = serdes.keySerde(Topics.PRIMES_FOUND).serializer();
        this.primeSerializer = serdes.valueSerde(Topics.PRIMES_FOUND).serializer();
        this.completedSerializer = serdes.valueSerde(Topics.PRIMES_COMPLETED).serializer();
        this.markerListener = new SnapshotRecorder(serdes);
        this.reads = new ReadPolicy(config.workerId(), hooks.readRetryBound());
    }

    private static <P> Supplier<P> only(P producer) {
        boolean[] given = {false};
        return () -> {
            if (given[0]) {
                throw new IllegalStateException("this worker was given one producer and cannot make another");
            }
            given[0] = true;
            return producer;
        };
    }

    /** A worker with real Kafka clients. */
    public static PrimeWorker create(Config config, AvroSerdes serdes) {
        return create(config, serdes, Hooks.NONE);
    }

    /** A worker with real Kafka clients and the given test hooks. */
    public static PrimeWorker create(Config config, AvroSerdes serdes, Hooks hooks) {
        config.validate();
        Map<String, Object> consumerProps = KafkaClients.consumer(config.bootstrapServers(), GROUP_ID,
            config.workerId(), config.sessionTimeoutMs());
        consumerProps.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.maxPollRecords());
        // Keep little prefetched per partition: tasks are heavy, and partitions taken over from a dead worker must not
        // wait behind a long backlog of this worker's own buffered tasks.
        consumerProps.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, MAX_PARTITION_FETCH_BYTES);
        Map<String, Object> producerProps = KafkaClients.transactionalProducer(config.bootstrapServers(),
            TRANSACTIONAL_ID_PREFIX + config.workerId(), config.transactionTimeoutMs());
        return new PrimeWorker(config, new KafkaConsumer<>(consumerProps), () -> new KafkaProducer<>(producerProps),
            serdes, hooks);
    }

    public void setMarkerListener(MarkerListener listener) {
        this.markerListener = listener;
    }

    public long tasksCompleted() {
        return tasksCompleted.get();
    }

    public long numbersTested() {
        return numbersTested.get();
    }

    public long primesFound() {
        return primesFound.get();
    }

    public long poisonRecords() {
        return poisonRecords.get();
    }

    /** Initializes the transactional producer and subscribes; {@link #run()} then does the work. */
    @Override
    public void start() {
        life.transition(State.STARTING);
        txProducer.producer().initTransactions();
        consumer.subscribe(List.of(Topics.PRIMES_TASKS.name()), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                if (!partitions.isEmpty()) {
                    LOG.info("{}: gave up task partitions {}.", id(), partitionNumbers(partitions));
                }
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                LOG.info("{}: now owns task partitions {}.", id(), partitionNumbers(partitions));
            }
        });
        life.transition(State.RUNNING);
        LOG.info("{}: started, group {}, transactional id {}{}.", id(), GROUP_ID, TRANSACTIONAL_ID_PREFIX, id());
    }

    /** The poll loop; returns when the worker is closed or fenced. */
    public void run() {
        PollLoop.run(id(), life, LOG, "a newer instance with the same id", () -> {
            ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL_TIMEOUT);
            if (!records.isEmpty()) {
                processBatch(records);
            }
            return true;
        }, this::closeClients);
    }

    private void processBatch(ConsumerRecords<byte[], byte[]> records) {
        List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>();
        records.forEach(batch::add);
        int from = 0;
        while (from < batch.size()) {
            from = processSegment(batch, from);
            if (from < 0) {
                return;
            }
        }
    }

    /**
     * Processes records from {@code from} in one transaction and returns the index to go on from, or -1 after an abort
     * that rewound the consumer. The numbers are tested first, outside any transaction, and only then is the
     * transaction opened to write the results and the offsets: the broker aborts a transaction that outlives its
     * timeout, and testing takes as long as the numbers need (seconds for one prime near {@code --max-digits}),
     * while writing takes milliseconds. Testing stops once a third of the transaction timeout has passed, so results
     * commit regularly.
     */
    private int processSegment(List<ConsumerRecord<byte[], byte[]>> batch, int from) {
        Segment segment = compute(batch, from);
        // A transaction the broker aborted is written again (on a new producer if this one refuses it), bounded.
        if (brokerAborts.run(txProducer, () -> write(segment, batch, from)) == Written.REWOUND) {
            return -1;
        }
        // Counted only once the transaction holds: a retried batch must not count twice.
        tasksCompleted.addAndGet(segment.tasks());
        numbersTested.addAndGet(segment.numbers());
        primesFound.addAndGet(segment.primes());
        poisonRecords.addAndGet(segment.poison());
        return segment.next();
    }

    /** What one transaction writes, computed before it opens, and what it counts once it commits. */
    private record Segment(List<ProducerRecord<byte[], byte[]>> records, Map<TopicPartition, OffsetAndMetadata> offsets,
                           int next, long tasks, long numbers, long primes, long poison) {
    }

    /** How an attempt to write a segment ended (the broker's aborts are thrown, for {@link BrokerAborts}). */
    private enum Written {
        COMMITTED,
        /** Aborted after a failure; the consumer was sent back to the segment's first records. */
        REWOUND
    }

    /**
     * Tests the records from {@code from} on, with no transaction open, until the budget is spent, a marker comes
     * (it gets a transaction of its own) or the batch ends.
     */
    private Segment compute(List<ConsumerRecord<byte[], byte[]>> batch, int from) {
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        long tasks = 0;
        long numbers = 0;
        long primes = 0;
        long poison = 0;
        long started = nanoClock.getAsLong();
        long budget = TimeUnit.MILLISECONDS.toNanos(config.transactionTimeoutMs()) / 3;
        int next = from;
        while (true) {
            ConsumerRecord<byte[], byte[]> record = batch.get(next);
            TaskMessage message = decode(record, out);
            boolean marker = message != null && message.getPayload() instanceof SnapshotMarker;
            if (marker && next > from) {
                // A marker gets a transaction of its own, after the tasks before it have committed, so the state it
                // records is exactly what precedes it.
                break;
            }
            next++;
            if (message == null) {
                poison++;
            } else if (message.getPayload() instanceof Task task) {
                primes += process(task, record, out);
                tasks++;
                numbers += Numbers.packedCount(task.getPacked()) + task.getNumbers().size();
            } else if (message.getPayload() instanceof SnapshotMarker snapshotMarker) {
                out.addAll(markerListener.onMarker(this, snapshotMarker, record.partition(), record.offset()));
            }
            offsets.put(new TopicPartition(record.topic(), record.partition()),
                new OffsetAndMetadata(record.offset() + 1));
            if (marker || next >= batch.size() || nanoClock.getAsLong() - started >= budget) {
                break;
            }
        }
        return new Segment(out, offsets, next, tasks, numbers, primes, poison);
    }

    /**
     * Writes a computed segment, its offsets and commits, all in one transaction. The producer's answers to a
     * transaction the broker aborted (or to fencing) are thrown, for {@link BrokerAborts} to tell which and write the
     * segment again; any other failure aborts and rewinds.
     */
    private Written write(Segment segment, List<ConsumerRecord<byte[], byte[]>> batch, int from) {
        txProducer.producer().beginTransaction();
        long opened = nanoClock.getAsLong();
        try {
            segment.records().forEach(txProducer.producer()::send);
            requireYoung(opened);
            txProducer.producer().sendOffsetsToTransaction(segment.offsets(), consumer.groupMetadata());
            requireYoung(opened);
        } catch (WakeupException e) {
            throw e;
        } catch (KafkaException e) {
            return afterFailure(batch, from, e);
        }
        return commit(batch, from);
    }

    /**
     * Throws {@link TransactionAbortedException} when the transaction opened at {@code opened} is close enough to its
     * timeout that the broker may have aborted it (only a stalled process gets there). It is aborted and written again
     * rather than carried on: after the broker's abort, an abort succeeds, where adding offsets or committing would
     * leave the producer refusing everything ({@link BrokerAborts} renews it then).
     */
    private void requireYoung(long opened) {
        long timeout = TimeUnit.MILLISECONDS.toNanos(config.transactionTimeoutMs());
        long open = nanoClock.getAsLong() - opened;
        if (open >= timeout - timeout / 4) {
            throw new TransactionAbortedException(id() + ": the transaction has been open for "
                + TimeUnit.NANOSECONDS.toMillis(open) + " ms, close to its " + config.transactionTimeoutMs()
                + " ms timeout");
        }
    }

    /**
     * Commits the open transaction. A commit that timed out must be retried, not aborted (the producer refuses an
     * abort then); any other failure goes to {@link #afterFailure}.
     */
    private Written commit(List<ConsumerRecord<byte[], byte[]>> batch, int from) {
        for (int attempt = 1; ; attempt++) {
            try {
                txProducer.producer().commitTransaction();
                return Written.COMMITTED;
            } catch (TimeoutException e) {
                if (attempt >= COMMIT_ATTEMPTS) {
                    throw new KafkaException(id() + ": commit still timing out after " + attempt + " attempts", e);
                }
                LOG.warn("{}: commit timed out (attempt {} of {}); retrying it.", id(), attempt, COMMIT_ATTEMPTS);
            } catch (KafkaException e) {
                return afterFailure(batch, from, e);
            }
        }
    }

    /**
     * An answer the producer gives to a transaction the broker aborted, or to fencing, is thrown for
     * {@link BrokerAborts}; any other failure aborts the transaction and rewinds the consumer.
     */
    private Written afterFailure(List<ConsumerRecord<byte[], byte[]>> batch, int from, KafkaException cause) {
        if (BrokerAborts.stallAnswer(cause)) {
            throw cause;
        }
        abortAndRewind(batch, from, cause);
        return Written.REWOUND;
    }

    private void abortAndRewind(List<ConsumerRecord<byte[], byte[]>> batch, int from, KafkaException cause) {
        LOG.warn("{}: transaction failed ({}); aborting and retrying the batch.", id(), cause.getMessage());
        txProducer.producer().abortTransaction();
        rewind(batch, from);
    }

    /** After an abort, read again from the first uncommitted record of each partition of the batch. */
    private void rewind(List<ConsumerRecord<byte[], byte[]>> batch, int from) {
        Map<TopicPartition, Long> first = new LinkedHashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : batch.subList(from, batch.size())) {
            first.putIfAbsent(new TopicPartition(record.topic(), record.partition()), record.offset());
        }
        first.forEach(consumer::seek);
    }

    /**
     * The task or marker of {@code record}, or null when it is poison (then its dead-letter record is added to
     * {@code out}, in the same transaction as the offsets that pass it). A record that cannot be read for now (the
     * registry does not answer) is retried within a bound, then the worker stops: never dead-lettered for that.
     */
    private TaskMessage decode(ConsumerRecord<byte[], byte[]> record, List<ProducerRecord<byte[], byte[]>> out) {
        try {
            return reads.read(record, this::decodeTask);
        } catch (ReadPolicy.PoisonRecordException poison) {
            LOG.warn("{}: poison record {} sent to {}: {}", id(), ReadPolicy.where(record),
                Topics.PRIMES_TASKS_DLQ.name(), poison.reason());
            out.add(reads.deadLetter(Topics.PRIMES_TASKS_DLQ.name(), poison));
            return null;
        }
    }

    private TaskMessage decodeTask(ConsumerRecord<byte[], byte[]> record) {
        keyDeserializer.deserialize(record.topic(), record.key());
        TaskMessage message = taskDeserializer.deserialize(record.topic(), record.headers(), record.value());
        if (message == null) {
            throw new KafkaException("the record has no value");
        }
        if (message.getPayload() instanceof Task task) {
            if (task.getNumbers().stream().anyMatch(n -> !n.hasRemaining())) {
                throw new KafkaException("task " + task.getTaskId() + " holds an empty number");
            }
            if (task.getPacked().remaining() % Long.BYTES != 0) {
                throw new KafkaException("task " + task.getTaskId() + " has packed numbers of "
                    + task.getPacked().remaining() + " bytes, not a multiple of 8");
            }
        }
        return message;
    }

    private long process(Task task, ConsumerRecord<byte[], byte[]> record, List<ProducerRecord<byte[], byte[]>> out) {
        long found = 0;
        long probable = 0;
        ByteBuffer packed = task.getPacked();
        int packedCount = Numbers.packedCount(packed);
        for (int i = 0; i < packedCount; i++) {
            long n = Numbers.packedAt(packed, i);
            if (tester.isPrime(n)) {
                BigInteger prime = BigInteger.valueOf(n);
                out.add(prime(task, prime.toString(), Numbers.toBytes(prime), false));
                found++;
            }
        }
        for (ByteBuffer encoded : task.getNumbers()) {
            BigInteger n = Numbers.fromBytes(encoded);
            MillerRabin.Verdict verdict = tester.test(n);
            if (verdict != MillerRabin.Verdict.COMPOSITE) {
                boolean isProbable = verdict == MillerRabin.Verdict.PROBABLE_PRIME;
                out.add(prime(task, n.toString(), encoded, isProbable));
                found++;
                if (isProbable) {
                    probable++;
                }
            }
        }
        long tested = packedCount + task.getNumbers().size();
        TaskCompleted completed = TaskCompleted.newBuilder().setTaskId(task.getTaskId()).setJobId(task.getJobId())
            .setWorkerId(id()).setNumbersTested(tested).setPrimesFound(found)
            .setProbablePrimes(probable).setTaskPartition(record.partition()).setTaskOffset(record.offset())
            .setCompletedAt(Instant.now()).build();
        String completedTopic = Topics.PRIMES_COMPLETED.name();
        out.add(new ProducerRecord<>(completedTopic, keySerializer.serialize(completedTopic, task.getTaskId()),
            completedSerializer.serialize(completedTopic, completed)));
        return found;
    }

    private ProducerRecord<byte[], byte[]> prime(Task task, String decimal, ByteBuffer encoded, boolean probable) {
        String topic = Topics.PRIMES_FOUND.name();
        PrimeFound prime = PrimeFound.newBuilder().setNumber(encoded).setJobId(task.getJobId())
            .setTaskId(task.getTaskId()).setWorkerId(id()).setProbable(probable).build();
        return new ProducerRecord<>(topic, keySerializer.serialize(topic, decimal),
            primeSerializer.serialize(topic, prime));
    }

    /** Stops the poll loop; {@link #run()} closes the clients on its way out. */
    @Override
    public void close() {
        closeOrWake(this::closeClients, consumer::wakeup);
    }

    private void closeClients() {
        try {
            consumer.close(Duration.ofSeconds(5));
        } catch (RuntimeException e) {
            LOG.debug("{}: consumer close: {}", id(), e.toString());
        }
        try {
            txProducer.producer().close(Duration.ofSeconds(5));
        } catch (RuntimeException e) {
            LOG.debug("{}: producer close: {}", id(), e.toString());
        }
        if (life.state() == State.CLOSING || life.state() == State.FAILED) {
            life.transition(State.CLOSED);
        }
        LOG.info("{}: stopped after {} tasks, {} numbers, {} primes.", id(), tasksCompleted(), numbersTested(),
            primesFound());
    }

    private static List<Integer> partitionNumbers(Collection<TopicPartition> partitions) {
        return partitions.stream().map(TopicPartition::partition).sorted().toList();
    }
}
