package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import io.distpipe.common.BrokerAborts;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.Supervisor;
import io.distpipe.topics.Topics;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** The coordinator's cycle transaction on a mock producer: a broker-aborted transaction is written again. */
class KvCoordinatorTransactionTest {

    private static final TopicPartition REQUESTS = new TopicPartition(Topics.KV_REQUESTS.name(), 0);
    private static final List<ProducerRecord<byte[], byte[]>> RECORDS = List.of(new ProducerRecord<>(
        Topics.KV_DECISIONS.name(), 0, "k".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8)));
    private static final Map<TopicPartition, OffsetAndMetadata> OFFSETS = Map.of(REQUESTS, new OffsetAndMetadata(7));

    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
        new ByteArraySerializer());
    private final BrokerAborts aborts = new BrokerAborts("C1", new Supervisor.RestartPolicy(3, Duration.ofMinutes(1),
        Duration.ZERO, Duration.ZERO));

    @Test
    void shouldWriteAgainACycleWhoseTransactionTheBrokerAborted() {
        AtomicInteger abortCount = new AtomicInteger();
        MockProducer<byte[], byte[]> failingOnce = new MockProducer<>(true, null, new ByteArraySerializer(),
            new ByteArraySerializer()) {
            private boolean failed;

            @Override
            public void commitTransaction() {
                if (!failed) {
                    failed = true;
                    throw new InvalidProducerEpochException("Producer attempted to produce with an old epoch");
                }
                super.commitTransaction();
            }

            @Override
            public void abortTransaction() {
                abortCount.incrementAndGet();
                super.abortTransaction();
            }
        };
        failingOnce.initTransactions();

        KvCoordinator.write(failingOnce, aborts, RECORDS, OFFSETS);

        assertThat(abortCount).as("the broker's abort is aborted here too").hasValue(1);
        assertThat(failingOnce.commitCount()).isEqualTo(1);
        assertThat(failingOnce.history()).hasSize(1);
        assertThat(failingOnce.consumerGroupOffsetsHistory()).singleElement()
            .satisfies(m -> assertThat(m.values().iterator().next()).containsEntry(REQUESTS, new OffsetAndMetadata(7)));
    }

    @Test
    void shouldStillTakeARefusedAbortForFencing() {
        producer.initTransactions();
        producer.commitTransactionException = new InvalidProducerEpochException("old epoch");
        producer.abortTransactionException = new ProducerFencedException("There is a newer producer with the same "
            + "transactionalId");

        assertThatThrownBy(() -> KvCoordinator.write(producer, aborts, RECORDS, OFFSETS))
            .isInstanceOf(ProducerFencedException.class)
            .satisfies(e -> assertThat(KafkaClients.fenced(e)).isTrue());
        assertThat(producer.history()).isEmpty();
    }

    @Test
    void shouldStopLoudlyRatherThanBecomeAStandbyWhenTheBrokerKeepsAborting() {
        producer.initTransactions();
        producer.commitTransactionException = new InvalidProducerEpochException("old epoch");

        assertThatThrownBy(() -> KvCoordinator.write(producer, aborts, RECORDS, OFFSETS))
            .isInstanceOf(KafkaException.class).hasMessageContaining("C1: the broker aborted 4 transactions in a row")
            .satisfies(e -> assertThat(KafkaClients.fenced(e)).as("not fencing: the coordinator stops").isFalse());
    }
}
