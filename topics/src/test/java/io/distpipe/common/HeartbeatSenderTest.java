package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

import io.distpipe.membership.Heartbeat;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.Test;

class HeartbeatSenderTest {

    private static final Instant SENT_AT = Instant.parse("2026-01-01T00:00:00Z");
    private static final long INCARNATION = 1_767_225_600_000L;

    private final AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
    private final CountingProducer producer = new CountingProducer();

    @Test
    void shouldIncreaseTheSequenceByOnePerHeartbeat() {
        HeartbeatSender sender = sender(Duration.ofSeconds(1));

        sender.beat(false);
        sender.beat(false);
        sender.beat(false);

        List<Heartbeat> sent = heartbeats();
        assertThat(sent).extracting(Heartbeat::getSequence).containsExactly(1L, 2L, 3L);
        assertThat(sent).allSatisfy(h -> {
            assertThat(h.getMemberId()).isEqualTo("worker-7");
            assertThat(h.getRole()).isEqualTo("worker");
            assertThat(h.getIncarnation()).isEqualTo(INCARNATION);
            assertThat(h.getPid()).isEqualTo(ProcessHandle.current().pid());
            assertThat(h.getIntervalMs()).isEqualTo(1000);
            assertThat(h.getLeaving()).isFalse();
            assertThat(h.getSentAt()).isEqualTo(SENT_AT);
        });
        assertThat(keys()).containsOnly("worker-7");
        sender.close();
    }

    @Test
    void shouldSendEveryIntervalOnItsOwnThreadOnceStarted() throws InterruptedException {
        HeartbeatSender sender = sender(Duration.ofMillis(10));

        sender.start();
        boolean threeSent = producer.awaitSends(3, Duration.ofSeconds(10));
        sender.close();

        assertThat(threeSent).as("three heartbeats sent within 10 s at a 10 ms interval").isTrue();
        List<Heartbeat> sent = heartbeats();
        assertThat(sent).extracting(Heartbeat::getSequence)
            .containsExactlyElementsOf(LongStream.rangeClosed(1, sent.size()).boxed().toList());
    }

    @Test
    void shouldSendALeavingHeartbeatFlushAndCloseOnClose() {
        HeartbeatSender sender = sender(Duration.ofSeconds(1));
        sender.beat(false);
        sender.beat(false);

        sender.close();

        List<Heartbeat> sent = heartbeats();
        assertThat(sent).extracting(Heartbeat::getLeaving).containsExactly(false, false, true);
        assertThat(sent.get(2).getSequence()).isEqualTo(3L);
        assertThat(producer.flushed()).isTrue();
        assertThat(producer.closed()).isTrue();
        assertThat(sender.state()).isEqualTo(Service.State.CLOSED);
    }

    @Test
    void shouldStopWithoutALeavingHeartbeatWhenItCrashes() {
        HeartbeatSender sender = sender(Duration.ofSeconds(1));
        sender.beat(false);

        sender.crash();
        sender.close();

        assertThat(heartbeats()).extracting(Heartbeat::getLeaving).containsExactly(false);
        assertThat(producer.closed()).isTrue();
        assertThat(sender.state()).isEqualTo(Service.State.CLOSED);
    }

    @Test
    void shouldKeepBeatingAfterASendFails() throws InterruptedException {
        producer.failNextSend();
        HeartbeatSender sender = sender(Duration.ofMillis(10));

        sender.start();
        boolean sentAfterFailure = producer.awaitSends(2, Duration.ofSeconds(10));
        sender.close();

        assertThat(sentAfterFailure).as("heartbeats sent after a failed one").isTrue();
    }

    @Test
    void shouldRefuseANonPositiveInterval() {
        assertThatThrownBy(() -> sender(Duration.ZERO)).hasMessageContaining(HeartbeatSender.INTERVAL_KEY);
    }

    private HeartbeatSender sender(Duration interval) {
        return new HeartbeatSender("worker-7", "worker", interval, producer, serdes, INCARNATION,
            Clock.fixed(SENT_AT, ZoneOffset.UTC));
    }

    private List<Heartbeat> heartbeats() {
        Deserializer<Heartbeat> deserializer = serdes.valueSerde(Topics.MEMBERSHIP_HEARTBEATS).deserializer();
        assertThat(producer.history()).extracting(ProducerRecord::topic)
            .containsOnly(Topics.MEMBERSHIP_HEARTBEATS.name());
        return producer.history().stream().map(r -> deserializer.deserialize(r.topic(), r.value())).toList();
    }

    private List<String> keys() {
        Deserializer<String> deserializer = serdes.keySerde(Topics.MEMBERSHIP_HEARTBEATS).deserializer();
        return producer.history().stream().map(r -> deserializer.deserialize(r.topic(), r.key())).toList();
    }

    /** A MockProducer that lets a test wait, bounded, for sends made on another thread. */
    private static final class CountingProducer extends MockProducer<byte[], byte[]> {
        private final Semaphore sends = new Semaphore(0);
        private volatile boolean failNext;

        CountingProducer() {
            super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        }

        void failNextSend() {
            failNext = true;
        }

        @Override
        public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
            if (failNext) {
                failNext = false;
                throw new IllegalStateException("broker gone (simulated)");
            }
            Future<RecordMetadata> result = super.send(record, callback);
            sends.release();
            return result;
        }

        boolean awaitSends(int count, Duration timeout) throws InterruptedException {
            return sends.tryAcquire(count, timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }
}
