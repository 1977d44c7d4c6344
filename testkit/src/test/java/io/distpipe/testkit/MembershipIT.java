package io.distpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.LongStream;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.HeartbeatSender;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.membership.Heartbeat;
import io.distpipe.membership.MemberState;
import io.distpipe.membership.MemberStatus;
import io.distpipe.membership.MembershipChange;
import io.distpipe.membership.MembershipEvent;
import io.distpipe.membership.MembershipService;
import io.distpipe.membership.MembershipTopology;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Heartbeat senders and the membership processor on a real broker: a member that leaves, one that dies. */
class MembershipIT {

    private static final Logger LOG = LoggerFactory.getLogger(MembershipIT.class);
    private static final Duration HEARTBEAT_INTERVAL = Duration.ofMillis(250);
    private static final MembershipTopology.Config CONFIG = new MembershipTopology.Config(Duration.ofSeconds(2),
        Duration.ofSeconds(4), Duration.ofMillis(250));
    private static final Duration WAIT = Duration.ofSeconds(20);

    private static EmbeddedKafka kafka;

    @TempDir
    Path stateDir;

    private final AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
    private final Deserializer<MembershipEvent> eventDeserializer =
        serdes.valueSerde(Topics.MEMBERSHIP_EVENTS).deserializer();
    private final List<MembershipEvent> seen = new ArrayList<>();
    /** Index in {@link #seen} after the event the last {@link #await} returned. */
    private int cursor;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.startTemporary();
        try (Admin admin = Admin.create(KafkaClients.common(kafka.bootstrapServers(), "membership-it-admin"))) {
            TopicAdmin.ensureTopics(admin, Topics.external(), 1);
        }
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void shouldRemoveALeavingMemberAtOnceAndSuspectThenRemoveACrashedOne() throws InterruptedException {
        try (MembershipService membership = new MembershipService("membership-it", kafka.bootstrapServers(), 1,
                 stateDir, serdes, CONFIG);
             Consumer<byte[], byte[]> events = eventsConsumer();
             HeartbeatSender leaver = sender("member-a", "worker");
             HeartbeatSender crasher = sender("member-b", "coordinator")) {
            membership.start();
            membership.awaitRunning(WAIT);
            leaver.start();
            crasher.start();

            // The two senders start together, so either may be added first.
            Poll.until("member-a and member-b ADDED", WAIT, () -> {
                read(events);
                return seen.stream().filter(e -> e.getType() == MembershipChange.ADDED).count() == 2;
            });
            cursor = seen.size();

            long leftAt = System.nanoTime();
            leaver.close();
            MembershipEvent left = await(events, "member-a REMOVED after its leaving heartbeat",
                MembershipChange.REMOVED, "member-a");
            long leaveDetectedMs = sinceMs(leftAt);

            long crashedAt = System.nanoTime();
            crasher.crash();
            MembershipEvent suspected = await(events, "member-b SUSPECTED after it went silent",
                MembershipChange.SUSPECTED, "member-b");
            long suspectedMs = sinceMs(crashedAt);
            MembershipEvent removed = await(events, "member-b REMOVED after it stayed silent",
                MembershipChange.REMOVED, "member-b");
            long removedMs = sinceMs(crashedAt);
            LOG.info("membership-it: leaving member removed {} ms after close; crashed member suspected after {} ms "
                + "and removed after {} ms (suspect-after {} ms, remove-after {} ms, heartbeats every {} ms).",
                leaveDetectedMs, suspectedMs, removedMs, CONFIG.suspectAfter().toMillis(),
                CONFIG.removeAfter().toMillis(), HEARTBEAT_INTERVAL.toMillis());

            assertThat(left.getReason()).startsWith("left");
            assertThat(left.getMembers()).extracting(MemberStatus::getMemberId).containsExactly("member-b");
            assertThat(leaveDetectedMs).as("a leaving member goes before anyone could suspect it")
                .isLessThan(CONFIG.suspectAfter().toMillis());
            // The last heartbeat left about one interval (plus the send itself) before the crash at most, and
            // silence counts from its arrival.
            Duration lastBeat = HEARTBEAT_INTERVAL.multipliedBy(2);
            assertThat(suspectedMs).isBetween(CONFIG.suspectAfter().minus(lastBeat).toMillis(),
                CONFIG.suspectAfter().plusSeconds(3).toMillis());
            assertThat(removedMs).isBetween(CONFIG.removeAfter().minus(lastBeat).toMillis(),
                CONFIG.removeAfter().plusSeconds(3).toMillis());
            assertThat(suspected.getMembers()).containsExactly(new MemberStatus("member-b", "coordinator",
                MemberState.SUSPECTED, suspected.getMembers().get(0).getLastHeartbeatAgeMs()));
            assertThat(removed.getMembers()).isEmpty();
            assertThat(seen).extracting(MembershipEvent::getEpoch).as("one epoch per change, in order")
                .containsExactlyElementsOf(LongStream.rangeClosed(1, seen.size()).boxed().toList());
            List<String> changes = seen.stream().map(e -> e.getMemberId() + " " + e.getType()).toList();
            assertThat(changes.subList(0, 2)).containsExactlyInAnyOrder("member-a ADDED", "member-b ADDED");
            assertThat(changes.subList(2, changes.size()))
                .containsExactly("member-a REMOVED", "member-b SUSPECTED", "member-b REMOVED");
        }
    }

    private HeartbeatSender sender(String memberId, String role) {
        return new HeartbeatSender(memberId, role, HEARTBEAT_INTERVAL,
            new KafkaProducer<>(KafkaClients.producer(kafka.bootstrapServers(), memberId + "-heartbeats")), serdes);
    }

    private Consumer<byte[], byte[]> eventsConsumer() {
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaClients.consumer(kafka.bootstrapServers(),
            null, "membership-it-events", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        TopicPartition partition = new TopicPartition(Topics.MEMBERSHIP_EVENTS.name(), 0);
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        return consumer;
    }

    /** Reads events until one of {@code type} for {@code memberId} comes after the one found last. */
    private MembershipEvent await(Consumer<byte[], byte[]> events, String what, MembershipChange type,
                                  String memberId) {
        return Poll.untilPresent(what, WAIT, () -> {
            read(events);
            for (int i = cursor; i < seen.size(); i++) {
                MembershipEvent event = seen.get(i);
                if (event.getType() == type && event.getMemberId().equals(memberId)) {
                    cursor = i + 1;
                    return Optional.of(event);
                }
            }
            return Optional.empty();
        });
    }

    private void read(Consumer<byte[], byte[]> events) {
        for (ConsumerRecord<byte[], byte[]> record : events.poll(Duration.ofMillis(100))) {
            seen.add(eventDeserializer.deserialize(record.topic(), record.value()));
        }
    }

    private static long sinceMs(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
