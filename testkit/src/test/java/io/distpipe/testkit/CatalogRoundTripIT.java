package io.distpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.KafkaCluster;
import io.distpipe.topics.Samples;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serde;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every record type of the catalog goes through the real serdes, an HTTP registry and real brokers, and back. */
class CatalogRoundTripIT {

    private static SchemaRegistryServer registry;

    @BeforeAll
    static void startRegistry() throws Exception {
        registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
    }

    @AfterAll
    static void stopRegistry() {
        registry.close();
    }

    @Test
    void shouldRoundTripEveryRecordTypeOnTheEmbeddedBroker() {
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary()) {
            createTopics(kafka);
            roundTripAll(kafka, "embedded");
        }
    }

    @Test
    void shouldRoundTripEveryRecordTypeOnThreeBrokersWhileOneIsStoppedAndRestarted() {
        try (MultiNodeCluster cluster = MultiNodeCluster.start(3)) {
            List<TopicAdmin.Outcome> outcomes = createTopics(cluster);
            assertThat(outcomes).allSatisfy(o -> assertThat(o.replication()).isEqualTo(3));
            roundTripAll(cluster, "all-up");

            int victim = cluster.runningBrokers().stream().max(Integer::compare).orElseThrow();
            cluster.stopBroker(victim);
            roundTripAll(cluster, "one-down");

            cluster.startBroker(victim);
            assertThat(cluster.runningBrokers()).contains(victim);
            roundTripAll(cluster, "restarted");
        }
    }

    private static List<TopicAdmin.Outcome> createTopics(KafkaCluster cluster) {
        try (Admin admin = Admin.create(KafkaClients.common(cluster.bootstrapServers(), "it-admin"))) {
            return TopicAdmin.ensureTopics(admin, Topics.external(), 3);
        }
    }

    /** One producer and one consumer per round (raw bytes), every record through the topic's own serdes. */
    private static void roundTripAll(KafkaCluster cluster, String round) {
        AvroSerdes serdes = AvroSerdes.connect(registry.url());
        Map<String, Object> consumerProps = new HashMap<>(KafkaClients.consumer(cluster.bootstrapServers(), null,
            "it-" + round, KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClients.producer(
                 cluster.bootstrapServers(), "it-" + round), new ByteArraySerializer(), new ByteArraySerializer());
             KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProps, new ByteArrayDeserializer(),
                 new ByteArrayDeserializer())) {
            for (TopicSpec<?, ?> topic : Topics.external()) {
                if (Topics.isAvro(topic)) {
                    roundTrip(producer, consumer, serdes, topic, round);
                }
            }
        }
    }

    private static <K, V> void roundTrip(KafkaProducer<byte[], byte[]> producer, KafkaConsumer<byte[], byte[]> consumer,
                                         AvroSerdes serdes, TopicSpec<K, V> topic, String round) {
        K key = topic.keyType().cast(Samples.sampleOf(topic.keyType()));
        V value = topic.valueType().cast(Samples.sampleOf(topic.valueType()));
        Serde<K> keySerde = serdes.keySerde(topic);
        Serde<V> valueSerde = serdes.valueSerde(topic);
        RecordMetadata sent;
        try {
            sent = producer.send(new ProducerRecord<>(topic.name(), keySerde.serializer().serialize(topic.name(), key),
                valueSerde.serializer().serialize(topic.name(), value))).get();
        } catch (Exception e) {
            throw new AssertionError(round + ": could not send to " + topic.name(), e);
        }
        TopicPartition partition = new TopicPartition(topic.name(), sent.partition());
        consumer.assign(List.of(partition));
        consumer.seek(partition, sent.offset());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                if (record.offset() == sent.offset()) {
                    assertThat(keySerde.deserializer().deserialize(topic.name(), record.key()))
                        .as(round + " " + topic.name() + " key").isEqualTo(key);
                    assertThat(valueSerde.deserializer().deserialize(topic.name(), record.value()))
                        .as(round + " " + topic.name() + " value").isEqualTo(value);
                    return;
                }
            }
        }
        throw new AssertionError(round + ": the record sent to " + topic.name() + " was not read back in 30 s");
    }
}
