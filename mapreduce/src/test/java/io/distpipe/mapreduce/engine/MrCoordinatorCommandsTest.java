package io.distpipe.mapreduce.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.distpipe.common.ReadPolicy;
import io.distpipe.mapreduce.MrJobOutcome;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryException;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's reading of mr.jobs.commands on mock clients, under the one read policy: an unreadable command is
 * dead-lettered with its reason, counted and ends its job FAILED; one the registry cannot be asked about for now
 * stops the coordinator (bounded) instead of being skipped.
 */
class MrCoordinatorCommandsTest {

    private static final TopicPartition COMMANDS = new TopicPartition(Topics.MR_COMMANDS.name(), 0);
    private static final byte[] GARBAGE = "not a command".getBytes(StandardCharsets.UTF_8);

    private final AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
        new ByteArraySerializer());

    private MrCoordinator coordinator(AvroSerdes serdes) {
        consumer.assign(List.of(COMMANDS));
        consumer.updateBeginningOffsets(Map.of(COMMANDS, 0L));
        producer.initTransactions();
        return new MrCoordinator(MrCoordinator.Config.defaults("unused:9092"), serdes,
            new ReadPolicy("mr-coordinator", Duration.ZERO), consumer, producer);
    }

    private byte[] key(String jobId) {
        return serdes.keySerde(Topics.MR_COMMANDS).serializer().serialize(Topics.MR_COMMANDS.name(), jobId);
    }

    private List<ProducerRecord<byte[], byte[]>> written(String topic) {
        return producer.history().stream().filter(r -> r.topic().equals(topic)).toList();
    }

    @Test
    void shouldDeadLetterAnUnreadableCommandCountItAndFailItsJob() {
        MrCoordinator coordinator = coordinator(serdes);
        consumer.addRecord(new ConsumerRecord<>(COMMANDS.topic(), 0, 0, key("wc-1"), GARBAGE));

        coordinator.readCommands();

        assertThat(written(Topics.MR_COMMANDS_DLQ.name())).singleElement().satisfies(r -> {
            assertThat(r.value()).isEqualTo(GARBAGE);
            assertThat(new String(r.headers().lastHeader(ReadPolicy.HEADER_SOURCE).value(), StandardCharsets.UTF_8))
                .isEqualTo("mr.jobs.commands-0@0");
            assertThat(r.headers().lastHeader(ReadPolicy.HEADER_REASON)).isNotNull();
        });
        assertThat(coordinator.deadLetteredCommands()).isEqualTo(1);
        List<MrJobStatus> statuses = written(Topics.MR_JOBS.name()).stream().map(r -> serdes.valueSerde(
            Topics.MR_JOBS).deserializer().deserialize(r.topic(), r.value())).toList();
        assertThat(statuses).last().satisfies(s -> {
            assertThat(s.getJobId()).isEqualTo("wc-1");
            assertThat(s.getOutcome()).isEqualTo(MrJobOutcome.FAILED);
            assertThat(s.getReason()).startsWith("the submit command mr.jobs.commands-0@0 cannot be read (")
                .endsWith("); it was sent to mr.jobs.commands.dlq");
        });
        assertThat(producer.consumerGroupOffsetsHistory()).as("the command's offset commits with its dead letter")
            .singleElement().satisfies(m -> assertThat(m.values().iterator().next())
                .containsEntry(COMMANDS, new OffsetAndMetadata(1)));
    }

    @Test
    void shouldStopRatherThanSkipACommandWhileTheRegistryDoesNotAnswer() {
        byte[] value = serdes.valueSerde(Topics.MR_COMMANDS).serializer().serialize(Topics.MR_COMMANDS.name(),
            io.distpipe.mapreduce.MrJobCommand.newBuilder().setJobId("wc-2").setApp("wc")
                .setInputFiles(List.of("a.txt")).setNReduce(2).setOutputDir("out").setSubmittedBy("test")
                .setSubmittedAt(java.time.Instant.EPOCH).build());
        MrCoordinator coordinator = coordinator(new AvroSerdes(unreachable()));
        consumer.addRecord(new ConsumerRecord<>(COMMANDS.topic(), 0, 0, key("wc-2"), value));

        assertThatThrownBy(coordinator::readCommands).isInstanceOf(ReadPolicy.GaveUpException.class)
            .hasMessageContaining("mr.jobs.commands-0@0");

        assertThat(producer.history()).as("neither skipped nor dead-lettered").isEmpty();
        assertThat(producer.consumerGroupOffsetsHistory()).as("its offset is not committed").isEmpty();
        assertThat(coordinator.deadLetteredCommands()).isZero();
    }

    /** A registry that refuses every call, as an unreachable one does. */
    private static SchemaRegistry unreachable() {
        return (SchemaRegistry) Proxy.newProxyInstance(SchemaRegistry.class.getClassLoader(),
            new Class<?>[] {SchemaRegistry.class}, (proxy, method, args) -> {
                if (method.getName().equals("close")) {
                    return null;
                }
                throw new SchemaRegistryException(SchemaRegistryException.UNREACHABLE,
                    "Schema registry at http://registry.test is unreachable: connection refused");
            });
    }
}
