package io.distpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import io.distpipe.cluster.BrokerProcess;
import org.apache.kafka.common.IsolationLevel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrokerProcessIT {

    @TempDir
    Path dataDir;

    @Test
    void shouldKeepAckedRecordsWhenKilledAndRestartedOnTheSameDirectory() {
        try (BrokerProcess broker = BrokerProcess.start(dataDir)) {
            String topic = TestClients.uniqueName("killed-broker");
            TestClients.createTopic(broker, topic, 1, Map.of());
            List<String> acked = IntStream.range(0, 10).mapToObj(i -> "acked-" + i).toList();
            TestClients.sendAcked(broker, topic, acked);
            long firstPid = broker.pid();

            broker.kill();
            assertThat(broker.isAlive()).isFalse();
            assertThat(ProcessHandle.of(firstPid).filter(ProcessHandle::isAlive)).as("pid %d after kill", firstPid)
                    .isEmpty();

            broker.restart();
            assertThat(broker.pid()).isNotEqualTo(firstPid);
            assertThat(TestClients.readAll(broker, topic, IsolationLevel.READ_UNCOMMITTED))
                    .containsExactlyElementsOf(acked);
        }
    }
}
