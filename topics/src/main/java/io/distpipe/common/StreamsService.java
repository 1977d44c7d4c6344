package io.distpipe.common;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Kafka Streams application run as a {@link Service}: its own state directory, internal topics replicated like the
 * catalog's, a replaced thread on an uncaught error, and a close that leaves the group so a restarted instance gets
 * its partitions at once instead of after the old member's session timeout.
 */
public class StreamsService extends AbstractService {

    private static final Logger LOG = LoggerFactory.getLogger(StreamsService.class);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);
    /**
     * Stream thread replacements: a registry or broker outage of up to about two minutes is ridden out (backoff
     * 0.5 s doubling to 15 s); a thread that keeps failing beyond that stops the processor.
     */
    static final Supervisor.RestartPolicy THREAD_RESTARTS = new Supervisor.RestartPolicy(12, Duration.ofMinutes(3),
        Duration.ofMillis(500), Duration.ofSeconds(15));

    private final String id;
    private final String applicationId;
    private final KafkaStreams streams;
    private final Supervisor.RestartBudget threadRestarts = new Supervisor.RestartBudget(THREAD_RESTARTS);
    private volatile Throwable failed;

    /** {@code replication} is for the internal topics: at most the number of brokers. */
    protected StreamsService(String id, Topology topology, Properties config, int replication, Path stateDir) {
        super(id, id);
        this.id = id;
        this.applicationId = config.getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
        Properties props = new Properties();
        props.putAll(config);
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, replication);
        props.put(StreamsConfig.topicPrefix(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG), Math.max(1, replication - 1));
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.CLIENT_ID_CONFIG, id);
        this.streams = new KafkaStreams(topology, props);
    }

    /**
     * The settings every distpipe Streams application shares: exactly once, optimized and explicitly named topology,
     * short commit interval and session timeout, unreadable records logged and skipped.
     */
    public static Properties exactlyOnceConfig(String applicationId, String bootstrapServers) {
        Properties props = new Properties();
        props.putAll(ClientProperties.kafka());
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.TOPOLOGY_OPTIMIZATION_CONFIG, StreamsConfig.OPTIMIZE);
        props.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, true);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        // A killed instance's partitions move after this, not after the 45 s default.
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6_000);
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1_500);
        props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, TransientFailsHandler.class);
        return props;
    }

    /** Starts the streams client without waiting for it; see {@link #awaitRunning(Duration)}. */
    @Override
    public void start() {
        life.transition(State.STARTING);
        streams.setUncaughtExceptionHandler(this::threadFailed);
        streams.setStateListener((next, previous) -> {
            if (next == KafkaStreams.State.RUNNING && life.compareAndTransition(State.STARTING, State.RUNNING)) {
                LOG.info("{}: running (application id {}).", id, applicationId);
            }
        });
        streams.start();
    }

    /**
     * A failed stream thread is replaced (its tasks resume from their last commit, so the record it failed on is read
     * again) after a backoff, within {@link #THREAD_RESTARTS}; beyond that the client shuts down and this service is
     * FAILED, loudly, rather than retrying forever or skipping.
     */
    private StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse threadFailed(Throwable e) {
        Supervisor.Decision decision;
        synchronized (threadRestarts) {
            decision = threadRestarts.onEnd(System.nanoTime());
        }
        if (decision instanceof Supervisor.Restart restart) {
            LOG.error("{}: stream thread failed ({}), replacing it in {} ms (restart {}; {}).", id, e.toString(),
                restart.delay().toMillis(), restart.number(), THREAD_RESTARTS.describe(), e);
            try {
                TimeUnit.MILLISECONDS.sleep(restart.delay().toMillis());
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        }
        LOG.error("{}: stream thread failed again ({}) after {}; stopping this processor.", id, e.toString(),
            THREAD_RESTARTS.describe(), e);
        failed = e;
        life.compareAndTransition(State.RUNNING, State.FAILED);
        life.compareAndTransition(State.STARTING, State.FAILED);
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    }

    /** Why this processor stopped on its own, or null. */
    public Throwable failure() {
        return failed;
    }

    /** Waits (bounded) until the streams client has been RUNNING; throws if it failed or took too long. */
    public void awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (life.state() == State.STARTING) {
            if (streams.state() == KafkaStreams.State.ERROR || streams.state() == KafkaStreams.State.NOT_RUNNING
                || System.nanoTime() > deadline) {
                throw new IllegalStateException(id + ": Kafka Streams did not reach RUNNING within "
                    + timeout.toSeconds() + " s (state " + streams.state() + ")");
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    public KafkaStreams streams() {
        return streams;
    }

    @Override
    public void close() {
        if (life.beginClose()) {
            streams.close(CloseOptions.timeout(CLOSE_TIMEOUT)
                .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
            life.transition(State.CLOSED);
            LOG.info("{}: stopped.", id);
        }
    }
}
