package io.distpipe.kv.store;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.LifeCycle;
import io.distpipe.common.Service;
import io.distpipe.kv.Ack;
import io.distpipe.kv.Decision;
import io.distpipe.kv.JoinRequest;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvOp;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvRequest;
import io.distpipe.kv.Outcome;
import io.distpipe.kv.PoolChange;
import io.distpipe.kv.PoolChangeType;
import io.distpipe.kv.ReadKind;
import io.distpipe.kv.ReadRequest;
import io.distpipe.kv.ReadResult;
import io.distpipe.kv.Vote;
import io.distpipe.kv.VoteRequest;
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
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator of the key-value store. All coordinators join one consumer group on kv.requests (one partition):
 * the owner of the partition is the active one, the others are standbys. On becoming active it opens the
 * transactional producer {@code kv-coordinator} (which fences the previous owner and aborts its open Kafka
 * transaction), replays the log and aborts every transaction still in doubt (presumed abort).
 *
 * <p>One thread owns the state and the producer. Each cycle it takes everything the request and vote readers
 * queued, and writes all new vote requests, decisions, reads and pool changes, with the request offsets, in one
 * Kafka transaction: many client transactions share one Kafka commit, which is what makes the throughput.
 */
public final class KvCoordinator implements Service, Runnable {

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

    private sealed interface Event permits Requests, Assigned, Revoked, FromWorkers {
    }

    private record Requests(List<ConsumerRecord<byte[], byte[]>> records,
                            Map<TopicPartition, OffsetAndMetadata> next) implements Event {
    }

    private record Assigned() implements Event {
    }

    private record Revoked() implements Event {
    }

    private record FromWorkers(List<WorkerMessage> messages) implements Event {
    }

    private enum Phase { VOTING, DECIDED_COMMIT, DECIDED_ABORT, AWAITING_ACKS }

    /** A client transaction in flight. */
    private static final class Tx {
        final String txId;
        final String requestId;
        final String clientId;
        final Set<String> participants;
        final Set<String> yes = new HashSet<>();
        final Set<String> acked = new HashSet<>();
        Phase phase = Phase.VOTING;
        long deadlineNs;
        String reason;

        Tx(String txId, String requestId, String clientId, Collection<String> participants, long deadlineNs) {
            this.txId = txId;
            this.requestId = requestId;
            this.clientId = clientId;
            this.participants = new TreeSet<>(participants);
            this.deadlineNs = deadlineNs;
        }
    }

    /** A read in flight. */
    private static final class Read {
        final ReadRequest request;
        final Map<String, ReadResult> results = new LinkedHashMap<>();
        final long deadlineNs;
        boolean written;
        /** Replies to send once this read (a SYNC) is answered: recovered commits. */
        final List<KvReply> gated = new ArrayList<>();

        Read(ReadRequest request, long deadlineNs) {
            this.request = request;
            this.deadlineNs = deadlineNs;
        }
    }

    /** What one cycle writes in its Kafka transaction, and what it does after the commit. */
    private final class Cycle {
        final List<ProducerRecord<byte[], byte[]>> log = new ArrayList<>();
        final Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        final List<KvReply> replies = new ArrayList<>();
        final List<Tx> decided = new ArrayList<>();
        final List<Read> reads = new ArrayList<>();

        void append(String key, Object payload) {
            KvLogEntry entry = new KvLogEntry(payload, Instant.now());
            log.add(new ProducerRecord<>(Topics.KV_DECISIONS.name(), 0,
                serdes.keys.serialize(Topics.KV_DECISIONS.name(), key),
                serdes.log.serialize(Topics.KV_DECISIONS.name(), entry)));
        }
    }

    private final Config config;
    private final KvSerdes serdes;
    private final LifeCycle life;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final CountDownLatch stopped = new CountDownLatch(3);
    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong aborts = new AtomicLong();
    private final AtomicLong kafkaTransactions = new AtomicLong();
    private volatile boolean running = true;
    private volatile boolean active;
    /** Set by the serving thread after being fenced: the request reader leaves the group and joins it again. */
    private volatile boolean rejoin;
    private volatile KafkaException failure;
    private KafkaConsumer<byte[], byte[]> requestConsumer;
    private KafkaConsumer<byte[], byte[]> voteConsumer;
    private KafkaProducer<byte[], byte[]> producer;
    private KafkaProducer<byte[], byte[]> replyProducer;
    private final Set<String> members = new TreeSet<>();
    private final Map<String, Tx> txs = new HashMap<>();
    private final Map<String, Read> reads = new HashMap<>();
    private String txPrefix;
    private long sequence;

    public KvCoordinator(Config config, KvSerdes serdes) {
        this.config = config;
        this.serdes = serdes;
        this.life = new LifeCycle("kv coordinator " + config.id());
    }

    @Override
    public String id() {
        return config.id();
    }

    @Override
    public State state() {
        return life.state();
    }

    /** Whether this coordinator owns kv.requests and serves. */
    public boolean active() {
        return active;
    }

    public long commits() {
        return commits.get();
    }

    public long aborts() {
        return aborts.get();
    }

    /** Starts the two readers; {@link #run()} then serves on the calling thread. */
    @Override
    public void start() {
        life.transition(State.STARTING);
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
        life.transition(State.RUNNING);
        LOG.info("{}: started as a standby; the owner of {} is the active coordinator.", config.id(),
            Topics.KV_REQUESTS.name());
    }

    private static Thread daemon(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        return thread;
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
            while (running) {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = requestConsumer.poll(Duration.ofMillis(200));
                } catch (WakeupException e) {
                    if (!running || !rejoin) {
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
            if (running) {
                LOG.error("{}: request reader woken unexpectedly.", config.id(), e);
            }
        } catch (RuntimeException e) {
            LOG.error("{}: request reader failed: {}", config.id(), e.getMessage(), e);
        } finally {
            requestConsumer.close(Duration.ofSeconds(5));
            stopped.countDown();
        }
    }

    private void readVotes() {
        try {
            while (running) {
                ConsumerRecords<byte[], byte[]> records = voteConsumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    continue;
                }
                List<WorkerMessage> messages = new ArrayList<>(records.count());
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    try {
                        messages.add(serdes.workerReader.deserialize(record.topic(), record.headers(),
                            record.value()));
                    } catch (SerializationException e) {
                        LOG.error("{}: skipping unreadable worker message at {}-{}@{}: {}", config.id(),
                            record.topic(), record.partition(), record.offset(), e.getMessage());
                    }
                }
                events.add(new FromWorkers(messages));
            }
        } catch (WakeupException e) {
            if (running) {
                LOG.error("{}: vote reader woken unexpectedly.", config.id(), e);
            }
        } catch (RuntimeException e) {
            LOG.error("{}: vote reader failed: {}", config.id(), e.getMessage(), e);
        } finally {
            voteConsumer.close(Duration.ofSeconds(5));
            stopped.countDown();
        }
    }

    @Override
    public void run() {
        try {
            List<Event> batch = new ArrayList<>();
            while (running) {
                Event first = events.poll(waitMs(), TimeUnit.MILLISECONDS);
                batch.clear();
                if (first != null) {
                    batch.add(first);
                    events.drainTo(batch);
                }
                try {
                    cycle(batch);
                } catch (KafkaException e) {
                    if (running && KafkaClients.fenced(e)) {
                        // Another coordinator initialized the transactional id: it owns kv.requests now (or will
                        // once the group settles). Forget the state, leave the group and join it again: a standby.
                        LOG.warn("{}: fenced by another coordinator ({}); back to standby, joining the group again.",
                            config.id(), e.toString());
                        deactivate();
                        rejoin = true;
                        requestConsumer.wakeup();
                    } else if (running) {
                        // The cluster failed us: stop, so that a standby (or this process restarted) serves from the
                        // log, rather than serve with a state we cannot trust.
                        LOG.error("{}: stopping: {}", config.id(), e.toString(), e);
                        failure = e;
                        stop();
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

    private long waitMs() {
        long now = System.nanoTime();
        long next = now + TimeUnit.MILLISECONDS.toNanos(200);
        for (Tx tx : txs.values()) {
            next = Math.min(next, tx.deadlineNs);
        }
        for (Read read : reads.values()) {
            next = Math.min(next, read.deadlineNs);
        }
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(next - now) + 1);
    }

    private void cycle(List<Event> batch) {
        Cycle cycle = new Cycle();
        for (Event event : batch) {
            if (event instanceof Assigned) {
                activate(cycle);
            } else if (event instanceof Revoked) {
                if (active) {
                    LOG.info("{}: {} was revoked; back to standby.", config.id(), Topics.KV_REQUESTS.name());
                    deactivate();
                }
                cycle = new Cycle();
            } else if (!active) {
                continue;
            } else if (event instanceof Requests requests) {
                for (ConsumerRecord<byte[], byte[]> record : requests.records()) {
                    request(record, cycle);
                }
                cycle.offsets.putAll(requests.next());
            } else if (event instanceof FromWorkers fromWorkers) {
                for (WorkerMessage message : fromWorkers.messages()) {
                    fromWorker(message, cycle);
                }
            }
        }
        if (!active) {
            return;
        }
        expire(cycle);
        sweep(cycle);
        commit(cycle);
    }

    private void activate(Cycle cycle) {
        if (active) {
            return;
        }
        long started = System.nanoTime();
        producer = new KafkaProducer<>(KvSerdes.transactionalProducer(config.bootstrapServers(), TRANSACTIONAL_ID,
            config.transactionTimeoutMs()));
        producer.initTransactions();
        txPrefix = config.id() + "-" + System.currentTimeMillis() + "-";
        sequence = 0;
        active = true;
        recover(cycle);
        LOG.info("{}: active coordinator (recovered in {} ms); pool {}.", config.id(),
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), members);
    }

    /**
     * Replays the log: the pool, the transactions without a decision (aborted now: presumed abort), and the recent
     * decisions and reads whose answers the previous coordinator may not have sent.
     */
    private void recover(Cycle cycle) {
        Map<String, Object> props = KafkaClients.consumer(config.bootstrapServers(), null, config.id() + "-recovery",
            config.sessionTimeoutMs());
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10_000);
        TopicPartition log = new TopicPartition(Topics.KV_DECISIONS.name(), 0);
        Map<String, VoteRequest> inDoubt = new LinkedHashMap<>();
        Map<String, Decision> recentDecisions = new LinkedHashMap<>();
        Map<String, ReadRequest> recentReads = new LinkedHashMap<>();
        long since = System.currentTimeMillis() - config.replyWindowMs();
        long entries = 0;
        try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(props)) {
            reader.assign(List.of(log));
            reader.seekToBeginning(List.of(log));
            long end = reader.endOffsets(List.of(log)).get(log);
            while (reader.position(log) < end) {
                for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(500))) {
                    KvLogEntry entry;
                    try {
                        entry = serdes.logReader.deserialize(record.topic(), record.headers(), record.value());
                    } catch (SerializationException e) {
                        LOG.error("{}: skipping unreadable log entry at offset {}.", config.id(), record.offset());
                        continue;
                    }
                    entries++;
                    boolean recent = entry.getWrittenAt().toEpochMilli() >= since;
                    Object payload = entry.getPayload();
                    if (payload instanceof VoteRequest vr) {
                        inDoubt.put(vr.getTxId(), vr);
                    } else if (payload instanceof Decision d) {
                        inDoubt.remove(d.getTxId());
                        if (recent) {
                            recentDecisions.put(d.getTxId(), d);
                        }
                    } else if (payload instanceof ReadRequest r) {
                        if (recent && r.getKind() != ReadKind.SYNC) {
                            recentReads.put(r.getReadId(), r);
                        }
                    } else if (payload instanceof PoolChange p) {
                        members.clear();
                        members.addAll(p.getMembers());
                    }
                }
            }
        }
        for (VoteRequest vr : inDoubt.values()) {
            Decision abort = new Decision(vr.getTxId(), vr.getRequestId(), vr.getClientId(), Outcome.ABORT,
                "in doubt when coordinator " + config.id() + " took over (presumed abort)", config.id());
            cycle.append(vr.getTxId(), abort);
            cycle.replies.add(reply(vr.getRequestId(), vr.getClientId(), false, "aborted: " + abort.getReason())
                .setTxId(vr.getTxId()).build());
            aborts.incrementAndGet();
        }
        Read sync = newRead(null, ReadKind.SYNC, null, cycle);
        if (sync != null) {
            for (Decision d : recentDecisions.values()) {
                if (d.getOutcome() == Outcome.COMMIT) {
                    sync.gated.add(reply(d.getRequestId(), d.getClientId(), true, "committed")
                        .setTxId(d.getTxId()).build());
                } else {
                    cycle.replies.add(reply(d.getRequestId(), d.getClientId(), false, "aborted: " + d.getReason())
                        .setTxId(d.getTxId()).build());
                }
            }
        }
        for (ReadRequest r : recentReads.values()) {
            KvRequest again = KvRequest.newBuilder().setRequestId(r.getRequestId()).setClientId(r.getClientId())
                .setOp(KvOp.valueOf(r.getKind().name())).setKey(r.getKey()).setSentAt(Instant.now()).build();
            read(again, cycle);
        }
        LOG.info("{}: replayed {} log entries: {} transactions in doubt aborted, {} recent decisions and {} reads "
            + "answered again.", config.id(), entries, inDoubt.size(), recentDecisions.size(), recentReads.size());
    }

    private void deactivate() {
        active = false;
        txs.clear();
        reads.clear();
        members.clear();
        if (producer != null) {
            producer.close(Duration.ZERO);
            producer = null;
        }
    }

    private void request(ConsumerRecord<byte[], byte[]> record, Cycle cycle) {
        KvRequest request;
        try {
            request = serdes.requestReader.deserialize(record.topic(), record.headers(), record.value());
        } catch (SerializationException e) {
            LOG.error("{}: skipping unreadable request at offset {}: {}", config.id(), record.offset(),
                e.getMessage());
            return;
        }
        if (members.isEmpty()) {
            cycle.replies.add(reply(request.getRequestId(), request.getClientId(), false,
                "no worker is in the pool").build());
            return;
        }
        if (request.getOp() != KvOp.WRITE) {
            read(request, cycle);
            return;
        }
        String invalid = KvState.invalid(request.getWrites());
        if (invalid != null) {
            cycle.replies.add(reply(request.getRequestId(), request.getClientId(), false, "rejected: " + invalid)
                .build());
            return;
        }
        String txId = txPrefix + (++sequence);
        Tx tx = new Tx(txId, request.getRequestId(), request.getClientId(), members,
            System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.voteTimeoutMs()));
        txs.put(txId, tx);
        cycle.append(txId, new VoteRequest(txId, request.getRequestId(), request.getClientId(), request.getWrites(),
            List.copyOf(tx.participants), config.id()));
    }

    private void read(KvRequest request, Cycle cycle) {
        if (request.getOp() == KvOp.GET && (request.getKey() == null || request.getKey().isEmpty())) {
            cycle.replies.add(reply(request.getRequestId(), request.getClientId(), false, "get needs a key")
                .build());
            return;
        }
        newRead(request, ReadKind.valueOf(request.getOp().name()), request.getKey(), cycle);
    }

    private Read newRead(KvRequest request, ReadKind kind, String key, Cycle cycle) {
        if (members.isEmpty()) {
            return null;
        }
        String readId = txPrefix + "r" + (++sequence);
        ReadRequest rr = new ReadRequest(readId, request == null ? "" : request.getRequestId(),
            request == null ? "" : request.getClientId(), kind, key, List.copyOf(members));
        Read read = new Read(rr, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.voteTimeoutMs()));
        reads.put(readId, read);
        cycle.append(readId, rr);
        cycle.reads.add(read);
        return read;
    }

    private void fromWorker(WorkerMessage message, Cycle cycle) {
        String worker = message.getWorker();
        Object payload = message.getPayload();
        if (payload instanceof Vote vote) {
            Tx tx = txs.get(vote.getTxId());
            if (tx == null || tx.phase != Phase.VOTING || !tx.participants.contains(worker)) {
                return;
            }
            if (vote.getYes()) {
                tx.yes.add(worker);
            } else {
                decide(tx, Outcome.ABORT, worker + " voted no: " + vote.getReason(), cycle);
            }
        } else if (payload instanceof Ack ack) {
            Tx tx = txs.get(ack.getTxId());
            if (tx != null && tx.phase == Phase.AWAITING_ACKS) {
                tx.acked.add(worker);
            }
        } else if (payload instanceof ReadResult result) {
            Read read = reads.get(result.getReadId());
            if (read != null && read.request.getTargets().contains(worker)) {
                read.results.put(worker, result);
            }
        } else if (payload instanceof JoinRequest join) {
            if (!members.contains(worker)) {
                members.add(worker);
                cycle.append(worker, new PoolChange(worker, PoolChangeType.JOINED, List.copyOf(members),
                    "caught up to log offset " + join.getCaughtUpTo(), config.id()));
                LOG.info("{}: {} joined the pool (caught up to log offset {}); pool {}.", config.id(), worker,
                    join.getCaughtUpTo(), members);
            }
        }
    }

    private void decide(Tx tx, Outcome outcome, String reason, Cycle cycle) {
        tx.phase = outcome == Outcome.COMMIT ? Phase.DECIDED_COMMIT : Phase.DECIDED_ABORT;
        tx.reason = reason;
        cycle.append(tx.txId, new Decision(tx.txId, tx.requestId, tx.clientId, outcome, reason, config.id()));
        cycle.decided.add(tx);
    }

    /** Workers that did not answer in time leave the pool; their transactions abort, their reads answer without. */
    private void expire(Cycle cycle) {
        long now = System.nanoTime();
        for (Tx tx : txs.values()) {
            if (tx.deadlineNs > now) {
                continue;
            }
            if (tx.phase == Phase.VOTING) {
                Set<String> silent = new TreeSet<>(tx.participants);
                silent.removeAll(tx.yes);
                silent.retainAll(members);
                remove(silent, "did not vote on " + tx.txId + " within " + config.voteTimeoutMs() + " ms", cycle);
                decide(tx, Outcome.ABORT, silent + " did not vote within " + config.voteTimeoutMs() + " ms", cycle);
            } else if (tx.phase == Phase.AWAITING_ACKS) {
                Set<String> silent = new TreeSet<>(tx.participants);
                silent.removeAll(tx.acked);
                silent.retainAll(members);
                remove(silent, "did not acknowledge " + tx.txId + " within " + config.ackTimeoutMs() + " ms", cycle);
            }
        }
        for (Read read : reads.values()) {
            if (read.deadlineNs <= now && read.written) {
                Set<String> silent = new TreeSet<>(read.request.getTargets());
                silent.removeAll(read.results.keySet());
                silent.retainAll(members);
                remove(silent, "did not answer read " + read.request.getReadId() + " within "
                    + config.voteTimeoutMs() + " ms", cycle);
            }
        }
    }

    private void remove(Set<String> workers, String reason, Cycle cycle) {
        for (String worker : workers) {
            if (members.remove(worker)) {
                cycle.append(worker, new PoolChange(worker, PoolChangeType.REMOVED, List.copyOf(members), reason,
                    config.id()));
                LOG.warn("{}: removed {} from the pool: {}; pool {}.", config.id(), worker, reason, members);
            }
        }
    }

    /** Completes what every live participant has answered. */
    private void sweep(Cycle cycle) {
        for (Iterator<Tx> it = txs.values().iterator(); it.hasNext(); ) {
            Tx tx = it.next();
            if (tx.phase == Phase.VOTING && answeredByAllLive(tx.participants, tx.yes)) {
                decide(tx, Outcome.COMMIT, null, cycle);
            } else if (tx.phase == Phase.AWAITING_ACKS && answeredByAllLive(tx.participants, tx.acked)) {
                it.remove();
                commits.incrementAndGet();
                sendReply(reply(tx.requestId, tx.clientId, true, "committed").setTxId(tx.txId)
                    .setMembers(List.copyOf(members)).build());
            }
        }
        for (Iterator<Read> it = reads.values().iterator(); it.hasNext(); ) {
            Read read = it.next();
            if (!read.written) {
                continue;
            }
            ReadKind kind = read.request.getKind();
            boolean any = !read.results.isEmpty();
            boolean all = answeredByAllLive(new TreeSet<>(read.request.getTargets()), read.results.keySet());
            boolean expired = read.deadlineNs <= System.nanoTime();
            if ((kind == ReadKind.GET || kind == ReadKind.DB) ? (any || all || expired) : (all || expired)) {
                it.remove();
                answer(read);
            }
        }
    }

    private boolean answeredByAllLive(Set<String> participants, Set<String> answered) {
        for (String p : participants) {
            if (members.contains(p) && !answered.contains(p)) {
                return false;
            }
        }
        return true;
    }

    private void answer(Read read) {
        read.gated.forEach(this::sendReply);
        commits.addAndGet(read.gated.size());
        ReadRequest rr = read.request;
        if (rr.getKind() == ReadKind.SYNC) {
            return;
        }
        KvReply.Builder reply = reply(rr.getRequestId(), rr.getClientId(), false, "").setMembers(
            List.copyOf(members));
        if (read.results.isEmpty()) {
            sendReply(reply.setMessage("no worker answered within " + config.voteTimeoutMs() + " ms").build());
            return;
        }
        ReadResult first = read.results.values().iterator().next();
        switch (rr.getKind()) {
            case GET -> reply.setOk(true).setFound(first.getFound()).setValue(first.getValue())
                .setMessage(first.getFound() ? "found" : "no such key");
            case DB -> reply.setOk(true).setFound(true).setEntries(first.getEntries()).setSize(first.getSize())
                .setMessage(first.getSize() + " keys");
            case VERIFY -> {
                Map<String, String> hashes = new java.util.TreeMap<>();
                read.results.forEach((w, r) -> hashes.put(w, r.getHash() + "/" + r.getSize()));
                boolean same = new HashSet<>(hashes.values()).size() == 1;
                Set<String> missing = new TreeSet<>(rr.getTargets());
                missing.removeAll(read.results.keySet());
                reply.setOk(same).setHashes(hashes).setSize(first.getSize()).setMessage(same
                    ? hashes.size() + " workers hold identical databases" + (missing.isEmpty() ? ""
                        : " (" + missing + " did not answer and left the pool)")
                    : "the workers' databases differ: " + hashes);
            }
            default -> throw new IllegalStateException("unexpected read kind " + rr.getKind());
        }
        sendReply(reply.build());
    }

    private static KvReply.Builder reply(String requestId, String clientId, boolean ok, String message) {
        return KvReply.newBuilder().setRequestId(requestId).setClientId(clientId).setOk(ok).setTxId(null)
            .setFound(false).setValue(null).setEntries(null).setHashes(Map.of()).setSize(0).setMembers(List.of())
            .setMessage(message);
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
    private void commit(Cycle cycle) {
        if (!cycle.log.isEmpty() || !cycle.offsets.isEmpty()) {
            producer.beginTransaction();
            cycle.log.forEach(producer::send);
            if (!cycle.offsets.isEmpty()) {
                // The group id alone, without the member's generation: a standby joining the group bumps the
                // generation, which would fail a commit of the active coordinator for nothing. A zombie is fenced by
                // the transactional id's epoch instead, since every coordinator uses the same one.
                producer.sendOffsetsToTransaction(cycle.offsets, new ConsumerGroupMetadata(GROUP));
            }
            producer.commitTransaction();
            kafkaTransactions.incrementAndGet();
        }
        long ackDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.ackTimeoutMs());
        for (Tx tx : cycle.decided) {
            if (tx.phase == Phase.DECIDED_COMMIT) {
                tx.phase = Phase.AWAITING_ACKS;
                tx.deadlineNs = ackDeadline;
            } else {
                txs.remove(tx.txId);
                aborts.incrementAndGet();
                sendReply(reply(tx.requestId, tx.clientId, false, "aborted: " + tx.reason).setTxId(tx.txId)
                    .setMembers(List.copyOf(members)).build());
            }
        }
        for (Read read : cycle.reads) {
            read.written = true;
        }
        cycle.replies.forEach(this::sendReply);
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

    public void stop() {
        running = false;
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
        if (life.state() == State.CLOSED || life.state() == State.CLOSING) {
            return;
        }
        life.transition(State.CLOSING);
        try {
            stopped.await(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (replyProducer != null) {
            replyProducer.close(Duration.ofSeconds(5));
        }
        life.transition(State.CLOSED);
        LOG.info("{}: stopped ({} commits, {} aborts, {} Kafka transactions).", config.id(), commits.get(),
            aborts.get(), kafkaTransactions.get());
    }
}
