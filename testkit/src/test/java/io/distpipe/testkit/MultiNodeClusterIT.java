package io.distpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import io.distpipe.common.KafkaCluster;
import io.distpipe.common.Poll;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

class MultiNodeClusterIT {

    @Test
    void shouldServeWithOneBrokerStoppedAndLetItRejoinTheIsrAfterRestart() {
        try (MultiNodeCluster cluster = MultiNodeCluster.start(3)) {
            assertThat(cluster.brokerCount()).isEqualTo(3);
            assertThat(cluster.runningBrokers()).hasSize(3);
            String topic = TestClients.uniqueName("multi-node");
            TestClients.createTopic(cluster, topic, 3, Map.of(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, "2"));

            List<String> before = values("before", 5);
            TestClients.sendAcked(cluster, topic, before);
            int leader = partition(cluster, topic).leader().id();

            cluster.stopBroker(leader);
            assertThat(cluster.runningBrokers()).hasSize(2).doesNotContain(leader);
            List<String> during = values("during", 5);
            TestClients.sendAcked(cluster, topic, during);
            List<String> expected = new ArrayList<>(before);
            expected.addAll(during);
            assertThat(TestClients.readAll(cluster, topic, IsolationLevel.READ_UNCOMMITTED))
                    .containsExactlyElementsOf(expected);

            cluster.startBroker(leader);
            assertThat(cluster.runningBrokers()).isEqualTo(cluster.brokerIds());
            Poll.until("broker " + leader + " to rejoin the ISR of " + topic, TestClients.WAIT,
                    () -> partition(cluster, topic).isr().stream().map(Node::id).toList().contains(leader));
            assertThat(partition(cluster, topic).isr()).hasSize(3);
        }
    }

    private static TopicPartitionInfo partition(KafkaCluster cluster, String topic) {
        TopicDescription description = TestClients.describeTopic(cluster, topic);
        return description.partitions().get(0);
    }

    private static List<String> values(String prefix, int count) {
        return IntStream.range(0, count).mapToObj(i -> prefix + "-" + i).toList();
    }
}
