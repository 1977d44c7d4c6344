package io.distpipe.primes.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.primes.PrimeFound;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dedup processor on a real broker under exactly-once: duplicates removed, poison records dead-lettered. */
class DedupServiceIT {

    @TempDir
    Path stateDir;

    @Test
    void shouldEmitEachPrimeOnceAndDeadLetterAPoisonRecordUnderExactlyOnce() throws Exception {
        AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary();
             Admin admin = Admin.create(KafkaClients.common(kafka.bootstrapServers(), "it-admin"));
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClients.producer(
                 kafka.bootstrapServers(), "it-producer"))) {
            TopicAdmin.ensureTopics(admin, Topics.external(), 1);
            String topic = Topics.PRIMES_FOUND.name();
            byte[] poisonValue = "not avro at all".getBytes(StandardCharsets.UTF_8);
            byte[] key = serdes.keySerde(Topics.PRIMES_FOUND).serializer().serialize(topic, "13");
            // Everything goes to partition 0, so the poison record sits between good ones.
            producer.send(new ProducerRecord<>(topic, 0, key, prime(serdes, 13, "job-a"))).get();
            producer.send(new ProducerRecord<>(topic, 0, key, poisonValue)).get();
            producer.send(new ProducerRecord<>(topic, 0, key, prime(serdes, 13, "job-a"))).get();
            producer.send(new ProducerRecord<>(topic, 0, key, prime(serdes, 13, "job-b"))).get();

            try (DedupService dedup = new DedupService("dedup-it", kafka.bootstrapServers(), 1, stateDir, serdes)) {
                dedup.start();
                dedup.awaitRunning(Duration.ofSeconds(60));

                List<ConsumerRecord<byte[], byte[]>> unique = readUntil(kafka, Topics.PRIMES_UNIQUE,
                    records -> records.size() >= 2);
                List<ConsumerRecord<byte[], byte[]>> dead = readUntil(kafka, Topics.PRIMES_FOUND_DLQ,
                    records -> !records.isEmpty());

                assertThat(unique).extracting(r -> serdes.valueSerde(Topics.PRIMES_UNIQUE).deserializer()
                    .deserialize(r.topic(), r.value()).getJobId()).containsExactly("job-a", "job-b");
                assertThat(dead).singleElement().satisfies(r -> assertThat(r.value()).isEqualTo(poisonValue));
            }
        }
    }

    private static byte[] prime(AvroSerdes serdes, long n, String job) {
        PrimeFound prime = PrimeFound.newBuilder().setNumber(Numbers.toBytes(BigInteger.valueOf(n))).setJobId(job)
            .setTaskId(job + "/a.txt#0").setWorkerId("worker-1").setProbable(false).build();
        return serdes.valueSerde(Topics.PRIMES_FOUND).serializer().serialize(Topics.PRIMES_FOUND.name(), prime);
    }

    /** Reads a topic (read_committed) until {@code done} holds, for at most 60 s; a few more seconds for extras. */
    private static List<ConsumerRecord<byte[], byte[]>> readUntil(
        EmbeddedKafka kafka, TopicSpec<?, ?> topic, Predicate<List<ConsumerRecord<byte[], byte[]>>> done) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaClients.consumer(
            kafka.bootstrapServers(), null, "it-reader", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic.name()).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!done.test(records) && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            assertThat(done.test(records)).as("records on " + topic.name() + " within 60 s: " + records.size())
                .isTrue();
            long extra = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (System.nanoTime() < extra) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }
}
