package io.distpipe.replicas.server;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import io.distpipe.common.BrokerAborts;
import io.distpipe.common.Errors;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.LifeCycle;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.Service;
import io.distpipe.replicas.Checkpoint;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRequest;
import io.distpipe.replicas.RoleAssignment;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server replica: the Kafka shell around its {@link ReplicaCore}. It reads the roles, checkpoints and request
 * topics, hands each record to the core, and performs what the core decides:
 * <ul>
 * <li>passive PRIMARY: fences any older primary (one fixed transactional id), loads the latest checkpoint, replays
 * the request log after its position and serves: each poll's requests are applied and replied to in one transaction,
 * together with a checkpoint (state and the next offset) every checkpoint interval;</li>
 * <li>passive BACKUP: keeps the latest checkpoint;</li>
 * <li>active READY: applies every request of the single-partition log in order with its own consumer (no group) and
 * replies; sends a checkpoint to a recovering replica when the RM orders it;</li>
 * <li>active RECOVERING: buffers requests from the log's end while it waits for the checkpoint it was promised,
 * loads it, replays everything after its position, then confirms READY on the roles topic.</li>
 * </ul>
 * It prints its state before and after each request and every checkpoint sent or received.
 */
public final class Replica implements Service {

    /** Transactional id of whichever replica is the passive primary: a new primary fences the old one. */
    public static final String PRIMARY_TRANSACTIONAL_ID = "replicas-primary";

    private static final Logger LOG = LoggerFactory.getLogger(Replica.class);
    private static final Duration POLL = Duration.ofMillis(20);
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(3);

    /**
     * @param checkpointInterval passive primary: how often to publish a checkpoint
     * @param pauseInCheckpoint  fault tests only: how long to stall inside a checkpoint's transaction (zero: never)
     */
    public record Config(String id, Mode mode, String bootstrapServers, Duration checkpointInterval,
                         Duration pauseInCheckpoint) {

        public static final String CHECKPOINT_INTERVAL_KEY = "checkpoint-interval";
        public static final Duration CHECKPOINT_INTERVAL_DEFAULT = Duration.ofSeconds(10);

        public Config {
            if (id == null || !id.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("A replica id is letters, digits, '.', '_' or '-': " + id);
            }
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(bootstrapServers, "bootstrapServers");
            if (checkpointInterval == null || checkpointInterval.toMillis() < 1) {
                throw new IllegalArgumentException(CHECKPOINT_INTERVAL_KEY + " must be at least 1 ms: "
                    + checkpointInterval);
            }
            pauseInCheckpoint = pauseInCheckpoint == null ? Duration.ZERO : pauseInCheckpoint;
        }
    }

    private final Config cfg;
    private final Consumer<String> out;
    private final LifeCycle life;
    private final KafkaConsumer<byte[], byte[]> consumer;
    /** Reads the checkpoints topic only when promoted; kept connected so a failover does not wait for a new one. */
    private final KafkaConsumer<byte[], byte[]> checkpointReader;
    private Checkpoint latestPrimaryCheckpoint;
    private final Producer<byte[], byte[]> plainProducer;
    private final TopicPartition requestsTp = new TopicPartition(Topics.REPLICAS_REQUESTS.name(), 0);
    private final TopicPartition rolesTp = new TopicPartition(Topics.REPLICAS_ROLES.name(), 0);
    private final TopicPartition checkpointsTp = new TopicPartition(Topics.REPLICAS_CHECKPOINTS.name(), 0);
    private final Deserializer<String> keyDe;
    private final Deserializer<ReplicaRequest> requestDe;
    private final Deserializer<RoleAssignment> roleDe;
    private final Deserializer<Checkpoint> checkpointDe;
    private final Serializer<String> keySer;
    private final Serializer<ReplicaReply> replySer;
    private final Serializer<Checkpoint> checkpointSer;
    private final Serializer<RoleAssignment> roleSer;

    private final ReadPolicy readPolicy;
    private final BrokerAborts brokerAborts;
    /** Unreadable requests read but not yet handled by the core (a recovering replica buffers them). */
    private final Map<Long, ReadPolicy.PoisonRecordException> unreadable = new HashMap<>();
    private final AtomicLong deadLettered = new AtomicLong();

    private ReplicaCore core;
    /** Set when the request log was sought: what the current poll fetched from it is from the old position. */
    private boolean seeked;
    private Producer<byte[], byte[]> txProducer;
    private boolean inTransaction;

    public Replica(Config cfg, AvroSerdes serdes, Consumer<String> out) {
        this.cfg = cfg;
        this.out = out;
        this.life = new LifeCycle(cfg.id());
        this.consumer = new KafkaConsumer<>(KafkaClients.consumer(cfg.bootstrapServers(), null, cfg.id() + "-replica",
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        this.checkpointReader = new KafkaConsumer<>(KafkaClients.consumer(cfg.bootstrapServers(), null,
            cfg.id() + "-checkpoints", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        Map<String, Object> producerProps = KafkaClients.producer(cfg.bootstrapServers(), cfg.id() + "-replies");
        producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        this.plainProducer = new KafkaProducer<>(producerProps);
        this.keyDe = serdes.keySerde(Topics.REPLICAS_REPLIES).deserializer();
        this.requestDe = serdes.valueSerde(Topics.REPLICAS_REQUESTS).deserializer();
        this.roleDe = serdes.valueSerde(Topics.REPLICAS_ROLES).deserializer();
        this.checkpointDe = serdes.valueSerde(Topics.REPLICAS_CHECKPOINTS).deserializer();
        this.keySer = serdes.keySerde(Topics.REPLICAS_REPLIES).serializer();
        this.replySer = serdes.valueSerde(Topics.REPLICAS_REPLIES).serializer();
        this.checkpointSer = serdes.valueSerde(Topics.REPLICAS_CHECKPOINTS).serializer();
        this.roleSer = serdes.valueSerde(Topics.REPLICAS_ROLES).serializer();
        this.readPolicy = ReadPolicy.of(cfg.id());
        this.brokerAborts = new BrokerAborts(cfg.id());
    }

    @Override
    public String id() {
        return cfg.id();
    }

    @Override
    public State state() {
        return life.state();
    }

    /** The state this replica holds now (for tests on the same thread, or after {@link #run} returned). */
    ReplicaState currentState() {
        return core == null ? null : core.state();
    }

    /**
     * Notes the newest role epoch already on the roles topic (assignments up to it are for an older incarnation of
     * this id), and subscribes. Call before this replica's heartbeats start, so its own assignments come after.
     */
    @Override
    public void start() {
        life.transition(State.STARTING);
        long startEpoch = readTopic(rolesTp, roleDe).values().stream().filter(Objects::nonNull)
            .mapToLong(RoleAssignment::getEpoch).max().orElse(0);
        core = new ReplicaCore(cfg.id(), cfg.mode(), cfg.checkpointInterval(), startEpoch,
            Topics.REPLICAS_REQUESTS.name());
        checkpointReader.assign(List.of(checkpointsTp));
        checkpointReader.seekToBeginning(List.of(checkpointsTp));
        if (cfg.mode() == Mode.PASSIVE) {
            latestPrimaryCheckpoint = catchUpCheckpoints();
        }
        consumer.assign(List.of(rolesTp, checkpointsTp, requestsTp));
        consumer.seekToBeginning(List.of(rolesTp, checkpointsTp));
        consumer.pause(List.of(requestsTp));
        life.transition(State.RUNNING);
        say("%s: started in %s mode; waiting for a role from the replica manager (assignments after epoch %d).",
            cfg.id(), cfg.mode().label(), startEpoch);
    }

    /** The poll loop, until {@link #close} (or a fatal error). */
    public void run() {
        try {
            while (life.state() == State.RUNNING) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
                try {
                    handle(records);
                    perform(core.onTick(System.nanoTime(), Instant.now()));
                } catch (WakeupException | ReadPolicy.GaveUpException e) {
                    throw e;
                } catch (KafkaException e) {
                    if (txProducer == null && !KafkaClients.fenced(e)) {
                        throw e;
                    }
                    if (afterTransactionFailure(txProducer, brokerAborts, e) == AfterFailure.FENCED) {
                        perform(core.onFenced(e.toString()));
                        continue;
                    }
                    // The transaction is lost, its replies and checkpoint with it: start again from the checkpoint.
                    LOG.warn("{}: transaction failed ({}); reloading the last checkpoint and replaying.", cfg.id(),
                        e.toString());
                    try {
                        perform(core.onTransactionFailed());
                    } catch (KafkaException again) {
                        if (!KafkaClients.fenced(again)) {
                            throw again;
                        }
                        perform(core.onFenced(again.toString()));
                    }
                }
            }
        } catch (WakeupException e) {
            if (life.compareAndTransition(State.RUNNING, State.FAILED)) {
                throw e;
            }
        } catch (RuntimeException | Error e) {
            life.compareAndTransition(State.RUNNING, State.FAILED);
            throw e;
        } finally {
            closeClients();
        }
    }

    /** What a primary does after its transaction failed: step down as fenced, or replay from its checkpoint. */
    enum AfterFailure { FENCED, REPLAY }

    /**
     * Decides after the primary's transaction failed with {@code e}. The broker's old-epoch answer comes both after it
     * aborted the transaction for its timeout (a stalled primary) and after a newer primary fenced this one: the
     * transaction is aborted to tell which ({@link BrokerAborts}). A replay after a broker abort is bounded; past the
     * bound a {@link KafkaException} stops the replica loudly. A refused abort, or a fencing, means step down: taking
     * over again would initialize the transactional id and fence the newer primary in turn.
     */
    static AfterFailure afterTransactionFailure(Producer<?, ?> txProducer, BrokerAborts brokerAborts,
                                                KafkaException e) {
        if (KafkaClients.fenced(e)) {
            return AfterFailure.FENCED;
        }
        try {
            brokerAborts.abortedByBroker(txProducer, e);
        } catch (ProducerFencedException fenced) {
            return AfterFailure.FENCED;
        }
        return AfterFailure.REPLAY;
    }

    private void handle(ConsumerRecords<byte[], byte[]> records) {
        seeked = false;
        for (ConsumerRecord<byte[], byte[]> r : records.records(rolesTp)) {
            perform(core.onAssignment(r.value() == null ? null : roleDe.deserialize(r.topic(), r.headers(), r.value()),
                Instant.now()));
        }
        for (ConsumerRecord<byte[], byte[]> r : records.records(checkpointsTp)) {
            if (r.key() != null && r.value() != null) {
                perform(core.onCheckpoint(keyDe.deserialize(r.topic(), r.headers(), r.key()),
                    checkpointDe.deserialize(r.topic(), r.headers(), r.value())));
            }
        }
        // After a seek, what this poll fetched from the request log is from the old position.
        for (ConsumerRecord<byte[], byte[]> r : records.records(requestsTp)) {
            if (seeked) {
                break;
            }
            ReplicaRequest request;
            try {
                request = readPolicy.read(r, this::decodeRequest);
            } catch (ReadPolicy.PoisonRecordException e) {
                unreadable.put(r.offset(), e);
                perform(core.onUnreadableRequest(r.offset(), e.reason()));
                continue;
            }
            perform(core.onRequest(r.offset(), request, Instant.now()));
        }
    }

    private ReplicaRequest decodeRequest(ConsumerRecord<byte[], byte[]> r) {
        ReplicaRequest request = requestDe.deserialize(r.topic(), r.headers(), r.value());
        if (request == null) {
            throw new IllegalArgumentException("the record has no value");
        }
        return request;
    }

    /**
     * Sends the unreadable request at {@code offset} to the dead-letter topic and waits for it, then fails: the
     * replica stops (FAILED) and {@link #run} throws, so its command exits non-zero.
     */
    private void stopUnreadable(ReplicaCore.StopUnreadable stop) {
        ReadPolicy.PoisonRecordException poison = unreadable.get(stop.offset());
        if (poison != null) {
            try {
                plainProducer.send(readPolicy.deadLetter(Topics.REPLICAS_REQUESTS_DLQ.name(), poison))
                    .get(READ_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                LOG.error("{}: could not dead-letter the request at offset {}: {}", cfg.id(), stop.offset(),
                    Errors.reason(e));
            }
        }
        deadLettered.incrementAndGet();
        LOG.error(stop.line());
        out.accept(stop.line());
        throw new UnreadableLogException(stop.line(), poison);
    }

    /** How many unreadable requests this replica dead-lettered (at most one: it stops at the first). */
    public long deadLettered() {
        return deadLettered.get();
    }

    /** Thrown when the replica stops at a request it cannot read. */
    public static final class UnreadableLogException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        UnreadableLogException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Does what the core decided, in order; a decision that asks for an answer gets it before the next one. */
    private void perform(List<ReplicaCore.Decision> decisions) {
        for (ReplicaCore.Decision d : decisions) {
            if (d instanceof ReplicaCore.Say s) {
                print(s.line());
            } else if (d instanceof ReplicaCore.Warn w) {
                LOG.warn(w.line());
            } else if (d instanceof ReplicaCore.Reply r) {
                send(r.transactional(), Topics.REPLICAS_REPLIES, r.reply().getClient(), replySer, r.reply());
            } else if (d instanceof ReplicaCore.WriteCheckpoint c) {
                send(c.transactional(), Topics.REPLICAS_CHECKPOINTS, c.key(), checkpointSer, c.checkpoint());
                if (c.transactional() && !cfg.pauseInCheckpoint().isZero()) {
                    say("CHECKPOINT-PENDING %s #%d", cfg.id(), c.checkpoint().getCheckpointNum());
                    sleep(cfg.pauseInCheckpoint());
                }
            } else if (d instanceof ReplicaCore.WriteRole w) {
                send(false, Topics.REPLICAS_ROLES, w.assignment().getMember(), roleSer, w.assignment());
            } else if (d instanceof ReplicaCore.Flush) {
                plainProducer.flush();
            } else if (d instanceof ReplicaCore.Commit) {
                txProducer.commitTransaction();
                inTransaction = false;
                brokerAborts.committed();
                perform(core.onCommitted(System.nanoTime()));
            } else if (d instanceof ReplicaCore.TakeOver) {
                takeOver();
            } else if (d instanceof ReplicaCore.Replay r) {
                long end = consumer.endOffsets(List.of(requestsTp)).get(requestsTp);
                consumer.seek(requestsTp, r.from());
                consumer.resume(List.of(requestsTp));
                seeked = true;
                perform(core.onLogEnd(end, Instant.now()));
            } else if (d instanceof ReplicaCore.FollowFromEnd) {
                consumer.seekToEnd(List.of(requestsTp));
                consumer.position(requestsTp);
                consumer.resume(List.of(requestsTp));
                seeked = true;
            } else if (d instanceof ReplicaCore.ReadPosition) {
                perform(core.onPosition(consumer.position(requestsTp), Instant.now()));
            } else if (d instanceof ReplicaCore.StopUnreadable stop) {
                stopUnreadable(stop);
            } else if (d instanceof ReplicaCore.StopWriting) {
                closeTxProducer();
                consumer.pause(List.of(requestsTp));
            } else {
                throw new IllegalStateException("unknown decision " + d);
            }
        }
    }

    private void takeOver() {
        closeTxProducer();
        Map<String, Object> props = KafkaClients.transactionalProducer(cfg.bootstrapServers(),
            PRIMARY_TRANSACTIONAL_ID, KafkaClients.TRANSACTION_TIMEOUT_MS_DEFAULT);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, cfg.id() + "-primary");
        props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        long t0 = System.nanoTime();
        txProducer = new KafkaProducer<>(props);
        // Fences the previous primary and aborts its open transaction, so the checkpoint read next is the last one.
        txProducer.initTransactions();
        long fenced = System.nanoTime();
        latestPrimaryCheckpoint = catchUpCheckpoints();
        perform(core.onTakenOver(latestPrimaryCheckpoint, t0, fenced, System.nanoTime()));
    }

    private <V> void send(boolean transactional, TopicSpec<String, V> topic, String key, Serializer<V> serializer,
                          V value) {
        Producer<byte[], byte[]> producer = plainProducer;
        if (transactional) {
            if (!inTransaction) {
                txProducer.beginTransaction();
                inTransaction = true;
            }
            producer = txProducer;
        }
        String name = topic.name();
        producer.send(new ProducerRecord<>(name, keySer.serialize(name, key), serializer.serialize(name, value)));
    }

    /** Every key's latest value on a one-partition topic, read to its end. */
    private <V> Map<String, V> readTopic(TopicPartition tp, Deserializer<V> deserializer) {
        Map<String, V> latest = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(KafkaClients.consumer(cfg.bootstrapServers(),
            null, cfg.id() + "-reader", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            reader.assign(List.of(tp));
            reader.seekToBeginning(List.of(tp));
            long end = reader.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
            while (reader.position(tp) < end) {
                if (System.nanoTime() > deadline) {
                    throw new KafkaException(cfg.id() + ": could not read " + tp + " to its end within "
                        + READ_TIMEOUT.toSeconds() + " s");
                }
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(100))) {
                    if (r.key() != null) {
                        latest.put(keyDe.deserialize(r.topic(), r.headers(), r.key()), r.value() == null ? null
                            : deserializer.deserialize(r.topic(), r.headers(), r.value()));
                    }
                }
            }
        }
        return latest;
    }

    /** Reads the checkpoints topic on from where the last call stopped to its end; the latest primary checkpoint. */
    private Checkpoint catchUpCheckpoints() {
        Checkpoint latest = latestPrimaryCheckpoint;
        long end = checkpointReader.endOffsets(List.of(checkpointsTp)).get(checkpointsTp);
        long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
        while (checkpointReader.position(checkpointsTp) < end) {
            if (System.nanoTime() > deadline) {
                throw new KafkaException(cfg.id() + ": could not read the checkpoints to their end within "
                    + READ_TIMEOUT.toSeconds() + " s");
            }
            for (ConsumerRecord<byte[], byte[]> r : checkpointReader.poll(Duration.ofMillis(20))) {
                if (r.key() != null && r.value() != null
                    && ReplicaCore.PRIMARY_CHECKPOINT.equals(keyDe.deserialize(r.topic(), r.headers(), r.key()))) {
                    latest = checkpointDe.deserialize(r.topic(), r.headers(), r.value());
                }
            }
        }
        return latest;
    }

    private void say(String format, Object... args) {
        print(String.format(format, args));
    }

    private void print(String line) {
        LOG.info(line);
        out.accept(line);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void closeTxProducer() {
        if (txProducer != null) {
            txProducer.close(Duration.ZERO);
            txProducer = null;
            inTransaction = false;
        }
    }

    private void closeClients() {
        closeTxProducer();
        // Bounded: a replica stopped after the cluster is gone must not wait 30 s per client.
        plainProducer.close(CLOSE_TIMEOUT);
        consumer.close(CloseOptions.timeout(CLOSE_TIMEOUT));
        checkpointReader.close(CloseOptions.timeout(CLOSE_TIMEOUT));
        life.transition(State.CLOSED);
    }

    /** Stops the loop; {@link #run} closes the clients on its way out. */
    @Override
    public void close() {
        if (life.beginClose()) {
            consumer.wakeup();
        }
    }
}
