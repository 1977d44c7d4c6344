package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.distpipe.common.BrokerAborts;
import io.distpipe.common.Poll;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.Service;
import io.distpipe.common.Supervisor;
import io.distpipe.kv.Ack;
import io.distpipe.kv.Decision;
import io.distpipe.kv.JoinRequest;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvWrite;
import io.distpipe.kv.Outcome;
import io.distpipe.kv.PoolChange;
import io.distpipe.kv.PoolChangeType;
import io.distpipe.kv.ReadResult;
import io.distpipe.kv.Vote;
import io.distpipe.kv.VoteRequest;
import io.distpipe.kv.WorkerMessage;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** KvWorker's log-reading path on mock clients: an unreadable log entry stops the worker instead of being skipped. */
class KvWorkerTest {

    private static final TopicPartition LOG = new TopicPartition(Topics.KV_DECISIONS.name(), 0);
    private static final byte[] GARBAGE = "not a log entry".getBytes(StandardCharsets.UTF_8);

    private final KvSerdes serdes = new KvSerdes(new AvroSerdes(new InMemorySchemaRegistry()));
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
        new ByteArraySerializer());

    private ConsumerRecord<byte[], byte[]> entry(long offset, String txId) {
        KvLogEntry entry = new KvLogEntry(new VoteRequest(txId, "r-" + txId, "c1", List.of(new KvWrite(txId, "v")),
            List.of("W1"), "C1", 0, 1), Instant.EPOCH);
        return new ConsumerRecord<>(LOG.topic(), 0, offset, null, serdes.log.serialize(LOG.topic(), entry));
    }

    private List<Vote> votes() {
        return votes(producer, serdes);
    }

    @Test
    void shouldStopAtAnUnreadableLogEntryDeadLetterItAndAnswerNothingPastIt() throws Exception {
        KvWorker worker = worker(producer);
        consumer.updateBeginningOffsets(Map.of(LOG, 0L));
        consumer.updateEndOffsets(Map.of(LOG, 3L));
        worker.start();
        consumer.addRecord(entry(0, "t0"));
        consumer.addRecord(new ConsumerRecord<>(LOG.topic(), 0, 1, null, GARBAGE));
        consumer.addRecord(entry(2, "t2"));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loop = loop(worker, failure);

        Poll.until("the worker to stop, or to answer an entry past the unreadable one", Duration.ofSeconds(10),
            () -> !loop.isAlive() || votes().size() > 1);
        worker.close();
        loop.join(10_000);

        assertThat(votes()).as("only the entry before the unreadable one is answered").singleElement()
            .satisfies(v -> assertThat(v.getTxId()).isEqualTo("t0"));
        assertThat(worker.state()).isIn(Service.State.FAILED, Service.State.CLOSED);
        assertThat(failure.get()).hasMessage("W1: stopped: the log entry at offset 1 cannot be read ("
            + ((ReadPolicy.PoisonRecordException) failure.get().getCause()).reason() + "); it was sent to "
            + "kv.decisions.dlq and this worker applies nothing past it, so its database cannot diverge.");
        List<ProducerRecord<byte[], byte[]>> dead = producer.history().stream()
            .filter(r -> r.topic().equals(Topics.KV_DECISIONS_DLQ.name())).toList();
        assertThat(dead).singleElement().satisfies(r -> {
            assertThat(r.value()).isEqualTo(GARBAGE);
            assertThat(new String(r.headers().lastHeader(ReadPolicy.HEADER_SOURCE).value(), StandardCharsets.UTF_8))
                .isEqualTo("kv.decisions-0@1");
        });
        assertThat(worker.deadLettered()).isEqualTo(1);
        assertThat(producer.consumerGroupOffsetsHistory()).as("the position committed stays at the unreadable entry")
            .last().satisfies(m -> assertThat(m.values().iterator().next())
                .containsEntry(LOG, new OffsetAndMetadata(1)));
    }

    private ConsumerRecord<byte[], byte[]> commit(long offset, String txId) {
        KvLogEntry entry = new KvLogEntry(new Decision(txId, "r-" + txId, "c1", Outcome.COMMIT, null, "C1"),
            Instant.EPOCH);
        return new ConsumerRecord<>(LOG.topic(), 0, offset, null, serdes.log.serialize(LOG.topic(), entry));
    }

    private ConsumerRecord<byte[], byte[]> joined(long offset) {
        KvLogEntry entry = new KvLogEntry(new PoolChange("W1", PoolChangeType.JOINED, List.of("W1"), "test", "C1"),
            Instant.EPOCH);
        return new ConsumerRecord<>(LOG.topic(), 0, offset, null, serdes.log.serialize(LOG.topic(), entry));
    }

    private List<Object> answers() {
        return answers(producer, serdes);
    }

    /** Starts the worker on a log where it joined the pool and t0 asks for its vote; returns once it voted. */
    private Thread votedOnT0(KvWorker worker, AtomicReference<Throwable> failure) {
        consumer.updateBeginningOffsets(Map.of(LOG, 0L));
        consumer.updateEndOffsets(Map.of(LOG, 2L));
        worker.start();
        consumer.addRecord(joined(0));
        consumer.addRecord(entry(1, "t0"));
        Thread loop = loop(worker, failure);
        Poll.until("the vote on t0", Duration.ofSeconds(10), () -> votes().size() == 1);
        return loop;
    }

    @Test
    void shouldHoldAnAcknowledgementBackAndSendItWithTheNextVoteInOneTransaction() throws Exception {
        KvWorker worker = worker(producer);
        worker.holdAcksFor(Duration.ofMinutes(1));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loop = votedOnT0(worker, failure);
        try {
            assertThat(producer.commitCount()).isEqualTo(1);

            consumer.addRecord(commit(2, "t0"));
            Poll.until("the worker has applied the commit", Duration.ofSeconds(10), () -> worker.position() == 3);
            assertThat(answers()).as("the acknowledgement waits").hasSize(1);
            assertThat(producer.commitCount()).isEqualTo(1);

            consumer.addRecord(entry(3, "t1"));
            Poll.until("the vote on t1", Duration.ofSeconds(10), () -> votes().size() == 2);
            assertThat(answers()).hasSize(3);
            assertThat(answers().get(1)).isInstanceOfSatisfying(Ack.class,
                a -> assertThat(a.getTxId()).isEqualTo("t0"));
            assertThat(answers().get(2)).isInstanceOfSatisfying(Vote.class,
                v -> assertThat(v.getTxId()).isEqualTo("t1"));
            assertThat(producer.commitCount()).as("the acknowledgement went with the vote").isEqualTo(2);
            assertThat(producer.consumerGroupOffsetsHistory()).last().satisfies(m -> assertThat(
                m.values().iterator().next()).containsEntry(LOG, new OffsetAndMetadata(4)));
        } finally {
            worker.close();
            loop.join(10_000);
        }
        assertThat(failure.get()).isNull();
    }

    @Test
    void shouldSendAHeldAcknowledgementAloneOnceItsDelayIsOver() throws Exception {
        KvWorker worker = worker(producer);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loop = votedOnT0(worker, failure);
        try {
            consumer.addRecord(commit(2, "t0"));
            Poll.until("the acknowledgement of t0, alone", Duration.ofSeconds(10), () -> answers().size() == 2);
            assertThat(answers().get(1)).isInstanceOf(Ack.class);
            assertThat(producer.consumerGroupOffsetsHistory()).last().satisfies(m -> assertThat(
                m.values().iterator().next()).containsEntry(LOG, new OffsetAndMetadata(3)));
        } finally {
            worker.close();
            loop.join(10_000);
        }
        assertThat(failure.get()).isNull();
    }

    /** A producer whose next commits and aborts fail as queued: the broker's answers after its abort or a fencing. */
    private static class FailingProducer extends MockProducer<byte[], byte[]> {
        final Deque<RuntimeException> commitFailures = new ConcurrentLinkedDeque<>();
        final Deque<RuntimeException> abortFailures = new ConcurrentLinkedDeque<>();
        final AtomicInteger aborts = new AtomicInteger();

        FailingProducer() {
            super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        }

        @Override
        public void commitTransaction() {
            RuntimeException failure = commitFailures.poll();
            if (failure != null) {
                throw failure;
            }
            super.commitTransaction();
        }

        @Override
        public void abortTransaction() {
            aborts.incrementAndGet();
            RuntimeException failure = abortFailures.poll();
            if (failure != null) {
                throw failure;
            }
            super.abortTransaction();
        }
    }

    private KvWorker worker(Producer<byte[], byte[]> producer) {
        return new KvWorker(KvWorker.Config.of("W1", "unused:9092"), serdes, new KvWorker.Clients() {
            @Override
            public Consumer<byte[], byte[]> consumer(Map<String, Object> props) {
                return consumer;
            }

            @Override
            public Producer<byte[], byte[]> producer(Map<String, Object> props) {
                return producer;
            }
        }, new ReadPolicy("W1", Duration.ZERO));
    }

    private static Thread loop(KvWorker worker, AtomicReference<Throwable> failure) {
        Thread loop = new Thread(() -> {
            try {
                worker.run();
            } catch (RuntimeException e) {
                failure.set(e);
            }
        }, "kv-W1");
        loop.start();
        return loop;
    }

    /** What the worker sent on kv.votes through {@code producer}, in order. */
    private static List<Object> answers(MockProducer<byte[], byte[]> producer, KvSerdes serdes) {
        return producer.history().stream().filter(r -> r.topic().equals(Topics.KV_VOTES.name()))
            .map(r -> serdes.workerReader.deserialize(r.topic(), r.value())).map(WorkerMessage::getPayload).toList();
    }

    private static List<Vote> votes(MockProducer<byte[], byte[]> producer, KvSerdes serdes) {
        return answers(producer, serdes).stream().filter(Vote.class::isInstance).map(Vote.class::cast).toList();
    }

    @Test
    void shouldAbortAndSendAgainATransactionTheBrokerAbortedInsteadOfStoppingAsFenced() throws Exception {
        FailingProducer producer = new FailingProducer();
        producer.commitFailures.add(new InvalidProducerEpochException("Producer attempted to produce with an old "
            + "epoch"));
        KvWorker worker = worker(producer);
        consumer.updateBeginningOffsets(Map.of(LOG, 0L));
        consumer.updateEndOffsets(Map.of(LOG, 1L));
        worker.start();
        consumer.addRecord(entry(0, "t0"));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loop = loop(worker, failure);

        Poll.until("the worker to answer entry 0, or to stop", Duration.ofSeconds(10),
            () -> !loop.isAlive() || !votes(producer, serdes).isEmpty());
        Service.State running = worker.state();
        worker.close();
        loop.join(10_000);

        assertThat(failure.get()).as("a transaction the broker aborted is not fencing").isNull();
        assertThat(running).isEqualTo(Service.State.RUNNING);
        assertThat(producer.aborts.get()).isEqualTo(1);
        assertThat(votes(producer, serdes)).as("answered once, by the transaction sent again").singleElement()
            .satisfies(v -> assertThat(v.getTxId()).isEqualTo("t0"));
        assertThat(producer.consumerGroupOffsetsHistory()).last().satisfies(m -> assertThat(m.values().iterator()
            .next()).containsEntry(LOG, new OffsetAndMetadata(1)));
    }

    /**
     * Frozen (SIGSTOP) past the transaction timeout just before its commit: the broker aborted the transaction, the
     * commit is refused as "invalid state" and the producer refuses even the abort (as measured in BrokerAbortsIT). The
     * worker writes the answers again on a new producer and runs on; it stopped before (KvStoreIT's paused worker).
     */
    @Test
    void shouldSendAgainOnANewProducerATransactionThatOutlivedItsTimeoutWhileTheWorkerWasFrozen() throws Exception {
        AtomicLong clock = new AtomicLong();
        FailingProducer frozen = new FailingProducer() {
            @Override
            public void commitTransaction() {
                clock.addAndGet(Duration.ofMillis(KvWorker.Config.TRANSACTION_TIMEOUT_MS_DEFAULT + 1_000).toNanos());
                super.commitTransaction();
            }
        };
        frozen.commitFailures.add(new InvalidTxnStateException("The producer attempted a transactional operation in "
            + "an invalid state."));
        frozen.abortFailures.add(new KafkaException("Cannot execute transactional method because we are in an error "
            + "state", new InvalidTxnStateException("invalid state")));
        FailingProducer renewed = new FailingProducer();
        List<Producer<byte[], byte[]>> made = new ArrayList<>(List.of(frozen, renewed));
        KvWorker worker = new KvWorker(KvWorker.Config.of("W1", "unused:9092"), serdes, new KvWorker.Clients() {
            @Override
            public Consumer<byte[], byte[]> consumer(Map<String, Object> props) {
                return consumer;
            }

            @Override
            public Producer<byte[], byte[]> producer(Map<String, Object> props) {
                return made.remove(0);
            }
        }, new ReadPolicy("W1", Duration.ZERO), new BrokerAborts("W1", new Supervisor.RestartPolicy(3,
            Duration.ofMinutes(1), Duration.ZERO, Duration.ZERO), millis -> { }, clock::get));
        consumer.updateBeginningOffsets(Map.of(LOG, 0L));
        consumer.updateEndOffsets(Map.of(LOG, 1L));
        worker.start();
        consumer.addRecord(entry(0, "t0"));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loop = loop(worker, failure);

        Poll.until("the worker to answer entry 0 on the new producer, or to stop", Duration.ofSeconds(10),
            () -> !loop.isAlive() || !votes(renewed, serdes).isEmpty());
        Service.State running = worker.state();
        worker.close();
        loop.join(10_000);

        assertThat(failure.get()).as("a transaction the broker aborted while the worker was frozen").isNull();
        assertThat(running).isEqualTo(Service.State.RUNNING);
        assertThat(made).as("a second producer was made").isEmpty();
        assertThat(renewed.transactionInitialized()).isTrue();
        assertThat(frozen.closed()).as("the refused producer is closed").isTrue();
        assertThat(votes(frozen, serdes)).isEmpty();
        assertThat(votes(renewed, serdes)).as("answered once, on the new producer").singleElement()
            .satisfies(v -> assertThat(v.getTxId()).isEqualTo("t0"));
        assertThat(renewed.consumerGroupOffsetsHistory()).last().satisfies(m -> assertThat(m.values().iterator()
            .next()).containsEntry(LOG, new OffsetAndMetadata(1)));
    }

    @Test
    void shouldStopWhenTheAbortAfterAnOldEpochSaysANewerWorkerFencedIt() throws Exception {
        FailingProducer producer = new FailingProducer();
        producer.commitFailures.add(new InvalidProducerEpochException("old epoch"));
        producer.abortFailures.add(new ProducerFencedException("There is a newer producer with the same "
            + "transactionalId"));
        KvWorker worker = worker(producer);
        consumer.updateBeginningOffsets(Map.of(LOG, 0L));
        consumer.updateEndOffsets(Map.of(LOG, 1L));
        worker.start();
        consumer.addRecord(entry(0, "t0"));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loop = loop(worker, failure);

        Poll.until("the worker to stop", Duration.ofSeconds(10), () -> !loop.isAlive());

        assertThat(failure.get()).isInstanceOf(ProducerFencedException.class);
        assertThat(worker.state()).isEqualTo(Service.State.FAILED);
        assertThat(votes(producer, serdes)).isEmpty();
        worker.close();
    }

    @Test
    void shouldAnswerWithAnErrorRatherThanSendARecordAboveTheLimit() {
        AvroSerdes avro = AvroSerdes.connect("mem://kv-worker-test");
        TopicAdmin.registerSchemas(avro.registry(), Topics.ALL);
        KvWorker worker = new KvWorker(KvWorker.Config.of("W1", "localhost:1"), new KvSerdes(avro));
        Map<String, String> db = new TreeMap<>();
        for (int i = 0; i < 2_000; i++) {
            db.put("key-" + i, "value-" + i);
        }
        WorkerMessage big = message(12, ReadResult.newBuilder().setReadId("r1").setFound(true).setValue(null)
            .setEntries(db).setSize(db.size()).setHash("").build());
        WorkerMessage ack = message(13, new Ack("t1", Outcome.COMMIT));

        List<WorkerMessage> sent = worker.bounded(List.of(big, ack), 10_000).stream()
            .map(KvWorker.Outgoing::message).toList();

        assertThat(sent).hasSize(2);
        assertThat(sent.get(0).getLogOffset()).isEqualTo(12);
        assertThat(sent.get(0).getPayload()).isInstanceOfSatisfying(ReadResult.class, r -> {
            assertThat(r.getReadId()).isEqualTo("r1");
            assertThat(r.getEntries()).isNull();
            assertThat(r.getError()).contains("answer to log entry 12").contains("above the 10,000");
        });
        assertThat(sent.get(1)).isEqualTo(ack);
    }

    @Test
    void shouldReplaceEveryPartOfAnAnswerTheBrokerRefusedByOneErrorAnswer() {
        AvroSerdes avro = AvroSerdes.connect("mem://kv-worker-test-parts");
        TopicAdmin.registerSchemas(avro.registry(), Topics.ALL);
        KvWorker worker = new KvWorker(KvWorker.Config.of("W1", "localhost:1"), new KvSerdes(avro));
        Map<String, String> db = new TreeMap<>();
        for (int i = 0; i < 40_000; i++) {
            db.put("key-" + i, "value-" + i);
        }
        List<WorkerMessage> out = new ArrayList<>();
        out.add(message(11, new Ack("t1", Outcome.COMMIT)));
        for (Object part : Chunks.answerParts(ReadResult.newBuilder().setReadId("r1").setFound(true).setValue(null)
            .setEntries(db).setSize(db.size()).setHash("").build(), Chunks.PART_BYTES)) {
            out.add(message(12, part));
        }
        out.add(message(13, new JoinRequest(13L)));
        assertThat(out).hasSizeGreaterThan(3);

        List<WorkerMessage> sent = worker.withErrors(worker.bounded(out, Chunks.MAX_RECORD_BYTES),
            Set.of(12L)).stream().map(KvWorker.Outgoing::message).toList();

        assertThat(sent).extracting(WorkerMessage::getLogOffset).containsExactly(11L, 12L, 13L);
        assertThat(sent.get(1).getPayload()).isInstanceOfSatisfying(ReadResult.class, r -> {
            assertThat(r.getError()).isEqualTo("the answer was too large to send");
            assertThat(r.getParts()).isEqualTo(1);
        });
    }

    private static WorkerMessage message(long offset, Object payload) {
        return WorkerMessage.newBuilder().setWorker("W1").setLogOffset(offset).setPayload(payload)
            .setSentAt(Instant.EPOCH).build();
    }
}
