package io.distpipe.topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;

import io.distpipe.primes.PrimeFound;
import io.distpipe.primes.Task;
import io.distpipe.primes.TaskMessage;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.RegisteredSchema;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AvroSerdesTest {

    private final InMemorySchemaRegistry registry = new InMemorySchemaRegistry();
    private final AvroSerdes serdes = new AvroSerdes(registry);

    static java.util.stream.Stream<TopicSpec<?, ?>> topics() {
        return Topics.ALL.stream().filter(Topics::isAvro);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("topics")
    <K, V> void shouldRoundTripKeyAndValueOfEveryCatalogTopic(TopicSpec<K, V> topic) {
        K key = topic.keyType().cast(Samples.sampleOf(topic.keyType()));
        V value = topic.valueType().cast(Samples.sampleOf(topic.valueType()));
        assertThat(key).as("sample key for " + topic.name()).isNotNull();
        assertThat(value).as("sample value for " + topic.name()).isNotNull();

        Serde<K> keySerde = serdes.keySerde(topic);
        Serde<V> valueSerde = serdes.valueSerde(topic);
        byte[] keyBytes = keySerde.serializer().serialize(topic.name(), key);
        byte[] valueBytes = valueSerde.serializer().serialize(topic.name(), value);

        assertThat(keySerde.deserializer().deserialize(topic.name(), keyBytes)).isEqualTo(key);
        assertThat(valueSerde.deserializer().deserialize(topic.name(), valueBytes)).isEqualTo(value);
        assertThat(registry.subjects()).contains(topic.keySubject(), topic.valueSubject());
    }

    @Test
    void shouldFrameValuesInTheConfluentWireFormat() {
        TaskMessage message = (TaskMessage) Samples.sampleOf(TaskMessage.class);
        byte[] bytes = serdes.valueSerde(Topics.PRIMES_TASKS).serializer().serialize("primes.tasks", message);

        RegisteredSchema registered = registry.version("primes.tasks-value", -1);
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        assertThat(buffer.get()).as("magic byte").isEqualTo((byte) 0);
        assertThat(buffer.getInt()).as("schema id").isEqualTo(registered.id());
        assertThat(TopicAdmin.schemaOf(TaskMessage.class).toString()).isEqualTo(registered.schema());
        assertThat(bytes.length).isLessThan(200);
    }

    @Test
    void shouldKeepNumbersLargerThanALongExact() {
        PrimeFound found = (PrimeFound) Samples.sampleOf(PrimeFound.class);
        Serde<PrimeFound> serde = serdes.valueSerde(Topics.PRIMES_FOUND);

        PrimeFound back = serde.deserializer().deserialize("primes.found",
            serde.serializer().serialize("primes.found", found));

        assertThat(Numbers.fromBytes(back.getNumber())).isEqualTo(Samples.HUGE);
    }

    @Test
    void shouldReadAnyRecordGenericallyThroughTheRegistry() {
        TaskMessage message = (TaskMessage) Samples.sampleOf(TaskMessage.class);
        byte[] bytes = serdes.valueSerde(Topics.PRIMES_TASKS).serializer().serialize("primes.tasks", message);

        Object generic = serdes.genericDeserializer(false).deserialize("primes.tasks", bytes);

        assertThat(generic).isInstanceOf(GenericRecord.class);
        GenericRecord payload = (GenericRecord) ((GenericRecord) generic).get("payload");
        assertThat(payload.getSchema().getFullName()).isEqualTo(Task.class.getName());
        assertThat(payload.get("taskId").toString()).isEqualTo("job-1/a.txt#0");
    }

    @Test
    void shouldFailClearlyOnAnUnknownSchemaId() {
        byte[] bytes = {0, 0, 0, 0x7f, 0x7f, 2, 4};

        assertThatThrownBy(() -> serdes.valueSerde(Topics.PRIMES_TASKS).deserializer().deserialize("primes.tasks",
            bytes)).isInstanceOf(SerializationException.class).hasMessageContaining("Schema 32639 not found");
    }

    @Test
    void shouldRefuseARecordOfAnotherTypeThanTheCatalogDeclares() {
        byte[] bytes = serdes.valueSerde(Topics.PRIMES_FOUND).serializer()
            .serialize("primes.found", (PrimeFound) Samples.sampleOf(PrimeFound.class));

        assertThatThrownBy(() -> serdes.valueSerde(Topics.PRIMES_TASKS).deserializer()
            .deserialize("primes.found", bytes))
            .isInstanceOf(SerializationException.class)
            .hasMessageContaining("PrimeFound");
    }

    @Test
    void shouldPassTombstonesThrough() {
        Serde<TaskMessage> serde = serdes.valueSerde(Topics.PRIMES_TASKS);

        assertThat(serde.serializer().serialize("primes.tasks", null)).isNull();
        assertThat(serde.deserializer().deserialize("primes.tasks", null)).isNull();
    }
}
