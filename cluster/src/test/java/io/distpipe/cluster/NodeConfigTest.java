package io.distpipe.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;

import io.distpipe.common.Ports;
import kafka.server.KafkaConfig;
import org.apache.kafka.coordinator.group.GroupCoordinatorConfig;
import org.apache.kafka.coordinator.transaction.TransactionLogConfig;
import org.apache.kafka.network.SocketServerConfigs;
import org.apache.kafka.raft.QuorumConfig;
import org.apache.kafka.server.config.ServerLogConfigs;
import org.junit.jupiter.api.Test;

class NodeConfigTest {

    private static final Path DIR = Path.of("/tmp/distpipe-node-config-test");

    @Test
    void shouldPickTwoDistinctLoopbackPortsForASingleNode() {
        NodeConfig config = NodeConfig.singleNode(DIR, Map.of());

        assertThat(config.port()).isNotEqualTo(config.controllerPort());
        assertThat(config.host()).isEqualTo(Ports.LOOPBACK);
        assertThat(config.bootstrapServers()).isEqualTo("127.0.0.1:" + config.port());
        assertThat(config.quorumVoters()).isEqualTo("1@127.0.0.1:" + config.controllerPort());
        assertThat(config.logDir()).isEqualTo(DIR.resolve("kafka-logs"));
    }

    @Test
    void shouldBuildServerPropertiesThatKafkaAccepts() {
        NodeConfig config = NodeConfig.singleNode(DIR, Map.of(GroupCoordinatorConfig.GROUP_MAX_SIZE_CONFIG, "7"));

        Map<String, String> props = config.serverProperties();
        KafkaConfig kafkaConfig = new KafkaConfig(props, false);

        assertThat(kafkaConfig.nodeId()).isEqualTo(1);
        assertThat(props).containsEntry(ServerLogConfigs.AUTO_CREATE_TOPICS_ENABLE_CONFIG, "false")
                .containsEntry(GroupCoordinatorConfig.OFFSETS_TOPIC_REPLICATION_FACTOR_CONFIG, "1")
                .containsEntry(TransactionLogConfig.TRANSACTIONS_TOPIC_MIN_ISR_CONFIG, "1")
                .containsEntry(GroupCoordinatorConfig.GROUP_MIN_SESSION_TIMEOUT_MS_CONFIG, "1000")
                .containsEntry(GroupCoordinatorConfig.GROUP_MAX_SIZE_CONFIG, "7")
                .containsEntry(SocketServerConfigs.LISTENERS_CONFIG, "PLAINTEXT://127.0.0.1:" + config.port()
                        + ",CONTROLLER://127.0.0.1:" + config.controllerPort());
    }

    @Test
    void shouldSizeInternalTopicsForAThreeNodeQuorum() {
        NodeConfig config = new NodeConfig(2, DIR, Ports.LOOPBACK, 9092, 9093,
                "1@127.0.0.1:9193,2@127.0.0.1:9093,3@127.0.0.1:9293", "abc", Map.of());

        Map<String, String> props = config.serverProperties();
        new KafkaConfig(props, false);

        assertThat(config.voterCount()).isEqualTo(3);
        assertThat(props).containsEntry(GroupCoordinatorConfig.OFFSETS_TOPIC_REPLICATION_FACTOR_CONFIG, "3")
                .containsEntry(TransactionLogConfig.TRANSACTIONS_TOPIC_REPLICATION_FACTOR_CONFIG, "3")
                .containsEntry(TransactionLogConfig.TRANSACTIONS_TOPIC_MIN_ISR_CONFIG, "2")
                .containsEntry(QuorumConfig.QUORUM_VOTERS_CONFIG,
                        "1@127.0.0.1:9193,2@127.0.0.1:9093,3@127.0.0.1:9293");
    }

    @Test
    void shouldTakePortsFromAListenersOverride() {
        NodeConfig config = NodeConfig.singleNode(DIR, Map.of(SocketServerConfigs.LISTENERS_CONFIG,
                "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"));

        assertThat(config.port()).isEqualTo(19092);
        assertThat(config.controllerPort()).isEqualTo(19093);
        assertThat(config.quorumVoters()).isEqualTo("1@127.0.0.1:19093");
        assertThat(config.serverProperties()).containsEntry(SocketServerConfigs.LISTENERS_CONFIG,
                "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093");
    }

    @Test
    void shouldRejectAListenersOverrideWithoutFixedPortsOrController() {
        assertThatThrownBy(() -> NodeConfig.singleNode(DIR, Map.of(SocketServerConfigs.LISTENERS_CONFIG,
                "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:19093")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fixed port");
        assertThatThrownBy(() -> NodeConfig.singleNode(DIR, Map.of(SocketServerConfigs.LISTENERS_CONFIG,
                "PLAINTEXT://127.0.0.1:19092")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("CONTROLLER");
    }

    @Test
    void shouldRejectANodeThatIsNotAVoter() {
        assertThatThrownBy(() -> new NodeConfig(4, DIR, Ports.LOOPBACK, 9092, 9093, "1@127.0.0.1:9093", null,
                Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("node id 4 is not a voter");
    }
}
