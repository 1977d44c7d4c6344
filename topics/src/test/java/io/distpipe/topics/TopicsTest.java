package io.distpipe.topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
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

    /**
     * Topics a component reads from their start to rebuild its state after a restart: their records must outlive any
     * retention period, or a restart after it silently loses them (SystemRetentionIT shows it for primes).
     */
    @Test
    void shouldKeepForeverWhatARestartReadsBackFromTheStart() {
        List<TopicSpec<?, ?>> state = List.of(Topics.PRIMES_COMPLETED, Topics.PRIMES_UNIQUE, Topics.PRIMES_JOBS,
            Topics.PRIMES_DEDUP_CHANGELOG, Topics.MEMBERSHIP_EVENTS, Topics.MEMBERSHIP_MEMBERS_CHANGELOG,
            Topics.MEMBERSHIP_EPOCH_CHANGELOG, Topics.REPLICAS_CHECKPOINTS, Topics.REPLICAS_REQUESTS,
            Topics.REPLICAS_ROLES, Topics.REPLICAS_ROLES_CHANGELOG, Topics.REGISTRY_JOURNAL, Topics.REGISTRY_SNAPSHOTS,
            Topics.MR_JOBS, Topics.CHAT_EVENTS, Topics.KV_DECISIONS);
        for (TopicSpec<?, ?> topic : state) {
            assertThat(topic.cleanup() == TopicSpec.Cleanup.COMPACT || topic.retentionMs() == -1)
                .as(topic.name() + " is compacted or kept forever").isTrue();
        }
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
