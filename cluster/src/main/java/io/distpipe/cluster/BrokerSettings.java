package io.distpipe.cluster;

import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.kafka.coordinator.group.GroupCoordinatorConfig;
import org.apache.kafka.coordinator.share.ShareCoordinatorConfig;
import org.apache.kafka.coordinator.transaction.AddPartitionsToTxnConfig;
import org.apache.kafka.coordinator.transaction.TransactionLogConfig;
import org.apache.kafka.coordinator.transaction.TransactionStateManagerConfig;
import org.apache.kafka.raft.KRaftConfigs;
import org.apache.kafka.server.config.ServerLogConfigs;
import org.apache.kafka.storage.internals.log.CleanerConfig;

/** The broker settings all clusters of this module share: small heap, sized internal topics, fast failure detection. */
public final class BrokerSettings {

    /** Session timeout floor for every group protocol, so tests can detect a killed member within about a second. */
    public static final int MIN_SESSION_TIMEOUT_MS = 1000;
    /** Heartbeat interval floor for the KIP-848 protocols (consumer, streams, share), half the session floor. */
    public static final int MIN_HEARTBEAT_INTERVAL_MS = 500;
    /** Broker-side session timeout of KIP-848 groups; their clients cannot choose one, so this is what they get. */
    public static final int GROUP_SESSION_TIMEOUT_MS = 6000;
    /** Broker-side heartbeat interval of KIP-848 groups, well below {@link #GROUP_SESSION_TIMEOUT_MS}. */
    public static final int GROUP_HEARTBEAT_INTERVAL_MS = 1000;
    /**
     * How long the controller waits for a silent broker before fencing it (default 9 s). A broker restarted after a
     * SIGKILL cannot register again until its old session has expired, so this bounds every kill-and-restart test.
     */
    public static final int BROKER_SESSION_TIMEOUT_MS = 3000;
    /** How often brokers heartbeat to the controller (default 2 s); a sixth of {@link #BROKER_SESSION_TIMEOUT_MS}. */
    public static final int BROKER_HEARTBEAT_INTERVAL_MS = 500;
    /** 2 MiB instead of 128 MiB: the log cleaner's dedupe buffer is the biggest fixed heap cost of a broker. */
    public static final int DEDUPE_BUFFER_BYTES = 2 * 1024 * 1024;

    /** Partitions of the offsets and transaction-state topics (default 50). */
    public static final int INTERNAL_PARTITIONS = 4;
    /** How often the broker aborts timed-out transactions (default 10 s). */
    public static final int TRANSACTION_CLEANUP_INTERVAL_MS = 1000;
    /**
     * How soon the broker retries adding a partition to a transaction whose previous commit is still writing its
     * markers (default 20 ms). A producer's first send after a commit nearly always meets that state: with the default
     * one producer committed 66 sequential transactions/s on the embedded broker ({@code kv bench} baseline), with
     * 1 ms 120-200/s there.
     */
    public static final int ADD_PARTITIONS_TO_TXN_RETRY_BACKOFF_MS = 1;

    private BrokerSettings() {
    }

    /** Replication of the internal topics (offsets, transactions, share state) for a cluster of that many brokers. */
    public static int internalTopicReplication(int brokers) {
        if (brokers < 1) {
            throw new IllegalArgumentException("brokers must be at least 1, got " + brokers);
        }
        return Math.min(3, brokers);
    }

    /** Min ISR of the internal topics: one less than their replication (at most 2), so one broker can be stopped. */
    public static int internalTopicMinIsr(int brokers) {
        return Math.max(1, Math.min(2, internalTopicReplication(brokers) - 1));
    }

    /** The shared settings for a cluster of {@code brokers} brokers, in a stable order; callers may override any. */
    public static Map<String, String> forCluster(int brokers) {
        String replication = Integer.toString(internalTopicReplication(brokers));
        String minIsr = Integer.toString(internalTopicMinIsr(brokers));
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put(ServerLogConfigs.AUTO_CREATE_TOPICS_ENABLE_CONFIG, "false");
        settings.put(CleanerConfig.LOG_CLEANER_DEDUPE_BUFFER_SIZE_PROP, Integer.toString(DEDUPE_BUFFER_BYTES));

        settings.put(KRaftConfigs.BROKER_SESSION_TIMEOUT_MS_CONFIG, Integer.toString(BROKER_SESSION_TIMEOUT_MS));
        settings.put(KRaftConfigs.BROKER_HEARTBEAT_INTERVAL_MS_CONFIG, Integer.toString(BROKER_HEARTBEAT_INTERVAL_MS));

        // 4 partitions instead of 50: creating the internal topics on first use was most of a short job's time.
        settings.put(GroupCoordinatorConfig.OFFSETS_TOPIC_PARTITIONS_CONFIG, Integer.toString(INTERNAL_PARTITIONS));
        settings.put(TransactionLogConfig.TRANSACTIONS_TOPIC_PARTITIONS_CONFIG, Integer.toString(INTERNAL_PARTITIONS));
        // A killed transactional producer's open transaction blocks read_committed readers until it is aborted.
        settings.put(TransactionStateManagerConfig.TRANSACTIONS_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS_CONFIG,
            Integer.toString(TRANSACTION_CLEANUP_INTERVAL_MS));
        settings.put(AddPartitionsToTxnConfig.ADD_PARTITIONS_TO_TXN_RETRY_BACKOFF_MS_CONFIG,
            Integer.toString(ADD_PARTITIONS_TO_TXN_RETRY_BACKOFF_MS));
        settings.put(GroupCoordinatorConfig.OFFSETS_TOPIC_REPLICATION_FACTOR_CONFIG, replication);
        settings.put(TransactionLogConfig.TRANSACTIONS_TOPIC_REPLICATION_FACTOR_CONFIG, replication);
        settings.put(TransactionLogConfig.TRANSACTIONS_TOPIC_MIN_ISR_CONFIG, minIsr);
        settings.put(ShareCoordinatorConfig.STATE_TOPIC_REPLICATION_FACTOR_CONFIG, replication);
        settings.put(ShareCoordinatorConfig.STATE_TOPIC_MIN_ISR_CONFIG, minIsr);

        settings.put(GroupCoordinatorConfig.GROUP_INITIAL_REBALANCE_DELAY_MS_CONFIG, "0");
        settings.put(GroupCoordinatorConfig.STREAMS_GROUP_INITIAL_REBALANCE_DELAY_MS_CONFIG, "0");

        String minSession = Integer.toString(MIN_SESSION_TIMEOUT_MS);
        String session = Integer.toString(GROUP_SESSION_TIMEOUT_MS);
        String minHeartbeat = Integer.toString(MIN_HEARTBEAT_INTERVAL_MS);
        String heartbeat = Integer.toString(GROUP_HEARTBEAT_INTERVAL_MS);
        settings.put(GroupCoordinatorConfig.GROUP_MIN_SESSION_TIMEOUT_MS_CONFIG, minSession);
        settings.put(GroupCoordinatorConfig.CONSUMER_GROUP_MIN_SESSION_TIMEOUT_MS_CONFIG, minSession);
        settings.put(GroupCoordinatorConfig.CONSUMER_GROUP_SESSION_TIMEOUT_MS_CONFIG, session);
        settings.put(GroupCoordinatorConfig.CONSUMER_GROUP_MIN_HEARTBEAT_INTERVAL_MS_CONFIG, minHeartbeat);
        settings.put(GroupCoordinatorConfig.CONSUMER_GROUP_HEARTBEAT_INTERVAL_MS_CONFIG, heartbeat);
        settings.put(GroupCoordinatorConfig.STREAMS_GROUP_MIN_SESSION_TIMEOUT_MS_CONFIG, minSession);
        settings.put(GroupCoordinatorConfig.STREAMS_GROUP_SESSION_TIMEOUT_MS_CONFIG, session);
        settings.put(GroupCoordinatorConfig.STREAMS_GROUP_MIN_HEARTBEAT_INTERVAL_MS_CONFIG, minHeartbeat);
        settings.put(GroupCoordinatorConfig.STREAMS_GROUP_HEARTBEAT_INTERVAL_MS_CONFIG, heartbeat);
        settings.put(GroupCoordinatorConfig.SHARE_GROUP_MIN_SESSION_TIMEOUT_MS_CONFIG, minSession);
        settings.put(GroupCoordinatorConfig.SHARE_GROUP_SESSION_TIMEOUT_MS_CONFIG, session);
        settings.put(GroupCoordinatorConfig.SHARE_GROUP_MIN_HEARTBEAT_INTERVAL_MS_CONFIG, minHeartbeat);
        settings.put(GroupCoordinatorConfig.SHARE_GROUP_HEARTBEAT_INTERVAL_MS_CONFIG, heartbeat);
        return settings;
    }
}
