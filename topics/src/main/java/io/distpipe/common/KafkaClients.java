package io.distpipe.common;

import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Client settings every distpipe component shares: bytes on the wire (serdes are applied by the components, so a
 * poison record can be routed instead of failing a poll), idempotent acks=all producers, read_committed consumers
 * with manual commits, and group timeouts short enough that a killed member's partitions move within seconds.
 */
public final class KafkaClients {

    public static final int SESSION_TIMEOUT_MS_DEFAULT = 1500;
    public static final int TRANSACTION_TIMEOUT_MS_DEFAULT = 10_000;
    /** How long every command waits for a cluster to answer before saying it cannot be reached. */
    public static final int REACH_TIMEOUT_MS = 15_000;
    /** Tests shorten {@link #REACH_TIMEOUT_MS} with this system property (milliseconds). */
    public static final String REACH_TIMEOUT_PROPERTY = "distpipe.reach.timeout.ms";

    private KafkaClients() {
    }

    /** The user's {@link ClientProperties} with the cluster and client id over them: every client starts here. */
    public static Map<String, Object> common(String bootstrapServers, String clientId) {
        Map<String, Object> props = new HashMap<>(ClientProperties.kafka());
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
        return props;
    }

    /** The bound on reaching a cluster: {@link #REACH_TIMEOUT_MS}, unless {@link #REACH_TIMEOUT_PROPERTY} says. */
    public static int reachTimeoutMs() {
        return Integer.getInteger(REACH_TIMEOUT_PROPERTY, REACH_TIMEOUT_MS);
    }

    /**
     * An Admin client for a cluster that answered within {@link #reachTimeoutMs()}; otherwise a {@link KafkaException}
     * whose message is one sentence naming the servers and the bound, the same for every command.
     */
    public static Admin reachableAdmin(String bootstrapServers, String clientId) {
        int timeoutMs = reachTimeoutMs();
        Map<String, Object> props = common(bootstrapServers, clientId);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs);
        Admin admin = Admin.create(props);
        try {
            admin.describeCluster().clusterId().get(timeoutMs, TimeUnit.MILLISECONDS);
            return admin;
        } catch (ExecutionException e) {
            admin.close(Duration.ZERO);
            if (e.getCause() instanceof AuthenticationException refused) {
                throw new KafkaException("The Kafka cluster at " + bootstrapServers + " refused the login: "
                    + refused.getMessage(), refused);
            }
            throw new KafkaException(unreachable(bootstrapServers, timeoutMs), e);
        } catch (TimeoutException e) {
            admin.close(Duration.ZERO);
            throw new KafkaException(unreachable(bootstrapServers, timeoutMs), e);
        } catch (InterruptedException e) {
            admin.close(Duration.ZERO);
            Thread.currentThread().interrupt();
            throw new KafkaException("Interrupted while reaching the Kafka cluster at " + bootstrapServers, e);
        }
    }

    /** Fails with the one "cannot reach" sentence unless the cluster answers within {@link #reachTimeoutMs()}. */
    public static void requireReachable(String bootstrapServers) {
        reachableAdmin(bootstrapServers, "distpipe-reach-check").close(Duration.ZERO);
    }

    static String unreachable(String bootstrapServers, int timeoutMs) {
        String bound = timeoutMs % 1000 == 0 ? timeoutMs / 1000 + " s" : timeoutMs + " ms";
        return "Cannot reach the Kafka cluster at " + bootstrapServers + " within " + bound;
    }

    public static Map<String, Object> producer(String bootstrapServers, String clientId) {
        Map<String, Object> props = common(bootstrapServers, clientId);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return props;
    }

    /** A producer whose transactional id is stable per logical role ({@code primes-worker-worker-2}). */
    public static Map<String, Object> transactionalProducer(String bootstrapServers, String transactionalId,
                                                            int transactionTimeoutMs) {
        Map<String, Object> props = producer(bootstrapServers, transactionalId);
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        props.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, transactionTimeoutMs);
        // A new transaction right after a commit meets CONCURRENT_TRANSACTIONS until the markers are written;
        // retrying after 100 ms (the default) would cap a producer at a few transactions a second. (1 ms instead of 5
        // gave one producer alone more, but no measurable gain in kv bench, which also runs the broker: kept at 5.)
        props.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 5);
        return props;
    }

    public static Map<String, Object> consumer(String bootstrapServers, String groupId, String clientId,
                                               int sessionTimeoutMs) {
        Map<String, Object> props = common(bootstrapServers, clientId);
        if (groupId != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
            props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, sessionTimeoutMs);
            props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Math.max(100, sessionTimeoutMs / 4));
        }
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, IsolationLevel.READ_COMMITTED.toString()
            .toLowerCase(Locale.ROOT));
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        return props;
    }

    /**
     * Whether a producer failure, or any of its causes, means another producer took over the transactional id (the
     * producer may wrap the fencing error once it is in an error state). An old epoch
     * ({@code InvalidProducerEpochException}) is not: the broker also answers it for a transaction it aborted for its
     * timeout; {@link BrokerAborts} tells the two apart.
     */
    public static boolean fenced(Throwable e) {
        return fencing(e) != null;
    }

    /** The {@link ProducerFencedException} among {@code e} and its causes, or null: see {@link #fenced}. */
    public static ProducerFencedException fencing(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ProducerFencedException fenced) {
                return fenced;
            }
        }
        return null;
    }
}
