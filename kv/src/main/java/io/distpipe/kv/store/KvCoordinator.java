package io.distpipe.kv.store;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.distpipe.common.AbstractService;
import io.distpipe.common.BrokerAborts;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.ReadPolicy.PoisonRecordException;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvRequest;
import io.distpipe.kv.WorkerMessage;
import io.distpipe.topics.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Headers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator of the key-value store. All coordinators join one consumer group on kv.requests (one partition):
 * the owner of the partition is the active one, the others are standbys. On becoming active it opens the
 * transactional producer {@code kv-coordinator} (which fences the previous owner and aborts its open Kafka
 * transaction), replays the log and aborts every transaction still in doubt (presumed abort).
 *
 * <p>This class is the Kafka shell around {@link KvCoordinatorCore}, which holds the protocol. One thread owns the
 * core and the producer. Each cycle it feeds the core everything the request and vote readers queued, and writes
 * the log entries the core returns, with the request offsets, in one Kafka transaction: many client transactions
 * share one Kafka commit, which is what makes the throughput.
 */
public final class KvCoordinator extends AbstractService implements Runnable {

    /** Coordinator settings. */
    public record Config(String id, String bootstrapServers, int voteTimeoutMs, int ackTimeoutMs,
                         int sessionTimeoutMs, int transactionTimeoutMs, int replyWindowMs) {
        public static final int VOTE_TIMEOUT_MS_DEFAULT = 5000;
        public static final int ACK_TIMEOUT_MS_DEFAULT = 5000;
        public static final int TRANSACTION_TIMEOUT_MS_DEFAULT = 10_000;
        /** How far back a new coordinator re-answers decided transactions and reads (a client's timeout). */
        public static final int REPLY_WINDOW_MS_DEFAULT = 60_000;

        public Config {
            if (id == null || id.isBlank()) {
                throw new IllegalArgumentException("A coordinator needs an id");
            }
            if (voteTimeoutMs < 1 || ackTimeoutMs < 1) {
                throw new IllegalArgumentException("vote-timeout and ack-timeout must be positive");
            }
        }

        public static Config of(String id, String bootstrapServers) {
            return new Config(id, bootstrapServers, VOTE_TIMEOUT_MS_DEFAULT, ACK_TIMEOUT_MS_DEFAULT,
                KafkaClients.SESSION_TIMEOUT_MS_DEFAULT, TRANSACTION_TIMEOUT_MS_DEFAULT, REPLY_WINDOW_MS_DEFAULT);
        }
    }

    public static final String GROUP = "kv-coordinator";
    public static final String TRANSACTIONAL_ID = "kv-coordinator";

    private static final Logger LOG = LoggerFactory.getLogger(KvCoordinator.class);
    /** The longest the serving thread waits for events before it checks the deadlines. */
    private static final long IDLE_WAIT_NS = TimeUnit.MILLISECONDS.toNanos(200);

    private sealed interface Event permits Requests, Assigned, Revoked, FromWorkers {
    }

    private record Requests(List<ConsumerRecord<byte[], byte[]>> records,
                            Map<TopicPartition, OffsetAndMetadata> next) implements Event {
    }

    private record Assigned() implements Event {
    }

    private record Revoked() implements Event {
    }

    /** Worker messages, and the dead letters of the ones no schema reads. */
    private record FromWorkers(List<WorkerMessage> messages, List<ProducerRecord<byte[], byte[]>> deadLetters)
        implements Event {
    }

    private final Config config;
    private final KvSerdes serdes;
    private final KvCoordinatorCore core;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final CountDownLatch stopped = new CountDownLatch(3);
    private final AtomicLong kafkaTransactions = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final ReadPolicy readPolicy;
    private final BrokerAborts brokerAborts;
    /** Set by the serving thread after being fenced: the request reader leaves the group and joins it again. */
    private volatile boolean rejoin;
    private volatile KafkaException failure;
    private KafkaConsumer<byte[], byte[]> requestConsumer;
    private KafkaConsumer<byte[], byte[]> voteConsumer;
    private KafkaProducer<byte[], byte[]> producer;
    private KafkaProducer<byte[], byte[]> replyProducer;

    public KvCoordinator(Config config, KvSerdes serdes) {
        super(config.id(), "kv coordinator " + config.id());
        this.config = config;
        this.serdes = serdes;
        this.core = new KvCoordinatorCore(config.id(), config.voteTimeoutMs(), config.ackTimeoutMs());
        this.brokerAborts = new BrokerAborts(config.id());
        this.readPolicy = ReadPolicy.of(config.id());
    }

    /** Whether this coordinator owns kv.requests and serves. */
    public boolean active() {
        return core.active();
    }

    public long commits() {
        return core.commits();
    }

    public long aborts() {
        return core.aborts();
    }

    /** Starts the two readers; {@link #run()} then serves on the calling thread. */
    @Override
    public void start() {
        if (!life.compareAndTransition(State.NEW, State.STARTING)) {
            State s = life.state();
            if (s == State.CLOSING || s == State.CLOSED) {
                // stop() came first (a SIGTERM while the process started): run() returns at once.
                return;
            }
            life.transition(State.STARTING);
        }
        Map<String, Object> requestProps = KafkaClients.consumer(config.bootstrapServers(), GROUP,
            config.id() + "-requests", config.sessionTimeoutMs());
        requestProps.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
            CooperativeStickyAssignor.class.getName());
        requestProps.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
        requestConsumer = new KafkaConsumer<>(requestProps);
        Map<String, Object> voteProps = KafkaClients.consumer(config.bootstrapServers(), null,
            config.id() + "-votes", config.sessionTimeoutMs());
        voteProps.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        voteProps.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, KvSerdes.COMMITTED_FETCH_WAIT_MS);
        voteConsumer = new KafkaConsumer<>(voteProps);
        List<TopicPartition> votePartitions = new ArrayList<>();
        for (PartitionInfo p : voteConsumer.partitionsFor(Topics.KV_VOTES.name())) {
            votePartitions.add(new TopicPartition(p.topic(), p.partition()));
        }
        voteConsumer.assign(votePartitions);
        voteConsumer.seekToEnd(votePartitions);
        votePartitions.forEach(voteConsumer::position);
        Map<String, Object> replyProps = KafkaClients.producer(config.bootstrapServers(), config.id() + "-replies");
        replyProps.put(ProducerConfig.LINGER_MS_CONFIG, 1);
        replyProducer = new KafkaProducer<>(replyProps);
        daemon(config.id() + "-requests", this::readRequests).start();
        daemon(config.id() + "-votes", this::readVotes).start();
        // A stop() during start() has moved on to CLOSING already; the readers then end at once.
        life.compareAndTransition(State.STARTING, State.RUNNING);
        LOG.info("{}: started as a standby; the owner of {} is the active coordinator.", config.id(),
            Topics.KV_REQUESTS.name());
    }

    private static Thread daemon(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        return thread;
    }

    /** Whether the threads keep going: neither stopped nor failed. */
    private boolean serving() {
        State s = life.state();
        return s == State.STARTING || s == State.RUNNING;
    }

    private void readRequests() {
        try {
            ConsumerRebalanceListener listener = new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    if (!partitions.isEmpty()) {
                        events.add(new Revoked());
                    }
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    if (!partitions.isEmpty()) {
                        events.add(new Assigned());
                    }
                }
            };
            requestConsumer.subscribe(List.of(Topics.KV_REQUESTS.name()), listener);
            while (serving()) {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = requestConsumer.poll(Duration.ofMillis(200));
                } catch (WakeupException e) {
                    if (!serving() || !rejoin) {
                        throw e;
                    }
                    rejoin = false;
                    // Leaving revokes the partition (a Revoked event); the group may give it back (Assigned).
                    requestConsumer.unsubscribe();
                    requestConsumer.subscribe(List.of(Topics.KV_REQUESTS.name()), listener);
                    continue;
                }
                if (records.isEmpty()) {
                    continue;
                }
                List<ConsumerRecord<byte[], byte[]>> list = new ArrayList<>(records.count());
                records.forEach(list::add);
                Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
                for (TopicPartition tp : records.partitions()) {
                    next.put(tp, new OffsetAndMetadata(requestConsumer.position(tp)));
                }
                events.add(new Requests(list, next));
            }
        } catch (WakeupException e) {
            if (serving()) {
                LOG.error("{}: request reader woken unexpectedly.", config.id(), e);
            }
        } catch (RuntimeException e) {
            fail("the request reader failed", e);
        } finally {
            requestConsumer.close(Duration.ofSeconds(5));
            stopped.countDown();
        }
    }

    private void readVotes() {
        try {
            while (serving()) {
                ConsumerRecords<byte[], byte[]> records = voteConsumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    continue;
                }
                List<WorkerMessage> messages = new ArrayList<>(records.count());
                List<ProducerRecord<byte[], byte[]>> deadLetters = new ArrayList<>(0);
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    // A transient failure past the bound ends the reader, and with it the coordinator (below).
                    try {
                        messages.add(readPolicy.read(record, r -> decode(r, serdes.workerReader::deserialize)));
                    } catch (PoisonRecordException e) {
                        // Written by the active coordinator with its next cycle; a missing vote or ack is one
                        // that never came (the transaction aborts at its vote timeout, an ack is waited for again).
                        LOG.error("{}: {}; it goes to {}.", config.id(), e.getMessage(), Topics.KV_VOTES_DLQ.name());
                        deadLetters.add(readPolicy.deadLetter(Topics.KV_VOTES_DLQ.name(), e));
                    }
                }
                events.add(new FromWorkers(messages, deadLetters));
            }
        } catch (WakeupException e) {
            if (serving()) {
                LOG.error("{}: vote reader woken unexpectedly.", config.id(), e);
            }
        } catch (RuntimeException e) {
            fail("the vote reader failed", e);
        } finally {
            voteConsumer.close(Duration.ofSeconds(5));
            stopped.countDown();
        }
    }

    @Override
    public void run() {
        try {
            List<Event> batch = new ArrayList<>();
            while (serving()) {
                Event first = events.poll(waitMs(), TimeUnit.MILLISECONDS);
                batch.clear();
                if (first != null) {
                    batch.add(first);
                    events.drainTo(batch);
                }
                try {
                    cycle(batch);
                } catch (KafkaException e) {
                    if (serving() && KafkaClients.fenced(e)) {
                        // Another coordinator initialized the transactional id: it owns kv.requests now (or will
                        // once the group settles). Forget the state, leave the group and join it again: a standby.
                        LOG.warn("{}: fenced by another coordinator ({}); back to standby, joining the group again.",
                            config.id(), e.toString());
                        deactivate();
                        rejoin = true;
                        requestConsumer.wakeup();
                    } else if (serving()) {
                        // The cluster failed us, or a record cannot be read for now: stop, so that a standby (or
                        // this process restarted) serves from the log, rather than serve with a state we cannot trust.
                        fail("stopping", e);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            deactivate();
            stopped.countDown();
        }
    }

    /**
     * Ends the coordinator loudly (FAILED, {@link #failure()} set, every thread woken): a reader that cannot go on,
     * or a cycle the cluster failed. Another coordinator, or this process restarted, serves from the log.
     */
    private void fail(String what, RuntimeException e) {
        if (!serving()) {
            return;
        }
        KafkaException failed = e instanceof KafkaException k ? k : new KafkaException(what + ": " + e, e);
        LOG.error("{}: {}: {}", config.id(), what, e.getMessage(), e);
        failure = failed;
        life.compareAndTransition(State.RUNNING, State.FAILED);
        life.compareAndTransition(State.STARTING, State.FAILED);
        wakeReaders();
    }

    private long waitMs() {
        long now = System.nanoTime();
        long next = core.nextDeadlineNs(now + IDLE_WAIT_NS);
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(next - now) + 1);
    }

    private void cycle(List<Event> batch) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        List<ProducerRecord<byte[], byte[]>> deadLetters = new ArrayList<>(0);
        for (Event event : batch) {
            if (event instanceof Assigned) {
                activate();
            } else if (event instanceof Revoked) {
                if (core.active()) {
                    LOG.info("{}: {} was revoked; back to standby.", config.id(), Topics.KV_REQUESTS.name());
                    deactivate();
                }
                offsets.clear();
                deadLetters.clear();
            } else if (!core.active()) {
                continue;
            } else if (event instanceof Requests requests) {
                for (ConsumerRecord<byte[], byte[]> record : requests.records()) {
                    request(record, deadLetters);
                }
                offsets.putAll(requests.next());
            } else if (event instanceof FromWorkers fromWorkers) {
                fromWorkers.messages().forEach(core::fromWorker);
                deadLetters.addAll(fromWorkers.deadLetters());
            }
        }
        if (!core.active()) {
            return;
        }
        KvCoordinatorCore.Cycle cycle = core.endCycle(System.nanoTime());
        cycle.replies().forEach(this::sendReply);
        commit(cycle.log(), offsets, deadLetters);
        core.committed(System.nanoTime()).forEach(this::sendReply);
    }

    private void activate() {
        if (core.active()) {
            return;
        }
        long started = System.nanoTime();
        producer = new KafkaProducer<>(KvSerdes.transactionalProducer(config.bootstrapServers(), TRANSACTIONAL_ID,
            config.transactionTimeoutMs()));
        producer.initTransactions();
        String txPrefix = config.id() + "-" + System.currentTimeMillis() + "-";
        KvCoordinatorCore.Recovery recovery = core.activate(txPrefix, replayLog(), System.nanoTime());
        LOG.info("{}: replayed {} log entries: {} transactions in doubt aborted, {} recent decisions and {} reads "
            + "answered again.", config.id(), recovery.entries(), recovery.inDoubt(), recovery.recentDecisions(),
            recovery.recentReads());
        LOG.info("{}: active coordinator (recovered in {} ms); pool {}.", config.id(),
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), core.members());
    }

    /** Reads the whole log, as far as it reaches now, for the core to recover from. */
    private KvCoordinatorCore.Replay replayLog() {
        Map<String, Object> props = KafkaClients.consumer(config.bootstrapServers(), null, config.id() + "-recovery",
            config.sessionTimeoutMs());
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10_000);
        TopicPartition log = new TopicPartition(Topics.KV_DECISIONS.name(), 0);
        KvCoordinatorCore.Replay replay = new KvCoordinatorCore.Replay(System.currentTimeMillis()
            - config.replyWindowMs());
        try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(props)) {
            reader.assign(List.of(log));
            reader.seekToBeginning(List.of(log));
            long end = reader.endOffsets(List.of(log)).get(log);
            while (reader.position(log) < end) {
                for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(500))) {
                    KvLogEntry entry;
                    try {
                        entry = readPolicy.read(record, r -> decode(r, serdes.logReader::deserialize));
                    } catch (PoisonRecordException e) {
                        // The workers stop at this entry too (and dead-letter it): the store's state past it is
                        // unknown, so no coordinator may serve from it.
                        throw new KafkaException("the log entry at offset " + record.offset() + " of "
                            + Topics.KV_DECISIONS.name() + " cannot be read (" + e.reason() + "); no coordinator "
                            + "can recover the store past it", e);
                    }
                    replay.apply(entry);
                }
            }
        }
        return replay;
    }

    private void deactivate() {
        core.deactivate();
        if (producer != null) {
            producer.close(Duration.ZERO);
            producer = null;
        }
    }

    /**
     * Hands the request of {@code record} to the core. A poison one goes to {@code deadLetters}: it is written in this
     * cycle's transaction, with the offsets that pass it, so it is neither served nor lost; its client gets no answer
     * and times out. A transient failure past ReadPolicy's bound is thrown: the coordinator stops.
     */
    private void request(ConsumerRecord<byte[], byte[]> record, List<ProducerRecord<byte[], byte[]>> deadLetters) {
        KvRequest request;
        try {
            request = readPolicy.read(record, r -> decode(r, serdes.requestReader::deserialize));
        } catch (PoisonRecordException e) {
            LOG.error("{}: {}; it goes to {}.", config.id(), e.getMessage(), Topics.KV_REQUESTS_DLQ.name());
            deadLetters.add(readPolicy.deadLetter(Topics.KV_REQUESTS_DLQ.name(), e));
            return;
        }
        core.request(request, System.nanoTime());
    }

    /** What a record of a kv topic decodes to; a record without a value is as unreadable as garbage. */
    private static <T> T decode(ConsumerRecord<byte[], byte[]> record, Decoder<T> decoder) {
        T value = decoder.decode(record.topic(), record.headers(), record.value());
        if (value == null) {
            throw new IllegalArgumentException("the record has no value");
        }
        return value;
    }

    /** A deserializer's {@code deserialize(topic, headers, bytes)}. */
    @FunctionalInterface
    private interface Decoder<T> {
        T decode(String topic, Headers headers, byte[] value);
    }

    private void sendReply(KvReply reply) {
        if (reply.getClientId().isEmpty()) {
            return;
        }
        replyProducer.send(new ProducerRecord<>(Topics.KV_REPLIES.name(),
            serdes.keys.serialize(Topics.KV_REPLIES.name(), reply.getClientId()),
            serdes.replies.serialize(Topics.KV_REPLIES.name(), reply)));
    }

    /** One Kafka transaction for everything this cycle wrote; only after its commit is anyone told. */
    private void commit(List<KvCoordinatorCore.Append> log, Map<TopicPartition, OffsetAndMetadata> offsets,
                        List<ProducerRecord<byte[], byte[]>> deadLetters) {
        if (log.isEmpty() && offsets.isEmpty() && deadLetters.isEmpty()) {
            return;
        }
        String topic = Topics.KV_DECISIONS.name();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(log.size() + deadLetters.size());
        for (KvCoordinatorCore.Append append : log) {
            records.add(new ProducerRecord<>(topic, 0, serdes.keys.serialize(topic, append.key()),
                serdes.log.serialize(topic, new KvLogEntry(append.payload(), Instant.now()))));
        }
        records.addAll(deadLetters);
        write(producer, brokerAborts, records, offsets);
        kafkaTransactions.incrementAndGet();
        deadLettered.addAndGet(deadLetters.size());
    }

    /** Requests and worker messages no schema reads, sent to kv.requests.dlq and kv.votes.dlq so far. */
    public long deadLettered() {
        return deadLettered.get();
    }

    /**
     * Writes one cycle's records and request offsets in one transaction. A transaction the broker aborted for its
     * timeout (a stalled coordinator) is written again, the same records and offsets; only an abort the broker refuses
     * as fenced ({@link org.apache.kafka.common.errors.ProducerFencedException}) makes this coordinator a standby.
     */
    static void write(Producer<byte[], byte[]> producer, BrokerAborts brokerAborts,
                      List<ProducerRecord<byte[], byte[]>> records, Map<TopicPartition, OffsetAndMetadata> offsets) {
        brokerAborts.run(producer, () -> {
            producer.beginTransaction();
            records.forEach(producer::send);
            if (!offsets.isEmpty()) {
                // The group id alone, without the member's generation: a standby joining the group bumps the
                // generation, which would fail a commit of the active coordinator for nothing. A zombie is fenced by
                // the transactional id's epoch instead, since every coordinator uses the same one.
                producer.sendOffsetsToTransaction(offsets, new ConsumerGroupMetadata(GROUP));
            }
            producer.commitTransaction();
            return null;
        });
    }

    /** Why the coordinator stopped on its own (a cluster failure), or null; a fenced one becomes a standby. */
    public KafkaException failure() {
        return failure;
    }

    /** Blocks until the serving loop has ended (after {@link #stop()} or a failure). */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    /** How many Kafka transactions carried the client transactions so far. */
    public long kafkaTransactions() {
        return kafkaTransactions.get();
    }

    /**
     * Asks the threads to end (CLOSING, also before {@link #start()}); {@link #run()} returns within a cycle.
     * {@link #close()} still follows.
     */
    public void stop() {
        life.beginClose();
        wakeReaders();
    }

    private void wakeReaders() {
        if (requestConsumer != null) {
            requestConsumer.wakeup();
        }
        if (voteConsumer != null) {
            voteConsumer.wakeup();
        }
    }

    @Override
    public void close() {
        stop();
        if (life.state() == State.CLOSED) {
            return;
        }
        if (requestConsumer != null) {
            try {
                stopped.await(15, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (replyProducer != null) {
            replyProducer.close(Duration.ofSeconds(5));
        }
        if (life.compareAndTransition(State.CLOSING, State.CLOSED)) {
            LOG.info("{}: stopped ({} commits, {} aborts, {} Kafka transactions).", config.id(), core.commits(),
                core.aborts(), kafkaTransactions.get());
        }
    }
}
