package io.distpipe.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BrokerSettingsTest {

    @Test
    void shouldReplicateInternalTopicsUpToThreeWithAMinIsrThatSurvivesOneStoppedBroker() {
        assertThat(BrokerSettings.internalTopicReplication(1)).isEqualTo(1);
        assertThat(BrokerSettings.internalTopicMinIsr(1)).isEqualTo(1);
        assertThat(BrokerSettings.internalTopicReplication(2)).isEqualTo(2);
        assertThat(BrokerSettings.internalTopicMinIsr(2)).isEqualTo(1);
        assertThat(BrokerSettings.internalTopicReplication(3)).isEqualTo(3);
        assertThat(BrokerSettings.internalTopicMinIsr(3)).isEqualTo(2);
        assertThat(BrokerSettings.internalTopicReplication(5)).isEqualTo(3);
        assertThat(BrokerSettings.internalTopicMinIsr(5)).isEqualTo(2);
    }

    @Test
    void shouldKeepHeartbeatsBelowSessionTimeouts() {
        assertThat(BrokerSettings.MIN_HEARTBEAT_INTERVAL_MS).isLessThan(BrokerSettings.MIN_SESSION_TIMEOUT_MS);
        assertThat(BrokerSettings.GROUP_HEARTBEAT_INTERVAL_MS).isLessThan(BrokerSettings.GROUP_SESSION_TIMEOUT_MS);
    }
}
