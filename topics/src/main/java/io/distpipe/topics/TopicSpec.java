package io.distpipe.topics;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import org.apache.kafka.common.config.TopicConfig;

/**
 * One topic as the catalog declares it: its name, key and value types (each an Avro type), its layout and retention,
 * and the one component that writes it.
 *
 * @param replicationFactor replication in a replicated deployment; capped to the number of brokers when created
 * @param minInsyncReplicas min.insync.replicas in a replicated deployment; capped to replication - 1 (at least 1)
 * @param retentionMs retention.ms, or -1 for unlimited
 * @param internal created by Kafka Streams itself (changelog or repartition topic), listed here so nothing else
 *                 spells its name
 */
public record TopicSpec<K, V>(String name, Class<K> keyType, Class<V> valueType, int partitions,
                              short replicationFactor, int minInsyncReplicas, Cleanup cleanup, long retentionMs,
                              String writer, String description, boolean internal) {

    /** Kafka's cleanup.policy. */
    public enum Cleanup {
        DELETE(TopicConfig.CLEANUP_POLICY_DELETE), COMPACT(TopicConfig.CLEANUP_POLICY_COMPACT);

        private final String policy;

        Cleanup(String policy) {
            this.policy = policy;
        }

        public String policy() {
            return policy;
        }
    }

    public TopicSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(keyType, "keyType");
        Objects.requireNonNull(valueType, "valueType");
        Objects.requireNonNull(cleanup, "cleanup");
        Objects.requireNonNull(writer, "writer");
        if (!name.matches("[a-zA-Z0-9._-]{1,249}")) {
            throw new IllegalArgumentException("Illegal topic name: " + name);
        }
        if (partitions < 1 || replicationFactor < 1 || minInsyncReplicas < 1) {
            throw new IllegalArgumentException("Topic " + name + " needs partitions, replication and min ISR >= 1");
        }
    }

    /** Replication to use on a cluster of {@code brokers} brokers when at most {@code maxReplication} is wanted. */
    public short effectiveReplication(int brokers, int maxReplication) {
        return (short) Math.max(1, Math.min(Math.min(replicationFactor, maxReplication), brokers));
    }

    /** min.insync.replicas for a given replication: never more than replication - 1, so one broker may fail. */
    public int effectiveMinInsyncReplicas(short replication) {
        return Math.max(1, Math.min(minInsyncReplicas, replication - 1));
    }

    /** The topic-level configs to create this topic with. */
    public Map<String, String> configs(short replication) {
        Map<String, String> configs = new LinkedHashMap<>();
        configs.put(TopicConfig.CLEANUP_POLICY_CONFIG, cleanup.policy());
        configs.put(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, Integer.toString(effectiveMinInsyncReplicas(replication)));
        configs.put(TopicConfig.RETENTION_MS_CONFIG, Long.toString(retentionMs));
        return configs;
    }

    public String keySubject() {
        return name + "-key";
    }

    public String valueSubject() {
        return name + "-value";
    }
}
