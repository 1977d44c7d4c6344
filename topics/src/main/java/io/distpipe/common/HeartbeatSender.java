package io.distpipe.common;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.distpipe.membership.Heartbeat;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends this process's {@link Heartbeat} to membership.heartbeats every interval, keyed by its member id, and a last
 * one with {@code leaving=true} on close; any component (worker, coordinator, processor, replica) runs one beside it.
 *
 * <p>It owns its producer, which should be a plain idempotent one ({@link KafkaClients#producer}), not the component's
 * transactional producer: a heartbeat must not wait for, or be aborted with, a transaction.
 */
public final class HeartbeatSender extends AbstractService {

    public static final String INTERVAL_KEY = "heartbeat-interval";
    public static final Duration INTERVAL_DEFAULT = Duration.ofSeconds(1);

    private static final Logger LOG = LoggerFactory.getLogger(HeartbeatSender.class);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

    private final String memberId;
    private final String role;
    private final Duration interval;
    private final long incarnation;
    private final long pid;
    private final String host;
    private final Producer<byte[], byte[]> producer;
    private final Serializer<String> keySerializer;
    private final Serializer<Heartbeat> valueSerializer;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final AtomicLong sequence = new AtomicLong();
    private final AtomicBoolean failing = new AtomicBoolean();

    /** A sender whose incarnation is this process's start time, as heartbeats of a real process carry. */
    public HeartbeatSender(String memberId, String role, Duration interval, Producer<byte[], byte[]> producer,
                           AvroSerdes serdes) {
        this(memberId, role, interval, producer, serdes, processIncarnation(), Clock.systemUTC());
    }

    /**
     * A sender with an explicit incarnation, for a component restarted inside one JVM (a new incarnation must be
     * greater than the old one). {@code clock} only fills in {@code sentAt}, which receivers never judge by.
     */
    public HeartbeatSender(String memberId, String role, Duration interval, Producer<byte[], byte[]> producer,
                           AvroSerdes serdes, long incarnation, Clock clock) {
        super(memberId, memberId + " heartbeats");
        if (memberId == null || memberId.isBlank()) {
            throw new IllegalArgumentException("A heartbeat sender needs a member id");
        }
        if (interval == null || interval.toMillis() < 1 || interval.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(INTERVAL_KEY + " must be between 1 ms and " + Integer.MAX_VALUE
                + " ms: " + interval);
        }
        this.memberId = memberId;
        this.role = Objects.requireNonNull(role, "role");
        this.interval = interval;
        this.incarnation = incarnation;
        this.pid = ProcessHandle.current().pid();
        this.host = localHost();
        this.producer = Objects.requireNonNull(producer, "producer");
        this.keySerializer = serdes.keySerde(Topics.MEMBERSHIP_HEARTBEATS).serializer();
        this.valueSerializer = serdes.valueSerde(Topics.MEMBERSHIP_HEARTBEATS).serializer();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "heartbeat-" + memberId);
            thread.setDaemon(true);
            return thread;
        });
    }

    /** The start time of this process in epoch milliseconds: a restarted process has a greater one. */
    public static long processIncarnation() {
        return ProcessHandle.current().info().startInstant().map(Instant::toEpochMilli)
            .orElseGet(() -> ManagementFactory.getRuntimeMXBean().getStartTime());
    }

    public long incarnation() {
        return incarnation;
    }

    /** How many heartbeats were handed to the producer so far (the sequence number of the latest one). */
    public long sent() {
        return sequence.get();
    }

    /** Sends the first heartbeat now and then one every interval, on a daemon thread. */
    @Override
    public void start() {
        life.transition(State.STARTING);
        // Fixed delay, not fixed rate: after a send that blocked (broker unreachable) a burst of catch-up heartbeats
        // would say nothing new.
        scheduler.scheduleWithFixedDelay(this::beatOrLog, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        life.transition(State.RUNNING);
        LOG.info("{}: sending heartbeats as {} every {} ms (incarnation {}, pid {}, host {}).", memberId, role,
            interval.toMillis(), incarnation, pid, host);
    }

    /** Stops the heartbeats, sends a last one with {@code leaving=true}, flushes and closes the producer. */
    @Override
    public void close() {
        if (!life.beginClose()) {
            return;
        }
        stopScheduler();
        try {
            // Nobody heard of a sender that never sent: it has nothing to leave.
            if (sequence.get() > 0) {
                beat(true);
                producer.flush();
                LOG.info("{}: heartbeats stopped after {}; the last one said leaving.", memberId, sequence.get());
            }
        } catch (RuntimeException e) {
            LOG.warn("{}: could not send the leaving heartbeat; members will notice the silence instead: {}",
                memberId, e.toString());
        } finally {
            producer.close(CLOSE_TIMEOUT);
            life.transition(State.CLOSED);
        }
    }

    /**
     * Stops at once without the leaving heartbeat and drops what the producer still holds, as if the process had
     * died: the group sees only silence, then suspicion, then removal. For fault tests.
     */
    public void crash() {
        if (!life.beginClose()) {
            return;
        }
        scheduler.shutdownNow();
        producer.close(Duration.ZERO);
        life.transition(State.CLOSED);
        LOG.info("{}: heartbeats stopped abruptly after {}, without a leaving heartbeat.", memberId, sequence.get());
    }

    /** Sends one heartbeat with the next sequence number; the scheduled thread calls it every interval. */
    void beat(boolean leaving) {
        long seq = sequence.incrementAndGet();
        Heartbeat heartbeat = Heartbeat.newBuilder().setMemberId(memberId).setRole(role).setHost(host).setPid(pid)
            .setSequence(seq).setIncarnation(incarnation).setIntervalMs((int) interval.toMillis()).setLeaving(leaving)
            .setSentAt(clock.instant()).build();
        String topic = Topics.MEMBERSHIP_HEARTBEATS.name();
        producer.send(new ProducerRecord<>(topic, keySerializer.serialize(topic, memberId),
            valueSerializer.serialize(topic, heartbeat)), (metadata, error) -> {
                if (error != null) {
                    if (failing.compareAndSet(false, true)) {
                        LOG.warn("{}: heartbeat {} was not delivered ({}); will keep trying every {} ms.", memberId,
                            seq, error.toString(), interval.toMillis());
                    }
                } else if (failing.compareAndSet(true, false)) {
                    LOG.info("{}: heartbeats are delivered again (heartbeat {}).", memberId, seq);
                }
            });
    }

    private void beatOrLog() {
        try {
            beat(false);
        } catch (RuntimeException e) {
            // An exception would cancel the schedule for good; a heartbeat that failed is just a missed heartbeat.
            if (failing.compareAndSet(false, true)) {
                LOG.warn("{}: could not send a heartbeat; will keep trying every {} ms: {}", memberId,
                    interval.toMillis(), e.toString());
            }
        }
    }

    /** Stops the scheduled heartbeats, waiting (bounded) for one in progress. */
    private void stopScheduler() {
        scheduler.shutdown();
        try {
            if (!scheduler.awaitTermination(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                scheduler.shutdownNow();
            }
        } catch (InterruptedException e) {
            scheduler.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private static String localHost() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown";
        }
    }
}
