package io.distpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.Poll;
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

    /**
     * One producer and one consumer per round (raw bytes), every record through the topic's own serdes: all records
     * are sent first, then read back together, so a round costs one fetch cycle rather than one per topic.
     */
    private static void roundTripAll(KafkaCluster cluster, String round) {
        AvroSerdes serdes = AvroSerdes.connect(registry.url());
        Map<String, Object> consumerProps = new HashMap<>(KafkaClients.consumer(cluster.bootstrapServers(), null,
            "it-" + round, KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClients.producer(
                 cluster.bootstrapServers(), "it-" + round), new ByteArraySerializer(), new ByteArraySerializer());
             KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProps, new ByteArrayDeserializer(),
                 new ByteArrayDeserializer())) {
            List<Future<Sent<?, ?>>> sending = new ArrayList<>();
            for (TopicSpec<?, ?> topic : Topics.external()) {
                if (Topics.isAvro(topic)) {
                    sending.add(send(producer, serdes, topic));
                }
            }
            Map<TopicPartition, Sent<?, ?>> pending = new HashMap<>();
            for (Future<Sent<?, ?>> future : sending) {
                Sent<?, ?> sent = sent(future, round);
                pending.put(sent.partition(), sent);
            }
            assertThat(pending).as("one record per Avro topic").hasSize(sending.size());
            consumer.assign(List.copyOf(pending.keySet()));
            pending.values().forEach(s -> consumer.seek(s.partition(), s.offset()));
            Poll.until(round + ": every record read back " + pending.keySet(), Duration.ofSeconds(30), () -> {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                    Sent<?, ?> sent = pending.get(partition);
                    if (sent != null && record.offset() == sent.offset()) {
                        sent.check(record, round);
                        pending.remove(partition);
                    }
                }
                return pending.isEmpty();
            });
        }
    }

    private static <K, V> Future<Sent<?, ?>> send(KafkaProducer<byte[], byte[]> producer, AvroSerdes serdes,
                                                  TopicSpec<K, V> topic) {
        K key = topic.keyType().cast(Samples.sampleOf(topic.keyType()));
        V value = topic.valueType().cast(Samples.sampleOf(topic.valueType()));
        Serde<K> keySerde = serdes.keySerde(topic);
        Serde<V> valueSerde = serdes.valueSerde(topic);
        CompletableFuture<Sent<?, ?>> result = new CompletableFuture<>();
        producer.send(new ProducerRecord<>(topic.name(), keySerde.serializer().serialize(topic.name(), key),
            valueSerde.serializer().serialize(topic.name(), value)), (metadata, error) -> {
                if (error != null) {
                    result.completeExceptionally(new AssertionError("could not send to " + topic.name(), error));
                } else {
                    result.complete(new Sent<>(topic, keySerde, valueSerde, key, value,
                        new TopicPartition(topic.name(), metadata.partition()), metadata.offset()));
                }
            });
        return result;
    }

    private static Sent<?, ?> sent(Future<Sent<?, ?>> future, String round) {
        try {
            return future.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(round + ": a record was not acknowledged", e);
        }
    }

    /** A sample record as sent: where it went, and what reading it back must give. */
    private record Sent<K, V>(TopicSpec<K, V> topic, Serde<K> keySerde, Serde<V> valueSerde, K key, V value,
                              TopicPartition partition, long offset) {

        void check(ConsumerRecord<byte[], byte[]> record, String round) {
            assertThat(keySerde.deserializer().deserialize(topic.name(), record.key()))
                .as(round + " " + topic.name() + " key").isEqualTo(key);
            assertThat(valueSerde.deserializer().deserialize(topic.name(), record.value()))
                .as(round + " " + topic.name() + " value").isEqualTo(value);
        }
    }
}
