package io.distpipe.primes;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.LifeCycle;
import io.distpipe.common.Service;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs the {@link DedupTopology} as a service with its own state directory. */
public final class DedupService implements Service {

    private static final Logger LOG = LoggerFactory.getLogger(DedupService.class);
    private static final long START_TIMEOUT_MS = 60_000;

    private final String id;
    private final KafkaStreams streams;
    private final LifeCycle life;

    public DedupService(String id, String bootstrapServers, Path stateDir, AvroSerdes serdes) {
        this.id = id;
        Properties props = DedupTopology.config(bootstrapServers);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.CLIENT_ID_CONFIG, id);
        this.streams = new KafkaStreams(DedupTopology.build(serdes), props);
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

    /** Starts the streams client and waits until it is RUNNING (bounded). */
    @Override
    public void start() throws InterruptedException {
        life.transition(State.STARTING);
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("{}: stream thread failed: {}", id, e.toString(), e);
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
                .REPLACE_THREAD;
        });
        streams.start();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MS);
        while (streams.state() != KafkaStreams.State.RUNNING) {
            if (streams.state() == KafkaStreams.State.ERROR || System.nanoTime() > deadline) {
                life.transition(State.FAILED);
                throw new IllegalStateException(id + ": Kafka Streams did not reach RUNNING within "
                    + START_TIMEOUT_MS + " ms (state " + streams.state() + ")");
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
        life.transition(State.RUNNING);
        LOG.info("{}: running (application id {}).", id, DedupTopology.APPLICATION_ID);
    }

    public KafkaStreams streams() {
        return streams;
    }

    @Override
    public void close() {
        if (life.beginClose()) {
            streams.close(Duration.ofSeconds(10));
            life.transition(State.CLOSED);
            LOG.info("{}: stopped.", id);
        }
    }
}
