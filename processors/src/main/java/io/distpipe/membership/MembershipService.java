package io.distpipe.membership;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.LifeCycle;
import io.distpipe.common.Service;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs the {@link MembershipTopology} as a service with its own state directory. */
public final class MembershipService implements Service {

    private static final Logger LOG = LoggerFactory.getLogger(MembershipService.class);

    private final String id;
    private final KafkaStreams streams;
    private final LifeCycle life;

    /** {@code replication} is for the internal topics: at most the number of brokers. */
    public MembershipService(String id, String bootstrapServers, int replication, Path stateDir, AvroSerdes serdes,
                             MembershipTopology.Config cfg) {
        this.id = id;
        Properties props = MembershipTopology.config(bootstrapServers);
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, replication);
        props.put(StreamsConfig.topicPrefix(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG), Math.max(1, replication - 1));
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.CLIENT_ID_CONFIG, id);
        this.streams = new KafkaStreams(MembershipTopology.build(cfg, serdes), props);
        this.life = new LifeCycle(id);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public State state() {
        return life.state();
    }

    /** Starts the streams client without waiting for it; see {@link #awaitRunning(Duration)}. */
    @Override
    public void start() {
        life.transition(State.STARTING);
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("{}: stream thread failed, replacing it: {}", id, e.toString(), e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.setStateListener((next, previous) -> {
            if (next == KafkaStreams.State.RUNNING && life.state() == State.STARTING) {
                life.compareAndTransition(State.STARTING, State.RUNNING);
                LOG.info("{}: running (application id {}).", id, MembershipTopology.APPLICATION_ID);
            }
        });
        streams.start();
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
            // Leave the group on close, so a restarted membership processor gets its partition at once instead of
            // after the old member's session timeout (during which nobody would judge silence).
            streams.close(CloseOptions.timeout(Duration.ofSeconds(10))
                .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
            life.transition(State.CLOSED);
            LOG.info("{}: stopped.", id);
        }
    }
}
