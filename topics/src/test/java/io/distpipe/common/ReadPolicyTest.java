package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import io.distpipe.common.ReadPolicy.GaveUpException;
import io.distpipe.common.ReadPolicy.Kind;
import io.distpipe.common.ReadPolicy.PoisonRecordException;
import io.distpipe.primes.TaskMessage;
import io.distpipe.topics.Samples;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.Test;

/** The one read-error policy: transient failures retried with a bound, poison dead-lettered with its reason. */
class ReadPolicyTest {

    private static final String TOPIC = Topics.PRIMES_TASKS.name();

    private final List<Long> slept = new ArrayList<>();
    private long now = 1_000_000_000L;
    private final ReadPolicy policy = new ReadPolicy("W1", Duration.ofSeconds(1), millis -> {
        slept.add(millis);
        now += millis * 1_000_000L;
    }, () -> now);
    private final Deserializer<TaskMessage> reader = new AvroSerdes(new InMemorySchemaRegistry())
        .valueSerde(Topics.PRIMES_TASKS).deserializer();

    private static ConsumerRecord<byte[], byte[]> record(byte[] value) {
        return new ConsumerRecord<>(TOPIC, 2, 17L, "k".getBytes(StandardCharsets.UTF_8), value);
    }

    @Test
    void shouldCallGarbageBytesPoisonAndDeadLetterThemWithTheReason() {
        ConsumerRecord<byte[], byte[]> garbage = record("not avro at all".getBytes(StandardCharsets.UTF_8));

        Throwable thrown = catchThrowable(() -> policy.read(garbage, r -> reader.deserialize(r.topic(), r.value())));

        assertThat(thrown).isInstanceOf(PoisonRecordException.class).hasMessageContaining(TOPIC + "-2@17");
        assertThat(slept).as("poison is not retried").isEmpty();
        ProducerRecord<byte[], byte[]> dead = policy.deadLetter("x.dlq", (PoisonRecordException) thrown);
        assertThat(dead.topic()).isEqualTo("x.dlq");
        assertThat(dead.value()).isEqualTo(garbage.value());
        assertThat(dead.key()).isEqualTo(garbage.key());
        assertThat(header(dead, ReadPolicy.HEADER_SOURCE)).isEqualTo(TOPIC + "-2@17");
        assertThat(header(dead, ReadPolicy.HEADER_COMPONENT)).isEqualTo("W1");
        assertThat(header(dead, ReadPolicy.HEADER_REASON)).isNotBlank();
    }

    @Test
    void shouldCallAnUnknownSchemaIdPoison() {
        byte[] unknownId = ByteBuffer.allocate(9).put((byte) 0).putInt(4711).putInt(0).array();

        Throwable thrown = catchThrowable(() -> policy.read(record(unknownId),
            r -> reader.deserialize(r.topic(), r.value())));

        assertThat(thrown).isInstanceOf(PoisonRecordException.class);
        assertThat(slept).isEmpty();
    }

    @Test
    void shouldRetryARegistryOutageWithBackoffAndThenGiveUpInsteadOfSkipping() throws Exception {
        byte[] bytes;
        String url;
        try (SchemaRegistryServer server = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0)) {
            url = server.url();
            bytes = AvroSerdes.connect(url).valueSerde(Topics.PRIMES_TASKS).serializer()
                .serialize(TOPIC, (TaskMessage) Samples.sampleOf(TaskMessage.class));
        }
        Deserializer<TaskMessage> cut = AvroSerdes.connect(url).valueSerde(Topics.PRIMES_TASKS).deserializer();

        Throwable thrown = catchThrowable(() -> policy.read(record(bytes), r -> cut.deserialize(r.topic(), r.value())));

        assertThat(thrown).isInstanceOf(GaveUpException.class).isNotInstanceOf(PoisonRecordException.class)
            .hasMessageStartingWith("W1: gave up: Could not read " + TOPIC + "-2@17 within 1 s (5 attempts; last: "
                + "Schema registry at ");
        assertThat(slept).as("backoff doubles within the bound").containsExactly(100L, 200L, 400L, 300L);
    }

    @Test
    void shouldReturnTheRecordOnceATransientFailureClears() {
        AtomicInteger calls = new AtomicInteger();

        String read = policy.read(record(new byte[0]), r -> {
            if (calls.incrementAndGet() < 3) {
                throw new TimeoutException("broker did not answer");
            }
            return "read";
        });

        assertThat(read).isEqualTo("read");
        assertThat(slept).hasSize(2);
    }

    @Test
    void shouldClassifyByTheCauseChain() {
        assertThat(ReadPolicy.classify(new SerializationException("bad bytes"))).isEqualTo(Kind.POISON);
        assertThat(ReadPolicy.classify(new SerializationException("wrapped", new TimeoutException("t"))))
            .isEqualTo(Kind.TRANSIENT);
        assertThat(ReadPolicy.classify(new IllegalStateException("no payload"))).isEqualTo(Kind.POISON);
        assertThat(Retry.isTransient(new SerializationException("wrapped", new TimeoutException("t"))))
            .as("the same decision as Retry's").isTrue();
    }

    private static String header(ProducerRecord<byte[], byte[]> r, String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}
