package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.Service;
import io.distpipe.kv.KvReply;
import io.distpipe.testkit.TopicAudit;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Records the kv coordinator cannot read, on a real broker: a poison request or worker message is dead-lettered
 * (committed, with its reason) and the store serves on; a poison entry of the log stops a coordinator that must
 * recover from it instead of serving a state that skipped it. The last test breaks the log, so it runs last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KvCoordinatorPoisonIT extends KvLocalFixture {

    private static final byte[] GARBAGE = "not avro at all".getBytes(StandardCharsets.UTF_8);

    @Test
    @Order(1)
    void shouldDeadLetterAnUnreadableRequestAndServeTheNextOne() throws Exception {
        long offset = writeGarbage(Topics.KV_REQUESTS.name(), 0);
        try (KvClient client = KvClient.open(kafka.bootstrapServers(), kv.serdes(), Duration.ofSeconds(60))) {
            KvReply set = client.set("after-poison-request", "1").get(60, TimeUnit.SECONDS);
            assertThat(set.getOk()).as(set.getMessage()).isTrue();
        }
        assertDeadLetter(Topics.KV_REQUESTS_DLQ, Topics.KV_REQUESTS.name() + "-0@" + offset);
        assertThat(kv.coordinators().get(0).failure()).isNull();
        assertThat(kv.coordinators().get(0).deadLettered()).isEqualTo(1);
    }

    @Test
    @Order(2)
    void shouldDeadLetterAnUnreadableWorkerMessageAndServeOn() throws Exception {
        // A partition no worker writes (three workers, six partitions), so no real vote is in the way.
        int partition = Topics.KV_VOTES.partitions() - 1;
        long offset = writeGarbage(Topics.KV_VOTES.name(), partition);
        TopicAudit audit = audit();
        Poll.until("the unreadable worker message is dead-lettered", Duration.ofSeconds(60),
            () -> audit.deadLetters(List.of(Topics.KV_VOTES_DLQ)).get(Topics.KV_VOTES_DLQ.name()) >= 1);
        try (KvClient client = KvClient.open(kafka.bootstrapServers(), kv.serdes(), Duration.ofSeconds(60))) {
            KvReply set = client.set("after-poison-vote", "1").get(60, TimeUnit.SECONDS);
            assertThat(set.getOk()).as(set.getMessage()).isTrue();
            KvReply verify = client.verify().get(60, TimeUnit.SECONDS);
            assertThat(verify.getOk()).as(verify.getMessage()).isTrue();
        }
        assertDeadLetter(Topics.KV_VOTES_DLQ, Topics.KV_VOTES.name() + "-" + partition + "@" + offset);
        assertThat(kv.coordinators().get(0).failure()).isNull();
    }

    @Test
    @Order(3)
    void shouldStopACoordinatorThatMustRecoverFromAnUnreadableLogEntry() throws Exception {
        KvCoordinator first = kv.coordinators().get(0);
        KvCoordinator second = kv.startCoordinator("C2");
        long offset = writeGarbage(Topics.KV_DECISIONS.name(), 0);

        // The active one leaves; the standby must replay the log to take over, and meets the entry it cannot read.
        first.stop();
        first.close();
        Poll.until("the second coordinator stopped at the unreadable log entry", Duration.ofSeconds(90),
            () -> second.state() == Service.State.FAILED);
        assertThat(second.active()).isFalse();
        assertThat(second.failure()).hasMessageContaining("the log entry at offset " + offset + " of kv.decisions "
            + "cannot be read").hasMessageContaining("no coordinator can recover the store past it");
        // The workers stop at it too, each dead-lettering it: nothing applied the state past the entry.
        Poll.until("every worker stopped at the entry", Duration.ofSeconds(60),
            () -> kv.workers().stream().allMatch(w -> w.state() == Service.State.FAILED));
        assertThat(audit().deadLetters(List.of(Topics.KV_DECISIONS_DLQ)))
            .containsEntry(Topics.KV_DECISIONS_DLQ.name(), (long) kv.workers().size());
    }

    private static TopicAudit audit() {
        return TopicAudit.of(kafka.bootstrapServers(), "mem://" + KvCoordinatorPoisonIT.class.getSimpleName());
    }

    /** The one committed dead letter of {@code dlq}: read from {@code source}, with a reason and the component. */
    private static void assertDeadLetter(TopicSpec<byte[], byte[]> dlq, String source) {
        List<TopicAudit.Entry<byte[], byte[]>> dead = audit().committed(dlq);
        assertThat(dead).singleElement().satisfies(entry -> {
            assertThat(entry.value()).isEqualTo(GARBAGE);
            assertThat(entry.headers()).containsEntry(ReadPolicy.HEADER_SOURCE, source)
                .containsEntry(ReadPolicy.HEADER_COMPONENT, "C1")
                .containsKey(ReadPolicy.HEADER_REASON);
        });
    }

    /** Writes bytes no schema reads to {@code topic}'s {@code partition}, as a stray client would; its offset. */
    private static long writeGarbage(String topic, int partition) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClients.producer(
            kafka.bootstrapServers(), "garbage-writer"), new ByteArraySerializer(), new ByteArraySerializer())) {
            return producer.send(new ProducerRecord<>(topic, partition, "stray".getBytes(StandardCharsets.UTF_8),
                GARBAGE)).get(30, TimeUnit.SECONDS).offset();
        }
    }
}
