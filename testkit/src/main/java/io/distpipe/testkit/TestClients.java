package io.distpipe.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import io.distpipe.cluster.AdminCalls;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.Poll;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Small Kafka client helpers shared by this module's integration tests. */
final class TestClients {

    public static final Duration WAIT = Duration.ofSeconds(30);

    private TestClients() {
    }

    public static String uniqueName(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    public static Admin admin(KafkaCluster cluster) {
        return AdminCalls.create(cluster.bootstrapServers(), uniqueName("test-admin"));
    }

    public static void createTopic(KafkaCluster cluster, String topic, int replication, Map<String, String> configs) {
        try (Admin admin = admin(cluster)) {
            NewTopic newTopic = new NewTopic(topic, 1, (short) replication).configs(configs);
            AdminCalls.get(admin.createTopics(List.of(newTopic)).all());
        }
    }

    public static TopicDescription describeTopic(KafkaCluster cluster, String topic) {
        try (Admin admin = admin(cluster)) {
            return AdminCalls.get(admin.describeTopics(List.of(topic)).allTopicNames()).get(topic);
        }
    }

    public static KafkaProducer<String, String> producer(KafkaCluster cluster, Map<String, Object> extra) {
        Properties props = new Properties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) WAIT.toMillis());
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) WAIT.toMillis());
        props.putAll(extra);
        return new KafkaProducer<>(props);
    }

    /** Sends each value to partition 0 and waits for its acknowledgement. */
    public static void sendAcked(KafkaCluster cluster, String topic, List<String> values) {
        try (KafkaProducer<String, String> producer = producer(cluster, Map.of())) {
            for (String value : values) {
                try {
                    producer.send(new ProducerRecord<>(topic, 0, value, value)).get();
                } catch (Exception e) {
                    throw new AssertionError("Record '" + value + "' was not acknowledged: " + e.getMessage(), e);
                }
            }
        }
    }

    /**
     * Reads partition 0 of {@code topic} from the beginning up to its end offset (the last stable offset under
     * {@code read_committed}) and returns the values.
     */
    public static List<String> readAll(KafkaCluster cluster, String topic, IsolationLevel isolation) {
        Properties props = new Properties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation.toString());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        TopicPartition partition = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition), WAIT).get(partition);
            List<String> values = new ArrayList<>();
            Poll.until("the consumer to reach offset " + end + " of " + partition, WAIT, () -> {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(record.value());
                }
                return consumer.position(partition) >= end;
            });
            return values;
        }
    }
}
