package io.distpipe.topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;

import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

class TopicsTest {

    @Test
    void shouldDeclareEachTopicOnceWithAWriter() {
        Set<String> names = new HashSet<>();
        for (TopicSpec<?, ?> topic : Topics.ALL) {
            assertThat(names.add(topic.name())).as("declared once: " + topic.name()).isTrue();
            assertThat(topic.writer()).isNotBlank();
            assertThat(Topics.byName(topic.name())).containsSame(topic);
        }
        assertThat(Topics.byName("no.such.topic")).isEmpty();
        assertThat(Topics.external()).doesNotContain(Topics.PRIMES_DEDUP_CHANGELOG,
            Topics.MEMBERSHIP_MEMBERS_CHANGELOG, Topics.MEMBERSHIP_EPOCH_CHANGELOG).contains(Topics.PRIMES_TASKS);
    }

    @Test
    void shouldCapReplicationToTheBrokersAndKeepOneBrokerOfSlack() {
        TopicSpec<?, ?> tasks = Topics.PRIMES_TASKS;

        assertThat(tasks.effectiveReplication(1, 3)).isEqualTo((short) 1);
        assertThat(tasks.effectiveReplication(5, 3)).isEqualTo((short) 3);
        assertThat(tasks.effectiveReplication(5, 1)).isEqualTo((short) 1);
        assertThat(tasks.configs((short) 3)).containsEntry(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, "2");
        assertThat(tasks.configs((short) 1)).containsEntry(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, "1");
        assertThat(Topics.PRIMES_JOBS.configs((short) 1))
            .containsEntry(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT);
    }

    @Test
    void shouldRefuseAnIllegalTopicName() {
        assertThatThrownBy(() -> new TopicSpec<>("bad name", String.class, String.class, 1, (short) 1, 1,
            TopicSpec.Cleanup.DELETE, -1, "test", "", false)).hasMessageContaining("bad name");
    }
}
