package io.distpipe.replicas.server;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.LifeCycle;
import io.distpipe.common.Service;
import io.distpipe.replicas.Checkpoint;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRequest;
import io.distpipe.replicas.ReplicaRole;
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
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server replica. It reads the roles topic for its role, and then:
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

    /** Checkpoint key of the passive primary. */
    public static final String PRIMARY_CHECKPOINT = "primary";
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

    /** Where this replica is in its role. */
    enum Phase { WAITING, BACKUP, RECOVERING, REPLAYING, SERVING }

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
    private final Deserializer<ReplicaRequest> requestDe;
    private final Deserializer<RoleAssignment> roleDe;
    private final Deserializer<Checkpoint> checkpointDe;
    private final Serializer<String> keySer;
    private final Serializer<ReplicaReply> replySer;
    private final Serializer<Checkpoint> checkpointSer;
    private final Serializer<RoleAssignment> roleSer;

    private final Deserializer<String> keyDe;
    private volatile boolean running = true;
    private boolean seeked;
    private long startEpoch = -1;
    private long roleEpoch = -1;
    private ReplicaRole role;
    private Phase phase = Phase.WAITING;
    private ReplicaState state;
    private long replayEnd;
    private long checkpointNum;
    private long lastCheckpointPosition = -1;
    private long lastCheckpointNanos = System.nanoTime();
    private long awaitedTransferEpoch;
    private final List<ConsumerRecord<byte[], byte[]>> buffer = new ArrayList<>();
    private final Map<String, Long> pendingTransfers = new LinkedHashMap<>();
    private final Map<String, Long> transfersSent = new HashMap<>();
    private Producer<byte[], byte[]> txProducer;
    private boolean inTransaction;
    private long requestsSeen;

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
        return state;
    }

    /**
     * Notes the newest role epoch already on the roles topic (assignments up to it are for an older incarnation of
     * this id), and subscribes. Call before this replica's heartbeats start, so its own assignments come after.
     */
    @Override
    public void start() {
        life.transition(State.STARTING);
        startEpoch = readTopic(rolesTp, roleDe).values().stream().filter(Objects::nonNull)
            .mapToLong(RoleAssignment::getEpoch).max().orElse(0);
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
            while (running) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
                try {
                    handle(records);
                    afterBatch();
                } catch (WakeupException e) {
                    throw e;
                } catch (KafkaException e) {
                    if (KafkaClients.fenced(e)) {
                        stepDown("fenced by a newer primary (" + e + ")");
                        continue;
                    }
                    if (txProducer == null) {
                        throw e;
                    }
                    // The transaction is lost, its replies and checkpoint with it: start again from the checkpoint.
                    LOG.warn("{}: transaction failed ({}); reloading the last checkpoint and replaying.", cfg.id(),
                        e.toString());
                    try {
                        promote();
                    } catch (KafkaException again) {
                        if (!KafkaClients.fenced(again)) {
                            throw again;
                        }
                        stepDown("fenced by a newer primary (" + again + ")");
                    }
                }
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } finally {
            closeClients();
        }
    }

    private void handle(ConsumerRecords<byte[], byte[]> records) {
        seeked = false;
        for (ConsumerRecord<byte[], byte[]> r : records.records(rolesTp)) {
            onRole(r.value() == null ? null : roleDe.deserialize(r.topic(), r.headers(), r.value()));
        }
        for (ConsumerRecord<byte[], byte[]> r : records.records(checkpointsTp)) {
            if (r.key() != null && r.value() != null) {
                onCheckpoint(keyDe.deserialize(r.topic(), r.headers(), r.key()),
                    checkpointDe.deserialize(r.topic(), r.headers(), r.value()));
            }
        }
        // After a seek, what this poll fetched from the request log is from the old position.
        for (ConsumerRecord<byte[], byte[]> r : records.records(requestsTp)) {
            if (seeked) {
                break;
            }
            onRequest(r);
        }
    }

    // ---- roles

    private void onRole(RoleAssignment a) {
        if (a == null || a.getEpoch() <= startEpoch || !ReplicaManagerTopology.RM.equals(a.getAssignedBy())) {
            return;
        }
        if (!a.getMember().equals(cfg.id())) {
            if (a.getRole() == ReplicaRole.RECOVERING && cfg.id().equals(a.getTransferFrom())
                && transfersSent.getOrDefault(a.getMember(), -1L) < a.getEpoch()) {
                pendingTransfers.put(a.getMember(), a.getEpoch());
            }
            return;
        }
        if (a.getEpoch() < roleEpoch || (a.getEpoch() == roleEpoch && a.getRole() == role)) {
            return;
        }
        ReplicaRole previous = role;
        role = a.getRole();
        roleEpoch = a.getEpoch();
        say("%s: role %s at epoch %d (members %s%s).", cfg.id(), role, roleEpoch, a.getMembers(),
            a.getPrimary() == null ? "" : ", primary " + a.getPrimary());
        switch (role) {
            case PRIMARY -> promote();
            case BACKUP -> {
                if (previous == ReplicaRole.PRIMARY) {
                    stepDown("the replica manager made " + cfg.id() + " a backup");
                }
                phase = Phase.BACKUP;
            }
            case READY -> {
                if (phase != Phase.SERVING && phase != Phase.REPLAYING) {
                    // Nobody to transfer from: the request log from its start is the state.
                    state = ReplicaState.initial();
                    startReplay(0, "no replica to transfer state from; replaying the request log from its start");
                }
            }
            case RECOVERING -> {
                if (phase == Phase.SERVING) {
                    confirmReady();
                } else {
                    phase = Phase.RECOVERING;
                    awaitedTransferEpoch = roleEpoch;
                    buffer.clear();
                    consumer.seekToEnd(List.of(requestsTp));
                    consumer.position(requestsTp);
                    consumer.resume(List.of(requestsTp));
                    seeked = true;
                    say("%s: recovering: waiting for a checkpoint from %s, buffering requests meanwhile.", cfg.id(),
                        a.getTransferFrom());
                }
            }
            default -> throw new IllegalStateException("unknown role " + role);
        }
    }

    private void promote() {
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
        Checkpoint latest = latestPrimaryCheckpoint;
        state = latest == null ? ReplicaState.initial() : ReplicaState.fromCheckpoint(latest);
        checkpointNum = latest == null ? 0 : latest.getCheckpointNum();
        lastCheckpointPosition = state.position();
        lastCheckpointNanos = System.nanoTime();
        say("%s: promoted to primary at epoch %d in %d ms (fencing the old primary %d ms); %s.", cfg.id(), roleEpoch,
            (System.nanoTime() - t0) / 1_000_000, (fenced - t0) / 1_000_000, latest == null
            ? "no checkpoint yet, starting from the empty state"
            : "loaded checkpoint #" + latest.getCheckpointNum() + " of " + latest.getReplicaId() + ": " + state);
        startReplay(state.position(), "replaying the requests after the checkpoint");
    }

    private void startReplay(long from, String why) {
        replayEnd = consumer.endOffsets(List.of(requestsTp)).get(requestsTp);
        consumer.seek(requestsTp, from);
        consumer.resume(List.of(requestsTp));
        seeked = true;
        phase = from >= replayEnd ? Phase.SERVING : Phase.REPLAYING;
        say("%s: %s: offsets %d..%d (%d requests).", cfg.id(), why, from, replayEnd, Math.max(0, replayEnd - from));
        if (phase == Phase.SERVING) {
            serving();
        }
    }

    private void serving() {
        say("%s: serving as %s with %s.", cfg.id(), role, state);
        if (role == ReplicaRole.RECOVERING) {
            confirmReady();
        }
    }

    private void confirmReady() {
        RoleAssignment mine = RoleAssignment.newBuilder().setMember(cfg.id()).setRole(ReplicaRole.READY)
            .setEpoch(roleEpoch).setMode(cfg.mode().label()).setTransferFrom(null).setPrimary(null)
            .setMembers(List.of()).setAssignedBy(cfg.id()).setAt(Instant.now()).build();
        send(plainProducer, Topics.REPLICAS_ROLES, cfg.id(), roleSer, mine);
        plainProducer.flush();
        role = ReplicaRole.READY;
        say("%s: recovered; confirmed READY at epoch %d.", cfg.id(), roleEpoch);
    }

    private void stepDown(String why) {
        say("%s: stops serving as primary: %s.", cfg.id(), why);
        closeTxProducer();
        consumer.pause(List.of(requestsTp));
        phase = Phase.BACKUP;
        role = ReplicaRole.BACKUP;
    }

    // ---- checkpoints

    private void onCheckpoint(String key, Checkpoint cp) {
        if (cfg.mode() == Mode.PASSIVE && PRIMARY_CHECKPOINT.equals(key) && phase != Phase.SERVING
            && phase != Phase.REPLAYING) {
            state = ReplicaState.fromCheckpoint(cp);
            say("%s: checkpoint #%d received from %s: %s.", cfg.id(), cp.getCheckpointNum(), cp.getReplicaId(),
                state);
        } else if (cfg.mode() == Mode.ACTIVE && key.equals(transferKey(cfg.id())) && phase == Phase.RECOVERING
            && cp.getEpoch() >= awaitedTransferEpoch) {
            state = ReplicaState.fromCheckpoint(cp);
            say("%s: checkpoint #%d received from %s: %s.", cfg.id(), cp.getCheckpointNum(), cp.getReplicaId(),
                state);
            long from = state.position();
            buffer.removeIf(r -> r.offset() < from);
            boolean contiguous = !buffer.isEmpty() && buffer.get(0).offset() == from;
            if (contiguous) {
                replayEnd = consumer.position(requestsTp);
                phase = Phase.REPLAYING;
                say("%s: replaying %d buffered requests after offset %d.", cfg.id(), buffer.size(), from);
                List<ConsumerRecord<byte[], byte[]>> replay = new ArrayList<>(buffer);
                buffer.clear();
                replay.forEach(this::onRequest);
                if (phase == Phase.REPLAYING && state.position() >= replayEnd) {
                    phase = Phase.SERVING;
                    serving();
                }
            } else {
                int buffered = buffer.size();
                buffer.clear();
                startReplay(from, "checkpoint is older than the " + buffered
                    + " buffered requests; replaying the request log after it");
            }
        }
    }

    static String transferKey(String target) {
        return "transfer-" + target;
    }

    // ---- requests

    private void onRequest(ConsumerRecord<byte[], byte[]> r) {
        requestsSeen++;
        if (phase == Phase.RECOVERING) {
            buffer.add(r);
            return;
        }
        if (phase != Phase.SERVING && phase != Phase.REPLAYING) {
            return;
        }
        ReplicaRequest request;
        try {
            request = requestDe.deserialize(r.topic(), r.headers(), r.value());
        } catch (RuntimeException e) {
            LOG.warn("{}: skipped unreadable request at offset {}: {}", cfg.id(), r.offset(), e.toString());
            state.skip(r.offset());
            return;
        }
        ReplicaState.Outcome outcome = state.apply(r.offset(), request);
        say("%s: %s#%d at offset %d: state %s -> %s (%s)", cfg.id(), request.getClient(), request.getRequestNum(),
            r.offset(), outcome.before(), outcome.after(), outcome.applied() ? "applied, " + state.applied()
                + " in all" : "already applied, not applied again");
        boolean reply = cfg.mode() == Mode.PASSIVE || phase == Phase.SERVING;
        if (reply) {
            ReplicaReply answer = state.reply(cfg.id(), request, r.offset(), !outcome.applied(), Instant.now());
            if (cfg.mode() == Mode.PASSIVE) {
                beginIfNeeded();
                send(txProducer, Topics.REPLICAS_REPLIES, request.getClient(), replySer, answer);
            } else {
                send(plainProducer, Topics.REPLICAS_REPLIES, request.getClient(), replySer, answer);
            }
        }
        if (phase == Phase.REPLAYING && state.position() >= replayEnd) {
            phase = Phase.SERVING;
            serving();
        }
    }

    private void afterBatch() {
        if (cfg.mode() == Mode.PASSIVE && txProducer != null
            && (phase == Phase.SERVING || phase == Phase.REPLAYING)) {
            boolean due = System.nanoTime() - lastCheckpointNanos >= cfg.checkpointInterval().toNanos()
                && state.position() != lastCheckpointPosition;
            if (due) {
                beginIfNeeded();
                Checkpoint cp = state.toCheckpoint(cfg.id(), roleEpoch, ++checkpointNum,
                    Topics.REPLICAS_REQUESTS.name(), Instant.now());
                send(txProducer, Topics.REPLICAS_CHECKPOINTS, PRIMARY_CHECKPOINT, checkpointSer, cp);
                if (!cfg.pauseInCheckpoint().isZero()) {
                    say("CHECKPOINT-PENDING %s #%d", cfg.id(), cp.getCheckpointNum());
                    sleep(cfg.pauseInCheckpoint());
                }
            }
            if (inTransaction) {
                txProducer.commitTransaction();
                inTransaction = false;
            }
            if (due) {
                lastCheckpointPosition = state.position();
                lastCheckpointNanos = System.nanoTime();
                say("%s: checkpoint #%d sent: %s.", cfg.id(), checkpointNum, state);
            }
        }
        if (cfg.mode() == Mode.ACTIVE && phase == Phase.SERVING && !pendingTransfers.isEmpty()) {
            for (Map.Entry<String, Long> t : pendingTransfers.entrySet()) {
                Checkpoint cp = state.toCheckpoint(cfg.id(), t.getValue(), ++checkpointNum,
                    Topics.REPLICAS_REQUESTS.name(), Instant.now());
                send(plainProducer, Topics.REPLICAS_CHECKPOINTS, transferKey(t.getKey()), checkpointSer, cp);
                transfersSent.put(t.getKey(), t.getValue());
                say("%s: checkpoint #%d sent to %s: %s.", cfg.id(), checkpointNum, t.getKey(), state);
            }
            pendingTransfers.clear();
            plainProducer.flush();
        }
    }

    private void beginIfNeeded() {
        if (!inTransaction) {
            txProducer.beginTransaction();
            inTransaction = true;
        }
    }

    private <V> void send(Producer<byte[], byte[]> producer, TopicSpec<String, V> topic, String key,
                          Serializer<V> serializer, V value) {
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
                    && PRIMARY_CHECKPOINT.equals(keyDe.deserialize(r.topic(), r.headers(), r.key()))) {
                    latest = checkpointDe.deserialize(r.topic(), r.headers(), r.value());
                }
            }
        }
        return latest;
    }

    private void say(String format, Object... args) {
        String line = String.format(format, args);
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
            running = false;
            consumer.wakeup();
        }
    }
}
