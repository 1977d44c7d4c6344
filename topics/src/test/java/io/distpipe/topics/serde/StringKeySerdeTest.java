package io.distpipe.topics.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;

class StringKeySerdeTest {

    private static final List<String> KEYS = List.of("", "7", "job-1/a.txt#0", "ünïcödé ✓ 素数", "x".repeat(70),
        "y".repeat(20_000));

    private final AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
    private final String topic = Topics.PRIMES_FOUND.name();

    @Test
    void shouldWriteExactlyTheBytesOfTheFullSerializer() {
        Serializer<String> fast = serdes.keySerde(Topics.PRIMES_FOUND).serializer();
        Serializer<String> full = new AvroSerdes(serdes.registry()).fullSerializer(String.class, true);
        for (String key : KEYS) {
            fast.serialize(topic, "warm-up");
            assertThat(fast.serialize(topic, key)).as("key of %d chars", key.length())
                .isEqualTo(full.serialize(topic, key));
        }
    }

    @Test
    void shouldReadWhatTheFullSerializerWrote() {
        Serializer<String> full = serdes.fullSerializer(String.class, true);
        Deserializer<String> fast = serdes.keySerde(Topics.PRIMES_FOUND).deserializer();
        for (String key : KEYS) {
            assertThat(fast.deserialize(topic, full.serialize(topic, key))).isEqualTo(key);
            assertThat(fast.deserialize(topic, full.serialize(topic, key))).as("second read, direct path")
                .isEqualTo(key);
        }
    }

    @Test
    void shouldRefuseATruncatedKeyOnTheDirectPath() {
        Serializer<String> full = serdes.fullSerializer(String.class, true);
        Deserializer<String> fast = serdes.keySerde(Topics.PRIMES_FOUND).deserializer();
        byte[] good = full.serialize(topic, "12345");
        fast.deserialize(topic, good);
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 2);

        assertThatThrownBy(() -> fast.deserialize(topic, truncated)).isInstanceOf(SerializationException.class)
            .hasMessageContaining(topic);
    }
}
