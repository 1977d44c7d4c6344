package io.distpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.distpipe.cluster.AdminCalls;
import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.cluster.NodeConfig;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.Ports;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.server.common.TransactionVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaIT {

    @TempDir
    Path dataDir;

    @Test
    void shouldKeepCommittedRecordsAndClusterIdWhenRestartedOnTheSameDirectory() {
        String topic = TestClients.uniqueName("embedded-txn");
        String clusterId;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dataDir)) {
            assertThat(kafka.brokerCount()).isEqualTo(1);
            assertThat(kafka.bootstrapServers()).startsWith(Ports.LOOPBACK + ":");
            assertThat(finalizedLevel(kafka, TransactionVersion.FEATURE_NAME)).isGreaterThanOrEqualTo((short) 2);
            TestClients.createTopic(kafka, topic, 1, Map.of());

            try (KafkaProducer<String, String> producer = TestClients.producer(kafka,
                    Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, TestClients.uniqueName("embedded-tx")))) {
                producer.initTransactions();
                producer.beginTransaction();
                for (String value : List.of("a", "b", "c")) {
                    producer.send(new ProducerRecord<>(topic, 0, value, value));
                }
                producer.commitTransaction();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>(topic, 0, "aborted", "aborted"));
                producer.abortTransaction();
            }

            assertThat(TestClients.readAll(kafka, topic, IsolationLevel.READ_COMMITTED)).containsExactly("a", "b", "c");
            clusterId = kafka.clusterId();
            kafka.close();
            kafka.close();
        }

        try (EmbeddedKafka restarted = EmbeddedKafka.start(dataDir)) {
            assertThat(restarted.clusterId()).isEqualTo(clusterId);
            assertThat(TestClients.readAll(restarted, topic, IsolationLevel.READ_COMMITTED))
                    .containsExactly("a", "b", "c");
        }
    }

    @Test
    void shouldDeleteTheTemporaryDirectoryOnClose() {
        Path temporary;
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary()) {
            temporary = kafka.dataDir();
            assertThat(temporary.resolve(NodeConfig.LOG_DIR_NAME).resolve("meta.properties")).exists();
        }
        assertThat(Files.exists(temporary)).as("temporary directory %s after close", temporary).isFalse();
    }

    private static short finalizedLevel(KafkaCluster cluster, String feature) {
        try (Admin admin = TestClients.admin(cluster)) {
            FinalizedVersionRange range = AdminCalls.get(admin.describeFeatures().featureMetadata())
                    .finalizedFeatures().get(feature);
            assertThat(range).as("finalized feature %s", feature).isNotNull();
            return range.maxVersionLevel();
        }
    }
}
