package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import io.distpipe.common.Poll;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.Service;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvWrite;
import io.distpipe.kv.Vote;
import io.distpipe.kv.VoteRequest;
import io.distpipe.kv.WorkerMessage;
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
            List.of("W1"), "C1"), Instant.EPOCH);
        return new ConsumerRecord<>(LOG.topic(), 0, offset, null, serdes.log.serialize(LOG.topic(), entry));
    }

    private List<Vote> votes() {
        return producer.history().stream().filter(r -> r.topic().equals(Topics.KV_VOTES.name()))
            .map(r -> serdes.workerReader.deserialize(r.topic(), r.value())).map(WorkerMessage::getPayload)
            .filter(Vote.class::isInstance).map(Vote.class::cast).toList();
    }

    @Test
    void shouldStopAtAnUnreadableLogEntryDeadLetterItAndAnswerNothingPastIt() throws Exception {
        KvWorker worker = new KvWorker(KvWorker.Config.of("W1", "unused:9092"), serdes, new KvWorker.Clients() {
            @Override
            public Consumer<byte[], byte[]> consumer(Map<String, Object> props) {
                return consumer;
            }

            @Override
            public Producer<byte[], byte[]> producer(Map<String, Object> props) {
                return producer;
            }
        }, new ReadPolicy("W1", Duration.ZERO));
        consumer.updateBeginningOffsets(Map.of(LOG, 0L));
        consumer.updateEndOffsets(Map.of(LOG, 3L));
        worker.start();
        consumer.addRecord(entry(0, "t0"));
        consumer.addRecord(new ConsumerRecord<>(LOG.topic(), 0, 1, null, GARBAGE));
        consumer.addRecord(entry(2, "t2"));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loop = new Thread(() -> {
            try {
                worker.run();
            } catch (RuntimeException e) {
                failure.set(e);
            }
        }, "kv-W1");
        loop.start();

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
}
