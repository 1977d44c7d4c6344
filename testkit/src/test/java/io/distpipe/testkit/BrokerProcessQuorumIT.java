package io.distpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import io.distpipe.cluster.BrokerProcess;
import io.distpipe.common.KafkaCluster;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrokerProcessQuorumIT {

    @TempDir
    Path dir;

    /** The quorum's processes seen as one cluster. */
    private record Quorum(List<BrokerProcess> nodes) implements KafkaCluster {
        @Override
        public String bootstrapServers() {
            return BrokerProcess.bootstrapServers(nodes);
        }

        @Override
        public int brokerCount() {
            return nodes.size();
        }

        @Override
        public void close() {
            // SIGKILL: a clean stop of the last voter waits 5 s for a new leader that never comes.
            nodes.forEach(BrokerProcess::kill);
        }
    }

    @Test
    void shouldKeepServingAckedRecordsWhenTheLeaderProcessOfAThreeNodeQuorumIsKilled() {
        try (Quorum quorum = new Quorum(BrokerProcess.startQuorum(dir, 3))) {
            assertThat(quorum.nodes()).extracting(node -> node.config().clusterId())
                    .containsOnly(quorum.nodes().get(0).config().clusterId());
            String topic = TestClients.uniqueName("quorum");
            TestClients.createTopic(quorum, topic, 3, Map.of(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, "2"));
            List<String> before = IntStream.range(0, 5).mapToObj(i -> "before-" + i).toList();
            TestClients.sendAcked(quorum, topic, before);

            int leader = TestClients.describeTopic(quorum, topic).partitions().get(0).leader().id();
            BrokerProcess killed = quorum.nodes().get(leader - 1);
            killed.kill();
            assertThat(killed.isAlive()).isFalse();

            List<String> after = IntStream.range(0, 5).mapToObj(i -> "after-" + i).toList();
            TestClients.sendAcked(quorum, topic, after);
            List<String> expected = new ArrayList<>(before);
            expected.addAll(after);
            assertThat(TestClients.readAll(quorum, topic, IsolationLevel.READ_UNCOMMITTED))
                    .containsExactlyElementsOf(expected);
        }
    }
}
