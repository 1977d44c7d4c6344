package io.distpipe.kv.store;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import io.distpipe.common.AbstractService;
import io.distpipe.common.BrokerAborts;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.ReadPolicy.PoisonRecordException;
import io.distpipe.kv.Ack;
import io.distpipe.kv.JoinRequest;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.PoolChange;
import io.distpipe.kv.PoolChangeType;
import io.distpipe.kv.WorkerMessage;
import io.distpipe.topics.Topics;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker of the key-value store: it replays the coordinator's log (kv.decisions) from the start into its
 * {@link KvState} and answers each entry it takes part in. Everything it sends for a batch of log entries, and the
 * log position after them, commit in one Kafka transaction, so a restarted worker neither repeats nor loses an
 * answer: entries below its committed position were answered, the ones after it were not.
 */
public final class KvWorker extends AbstractService implements Runnable, BrokerAborts.Writer {

    /** Worker settings. */
    public record Config(String id, String bootstrapServers, int transactionTimeoutMs, boolean transactional) {
        /**
         * Generous: each worker writes its own partition of kv.votes, so the open transaction of a dead worker holds
         * back only its own answers, and a restarted worker aborts it at once (initTransactions).
         */
        public static final int TRANSACTION_TIMEOUT_MS_DEFAULT = 10_000;

        public Config {
            if (id == null || id.isBlank() || id.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("A worker needs an id without whitespace, e.g. W2");
            }
        }

        public static Config of(String id, String bootstrapServers) {
            return new Config(id, bootstrapServers, TRANSACTION_TIMEOUT_MS_DEFAULT, true);
        }
    }

    /** Makes the worker's clients from their settings; tests pass mocks. */
    interface Clients {
        Consumer<byte[], byte[]> consumer(Map<String, Object> props);

        Producer<byte[], byte[]> producer(Map<String, Object> props);
    }

    private static final Clients KAFKA = new Clients() {
        @Override
        public Consumer<byte[], byte[]> consumer(Map<String, Object> props) {
            return new KafkaConsumer<>(props);
        }

        @Override
        public Producer<byte[], byte[]> producer(Map<String, Object> props) {
            return new KafkaProducer<>(props);
        }
    };

    private static final Logger LOG = LoggerFactory.getLogger(KvWorker.class);
    private static final long JOIN_RETRY_NS = Duration.ofSeconds(2).toNanos();
    /** The longest a poll of the log waits when nothing is held back. */
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(100);
    /**
     * How long acknowledgements alone may wait to go out with the next answer. The client is answered at the
     * durable decision, so an acknowledgement only keeps the pool (its timeout is seconds); sent in a Kafka
     * transaction of its own at once, it occupied the worker (and the producer's next transaction, which waits for
     * its markers) exactly when the client's next vote request arrived.
     */
    static final long ACK_DELAY_NS = Duration.ofMillis(50).toNanos();
    /** Sends of one batch: the answers, then error answers for those refused as too large, then give up. */
    private static final int MAX_SEND_ATTEMPTS = 3;

    private final Config config;
    private final KvSerdes serdes;
    private final KvState state = new KvState();
    private final TopicPartition log = new TopicPartition(Topics.KV_DECISIONS.name(), 0);
    private final int votesPartition;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong position = new AtomicLong();
    private volatile boolean running = true;
    private volatile boolean looping;
    private volatile long caughtUpAt = -1;
    private final Clients clients;
    private final ReadPolicy readPolicy;
    private Consumer<byte[], byte[]> consumer;
    private Producer<byte[], byte[]> producer;
    private Map<String, Object> producerProps;
    private long answeredBelow;
    private long lastJoinNs;
    /** Acknowledgements held back (with the position after them) until another answer or {@link #ACK_DELAY_NS}. */
    private final List<WorkerMessage> heldAcks = new ArrayList<>();
    private long heldSinceNs;
    private long ackDelayNs = ACK_DELAY_NS;
    private long sent;
    private final AtomicLong deadLettered = new AtomicLong();
    /** A transaction the broker aborted (its timeout, on a stalled worker) is sent again, not taken for fencing. */
    private final BrokerAborts brokerAborts;

    public KvWorker(Config config, KvSerdes serdes) {
        this(config, serdes, KAFKA, ReadPolicy.of(config.id()));
    }

    KvWorker(Config config, KvSerdes serdes, Clients clients, ReadPolicy readPolicy) {
        this(config, serdes, clients, readPolicy, new BrokerAborts(config.id()));
    }

    KvWorker(Config config, KvSerdes serdes, Clients clients, ReadPolicy readPolicy, BrokerAborts brokerAborts) {
        super(config.id(), "kv worker " + config.id());
        this.config = config;
        this.serdes = serdes;
        this.clients = clients;
        this.readPolicy = readPolicy;
        this.brokerAborts = brokerAborts;
        this.votesPartition = KvSerdes.votesPartition(config.id());
    }

    /** Fences an earlier incarnation (aborting its open transaction) and finds the position it committed. */
    @Override
    public void start() {
        life.transition(State.STARTING);
        Map<String, Object> props = KafkaClients.consumer(config.bootstrapServers(), groupId(), config.id() + "-log",
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT);
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, KvSerdes.COMMITTED_FETCH_WAIT_MS);
        consumer = clients.consumer(props);
        producerProps = config.transactional()
            ? KvSerdes.transactionalProducer(config.bootstrapServers(), "kv-worker-" + config.id(),
                config.transactionTimeoutMs())
            : KafkaClients.producer(config.bootstrapServers(), "kv-worker-" + config.id());
        producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        producer = clients.producer(producerProps);
        if (config.transactional()) {
            producer.initTransactions();
        }
        consumer.assign(List.of(log));
        consumer.seekToBeginning(List.of(log));
        OffsetAndMetadata committed = consumer.committed(Set.of(log)).get(log);
        answeredBelow = committed == null ? 0 : committed.offset();
        life.transition(State.RUNNING);
        LOG.info("{}: replaying {} from the start; entries below offset {} were answered by an earlier incarnation.",
            config.id(), log, answeredBelow);
    }

    private String groupId() {
        return "kv-worker-" + config.id();
    }

    @Override
    public void run() {
        looping = true;
        try {
            long catchUpTarget = consumer.endOffsets(List.of(log)).get(log);
            while (running) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout());
                List<WorkerMessage> out = new ArrayList<>(heldAcks);
                heldAcks.clear();
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    try {
                        handle(record, out);
                    } catch (PoisonRecordException e) {
                        stopAt(e, out);
                    }
                }
                long next = consumer.position(log);
                position.set(next);
                if (caughtUpAt < 0 && next >= catchUpTarget) {
                    caughtUpAt = next;
                    LOG.info("{}: caught up with the log at offset {} ({} keys, {} commits, {} aborts).",
                        config.id(), next, state.size(), state.commits(), state.aborts());
                }
                maybeJoin(next, out);
                if (holdsOnlyAcks(out)) {
                    heldAcks.addAll(out);
                } else if (!out.isEmpty()) {
                    send(out, next);
                    heldSinceNs = 0;
                }
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } catch (RuntimeException e) {
            // A transient failure past ReadPolicy's bound, or any other: the worker stops loudly, never skips.
            life.compareAndTransition(State.RUNNING, State.FAILED);
            throw e;
        } finally {
            stopped.countDown();
        }
    }

    /**
     * A log entry no schema reads: the answers to the entries before it are committed with the position of this one,
     * the entry goes to kv.decisions.dlq, and the worker stops (FAILED) rather than skip it: its database would no
     * longer be the function of the log that every other worker's is. A restarted worker stops at the same entry.
     */
    private void stopAt(PoisonRecordException poison, List<WorkerMessage> out) {
        long offset = poison.record().offset();
        if (!out.isEmpty()) {
            send(out, offset);
            out.clear();
        }
        ProducerRecord<byte[], byte[]> dead = readPolicy.deadLetter(Topics.KV_DECISIONS_DLQ.name(), poison);
        if (config.transactional()) {
            brokerAborts.run(this, () -> {
                producer.beginTransaction();
                producer.send(dead);
                producer.commitTransaction();
                return null;
            });
        } else {
            producer.send(dead);
            producer.flush();
        }
        deadLettered.incrementAndGet();
        String line = config.id() + ": stopped: the log entry at offset " + offset + " cannot be read ("
            + poison.reason() + "); it was sent to " + Topics.KV_DECISIONS_DLQ.name() + " and this worker applies "
            + "nothing past it, so its database cannot diverge.";
        LOG.error(line);
        life.transition(State.FAILED);
        throw new IllegalStateException(line, poison);
    }

    private KvLogEntry decode(ConsumerRecord<byte[], byte[]> record) {
        KvLogEntry entry = serdes.logReader.deserialize(record.topic(), record.headers(), record.value());
        if (entry == null) {
            throw new IllegalArgumentException("the entry has no value");
        }
        return entry;
    }

    private void handle(ConsumerRecord<byte[], byte[]> record, List<WorkerMessage> out) {
        KvLogEntry entry = readPolicy.read(record, this::decode);
        Object answer = state.apply(entry, config.id());
        if (entry.getPayload() instanceof PoolChange change && change.getWorker().equals(config.id())) {
            LOG.info("{}: {} the pool at log offset {} ({}); pool now {}.", config.id(),
                change.getChange() == PoolChangeType.JOINED ? "joined" : "was removed from", record.offset(),
                change.getReason(), change.getMembers());
        }
        if (answer != null && record.offset() >= answeredBelow) {
            // A database travels in parts, all in this batch's one Kafka transaction.
            for (Object part : Chunks.answerParts(answer, Chunks.PART_BYTES)) {
                out.add(WorkerMessage.newBuilder().setWorker(config.id()).setLogOffset(record.offset())
                    .setPayload(part).setSentAt(Instant.now()).build());
            }
        }
    }

    /** Whether {@code out} is only acknowledgements, held for less than {@link #ACK_DELAY_NS} (then they wait). */
    private boolean holdsOnlyAcks(List<WorkerMessage> out) {
        if (out.isEmpty() || !out.stream().allMatch(m -> m.getPayload() instanceof Ack)) {
            return false;
        }
        long now = System.nanoTime();
        if (heldSinceNs == 0) {
            heldSinceNs = now;
        }
        return now - heldSinceNs < ackDelayNs;
    }

    /** For tests: how long acknowledgements alone wait for another answer ({@link #ACK_DELAY_NS} by default). */
    void holdAcksFor(Duration delay) {
        ackDelayNs = delay.toNanos();
    }

    private Duration pollTimeout() {
        if (heldAcks.isEmpty()) {
            return POLL_TIMEOUT;
        }
        long left = ackDelayNs - (System.nanoTime() - heldSinceNs);
        return Duration.ofNanos(Math.max(0, Math.min(left, POLL_TIMEOUT.toNanos())));
    }

    /** Outside the pool and caught up: ask to vote again (repeated until the pool change appears in the log). */
    private void maybeJoin(long next, List<WorkerMessage> out) {
        if (caughtUpAt < 0 || state.members().contains(config.id())) {
            return;
        }
        long now = System.nanoTime();
        if (lastJoinNs != 0 && now - lastJoinNs < JOIN_RETRY_NS) {
            return;
        }
        lastJoinNs = now;
        LOG.info("{}: asking to join the pool, caught up to log offset {}.", config.id(), next);
        out.add(WorkerMessage.newBuilder().setWorker(config.id()).setLogOffset(next)
            .setPayload(new JoinRequest(next)).setSentAt(Instant.now()).build());
    }

    /** A message to send and its serialized value. */
    record Outgoing(WorkerMessage message, byte[] value) {
    }

    /**
     * Sends the answers and the log position after them. An answer the cluster refuses as too large (it is not
     * retriable: it would fail again after every restart, on the same log entry) is replaced, all its parts, by one
     * error answer ({@link Chunks#tooLarge}) and the batch sent again. (Without transactions the answers that did go
     * out are sent twice then; the coordinator ignores a repeated answer.) A transaction the broker aborted for its
     * timeout is aborted and sent again ({@link BrokerAborts}), on a new producer when the worker stalled past the
     * transaction timeout (SIGSTOP, a long GC pause); the worker stops only if a newer one fenced it.
     */
    private void send(List<WorkerMessage> out, long next) {
        List<Outgoing> messages = bounded(out, Chunks.MAX_RECORD_BYTES);
        for (int attempts = 1; ; attempts++) {
            List<Outgoing> sending = messages;
            List<Integer> refused = config.transactional()
                ? brokerAborts.run(this, () -> attempt(sending, next)) : attempt(sending, next);
            if (refused.isEmpty()) {
                break;
            }
            if (attempts == MAX_SEND_ATTEMPTS) {
                throw new KafkaException(config.id() + ": answers were still refused as too large after " + attempts
                    + " attempts, the last ones error answers");
            }
            Set<Long> offsets = new HashSet<>();
            for (int i : refused) {
                offsets.add(messages.get(i).message().getLogOffset());
            }
            LOG.error("{}: answers to log entries {} were refused as too large; answering them with an error instead.",
                config.id(), offsets);
            messages = withErrors(messages, offsets);
        }
        sent += messages.size();
    }

    @Override
    public Producer<?, ?> producer() {
        return producer;
    }

    @Override
    public Duration transactionTimeout() {
        return Duration.ofMillis(config.transactionTimeoutMs());
    }

    /** After a stall past the transaction timeout: the broker's abort left the producer refusing every call. */
    @Override
    public void renewProducer() {
        producer = BrokerAborts.renewed(config.id(), producer, () -> clients.producer(producerProps));
    }

    /** The messages with each answer to one of {@code offsets} (all its parts) replaced by one error answer. */
    List<Outgoing> withErrors(List<Outgoing> messages, Set<Long> offsets) {
        List<Outgoing> result = new ArrayList<>(messages.size());
        Set<Long> replaced = new HashSet<>();
        for (Outgoing m : messages) {
            long offset = m.message().getLogOffset();
            if (!offsets.contains(offset) || m.message().getPayload() instanceof JoinRequest) {
                result.add(m);
            } else if (replaced.add(offset)) {
                Outgoing error = replaced(m.message(), "the answer was too large to send");
                if (error != null) {
                    result.add(error);
                }
            }
        }
        return result;
    }

    /**
     * The messages, serialized, with every one whose record would exceed {@code maxBytes} replaced by an error
     * answer; a replacement with nothing to say is left out.
     */
    List<Outgoing> bounded(List<WorkerMessage> out, int maxBytes) {
        List<Outgoing> messages = new ArrayList<>(out.size());
        for (WorkerMessage m : out) {
            byte[] value = serdes.workers.serialize(Topics.KV_VOTES.name(), m);
            Outgoing sendable = value.length <= maxBytes ? new Outgoing(m, value) : replaced(m, String.format(
                "the answer to log entry %d would be %,d bytes, above the %,d one record may have", m.getLogOffset(),
                value.length, maxBytes));
            if (sendable != null) {
                messages.add(sendable);
            }
        }
        return messages;
    }

    /** The error answer sent instead of {@code m}, or null when there is none to send. */
    private Outgoing replaced(WorkerMessage m, String why) {
        LOG.error("{}: answering log entry {} with an error: {}.", config.id(), m.getLogOffset(), why);
        Object answer = Chunks.tooLarge(m.getPayload(), why);
        if (answer == null) {
            return null;
        }
        WorkerMessage error = WorkerMessage.newBuilder(m).setPayload(answer).build();
        return new Outgoing(error, serdes.workers.serialize(Topics.KV_VOTES.name(), error));
    }

    /** One try at sending; the indexes of the messages refused as too large (then nothing was committed). */
    private List<Integer> attempt(List<Outgoing> messages, long next) {
        List<Future<RecordMetadata>> futures = new ArrayList<>(messages.size());
        try {
            if (config.transactional()) {
                producer.beginTransaction();
                messages.forEach(m -> futures.add(producer.send(record(m))));
                producer.sendOffsetsToTransaction(Map.of(log, new OffsetAndMetadata(next)),
                    consumer.groupMetadata());
                producer.commitTransaction();
            } else {
                messages.forEach(m -> futures.add(producer.send(record(m))));
                producer.flush();
                List<Integer> refused = tooLarge(futures);
                if (!refused.isEmpty()) {
                    return refused;
                }
                consumer.commitAsync(Map.of(log, new OffsetAndMetadata(next)), null);
            }
            return List.of();
        } catch (KafkaException e) {
            List<Integer> refused = tooLarge(futures);
            if (refused.isEmpty() || KafkaClients.fenced(e)) {
                throw e;
            }
            producer.abortTransaction();
            return refused;
        }
    }

    private ProducerRecord<byte[], byte[]> record(Outgoing m) {
        return new ProducerRecord<>(Topics.KV_VOTES.name(), votesPartition,
            serdes.keys.serialize(Topics.KV_VOTES.name(), config.id()), m.value());
    }

    private static List<Integer> tooLarge(List<Future<RecordMetadata>> futures) {
        List<Integer> refused = new ArrayList<>();
        for (int i = 0; i < futures.size(); i++) {
            Future<RecordMetadata> f = futures.get(i);
            if (!f.isDone()) {
                continue;
            }
            try {
                f.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RecordTooLargeException
                    || e.getCause() instanceof RecordBatchTooLargeException) {
                    refused.add(i);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return refused;
    }

    /** Log entries this worker could not read and sent to kv.decisions.dlq (at most one: it stops there). */
    public long deadLettered() {
        return deadLettered.get();
    }

    /** The next log offset this worker will read. */
    public long position() {
        return position.get();
    }

    /** Whether it has replayed the log as far as it reached when the worker started. */
    public boolean caughtUp() {
        return caughtUpAt >= 0;
    }

    /** Stops the loop; the transaction of a batch in progress is completed first. */
    public void stop() {
        running = false;
        if (consumer != null) {
            consumer.wakeup();
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
            if (looping) {
                stopped.await();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
        if (consumer != null) {
            consumer.close(Duration.ofSeconds(5));
        }
        life.transition(State.CLOSED);
        LOG.info("{}: stopped ({} keys, {} messages sent, {} unreadable log entries dead-lettered).", config.id(),
            state.size(), sent, deadLettered.get());
    }
}
