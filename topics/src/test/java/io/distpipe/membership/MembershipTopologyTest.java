package io.distpipe.membership;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;

import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.processor.Punctuator;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MembershipTopologyTest {

    /** The processor's wall clock. */
    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    /** Senders' clocks, deliberately far from the processor's: a year behind and a year ahead. */
    private static final Instant SENDER_BEHIND = START.minus(Duration.ofDays(365));
    private static final Instant SENDER_AHEAD = START.plus(Duration.ofDays(365));
    private static final MembershipTopology.Config CONFIG = MembershipTopology.Config.defaults();
    private static final long SUSPECT_MS = CONFIG.suspectAfter().toMillis();
    private static final long REMOVE_MS = CONFIG.removeAfter().toMillis();
    private static final long CHECK_MS = CONFIG.checkEvery().toMillis();

    @TempDir
    Path stateDir;

    private final AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
    private TopologyTestDriver driver;
    private TestInputTopic<String, Heartbeat> heartbeats;
    private TestOutputTopic<String, MembershipEvent> events;

    @BeforeEach
    void startDriver() {
        Properties props = MembershipTopology.config("dummy:1234");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(MembershipTopology.build(CONFIG, serdes), props, START);
        heartbeats = driver.createInputTopic(Topics.MEMBERSHIP_HEARTBEATS.name(),
            serdes.keySerde(Topics.MEMBERSHIP_HEARTBEATS).serializer(),
            serdes.valueSerde(Topics.MEMBERSHIP_HEARTBEATS).serializer());
        events = driver.createOutputTopic(Topics.MEMBERSHIP_EVENTS.name(),
            serdes.keySerde(Topics.MEMBERSHIP_EVENTS).deserializer(),
            serdes.valueSerde(Topics.MEMBERSHIP_EVENTS).deserializer());
    }

    @AfterEach
    void closeDriver() {
        driver.close();
    }

    @Test
    void shouldAddAMemberOnItsFirstHeartbeat() {
        beat("worker-1", 100, 1, SENDER_BEHIND);

        List<MembershipEvent> out = events.readValuesToList();

        assertThat(out).hasSize(1);
        MembershipEvent added = out.get(0);
        assertThat(added.getType()).isEqualTo(MembershipChange.ADDED);
        assertThat(added.getMemberId()).isEqualTo("worker-1");
        assertThat(added.getRole()).isEqualTo("worker");
        assertThat(added.getEpoch()).isEqualTo(1L);
        assertThat(added.getAt()).as("stamped on the processor's clock").isEqualTo(START);
        assertThat(added.getMembers()).containsExactly(alive("worker-1", 0));
        KeyValueStore<String, MemberRecord> store = driver.getKeyValueStore(MembershipTopology.MEMBERS_STORE);
        assertThat(store.get("worker-1").getLastSeenMs()).isEqualTo(START.toEpochMilli());
    }

    @Test
    void shouldSuspectAndThenRemoveASilentMember() {
        beat("worker-1", 100, 1, SENDER_BEHIND);
        events.readValuesToList();

        advance(SUSPECT_MS - CHECK_MS);
        assertThat(events.readValuesToList()).as("events before %d ms of silence", SUSPECT_MS).isEmpty();

        advance(CHECK_MS);
        List<MembershipEvent> suspected = events.readValuesToList();
        assertThat(suspected).extracting(MembershipEvent::getType).containsExactly(MembershipChange.SUSPECTED);
        assertThat(suspected.get(0).getMembers()).containsExactly(
            new MemberStatus("worker-1", "worker", MemberState.SUSPECTED, SUSPECT_MS));

        advance(REMOVE_MS - SUSPECT_MS - CHECK_MS);
        assertThat(events.readValuesToList()).as("events before %d ms of silence", REMOVE_MS).isEmpty();

        advance(CHECK_MS);
        List<MembershipEvent> removed = events.readValuesToList();
        assertThat(removed).extracting(MembershipEvent::getType).containsExactly(MembershipChange.REMOVED);
        assertThat(removed.get(0).getMembers()).isEmpty();
        assertThat(removed.get(0).getReason()).isEqualTo("no heartbeat for " + REMOVE_MS + " ms");
        KeyValueStore<String, MemberRecord> store = driver.getKeyValueStore(MembershipTopology.MEMBERS_STORE);
        assertThat(store.get("worker-1")).isNull();
    }

    @Test
    void shouldKeepAMemberThatBeatsInTime() {
        for (int seq = 1; seq <= 20; seq++) {
            beat("worker-1", 100, seq, SENDER_BEHIND);
            advance(1_000);
        }

        assertThat(events.readValuesToList()).extracting(MembershipEvent::getType)
            .containsExactly(MembershipChange.ADDED);
    }

    @Test
    void shouldRecoverASuspectedMemberThatIsHeardAgain() {
        beat("worker-1", 100, 1, SENDER_BEHIND);
        advance(SUSPECT_MS);

        beat("worker-1", 100, 2, SENDER_BEHIND);

        List<MembershipEvent> out = events.readValuesToList();
        assertThat(out).extracting(MembershipEvent::getType)
            .containsExactly(MembershipChange.ADDED, MembershipChange.SUSPECTED, MembershipChange.RECOVERED);
        MembershipEvent recovered = out.get(2);
        assertThat(recovered.getMembers()).containsExactly(alive("worker-1", 0));
        assertThat(recovered.getReason()).isEqualTo("heard again after " + SUSPECT_MS + " ms of silence");

        advance(REMOVE_MS - CHECK_MS);
        assertThat(events.readValuesToList()).extracting(MembershipEvent::getType)
            .as("silence is measured again from the recovery").containsExactly(MembershipChange.SUSPECTED);
    }

    @Test
    void shouldTreatANewIncarnationAsARestart() {
        beat("worker-1", 100, 1, SENDER_BEHIND);
        beat("worker-1", 100, 2, SENDER_BEHIND);
        advance(1_000);

        beat("worker-1", 200, 1, SENDER_AHEAD);
        beat("worker-1", 100, 3, SENDER_BEHIND);

        List<MembershipEvent> out = events.readValuesToList();
        assertThat(out).extracting(MembershipEvent::getType)
            .containsExactly(MembershipChange.ADDED, MembershipChange.ADDED);
        assertThat(out.get(1).getReason()).isEqualTo("restarted: incarnation 200 replaces 100");
        assertThat(out.get(1).getMembers()).containsExactly(alive("worker-1", 0));
        KeyValueStore<String, MemberRecord> store = driver.getKeyValueStore(MembershipTopology.MEMBERS_STORE);
        assertThat(store.get("worker-1").getIncarnation())
            .as("a late heartbeat of the old incarnation is ignored").isEqualTo(200L);
    }

    @Test
    void shouldRemoveALeavingMemberAtOnce() {
        beat("worker-1", 100, 1, SENDER_BEHIND);
        beat("worker-2", 100, 1, SENDER_BEHIND);

        heartbeats.pipeInput("worker-1", heartbeat("worker-1", 100, 2, SENDER_BEHIND).setLeaving(true).build(),
            SENDER_BEHIND);

        List<MembershipEvent> out = events.readValuesToList();
        assertThat(out).extracting(MembershipEvent::getType)
            .containsExactly(MembershipChange.ADDED, MembershipChange.ADDED, MembershipChange.REMOVED);
        MembershipEvent removed = out.get(2);
        assertThat(removed.getMemberId()).isEqualTo("worker-1");
        assertThat(removed.getAt()).isEqualTo(START);
        assertThat(removed.getMembers()).containsExactly(alive("worker-2", 0));
    }

    @Test
    void shouldIncreaseTheEpochByOnePerChange() {
        beat("worker-1", 100, 1, SENDER_BEHIND);
        beat("worker-2", 100, 1, SENDER_AHEAD);
        beat("worker-1", 100, 2, SENDER_BEHIND);
        advance(1_000);
        heartbeats.pipeInput("worker-1", heartbeat("worker-1", 100, 3, SENDER_BEHIND).setLeaving(true).build(),
            SENDER_BEHIND);
        advance(REMOVE_MS);

        List<MembershipEvent> out = events.readValuesToList();

        assertThat(out).extracting(MembershipEvent::getType).containsExactly(MembershipChange.ADDED,
            MembershipChange.ADDED, MembershipChange.REMOVED, MembershipChange.SUSPECTED, MembershipChange.REMOVED);
        assertThat(out).extracting(MembershipEvent::getEpoch).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(out).extracting(MembershipEvent::getMemberId)
            .containsExactly("worker-1", "worker-2", "worker-1", "worker-2", "worker-2");
        assertThat(out.get(1).getMembers()).extracting(MemberStatus::getMemberId)
            .containsExactly("worker-1", "worker-2");
        KeyValueStore<String, Long> epoch = driver.getKeyValueStore(MembershipTopology.EPOCH_STORE);
        assertThat(epoch.get(MembershipTopology.EPOCH_KEY)).isEqualTo(5L);
    }

    @Test
    void shouldIgnoreTheSendersClock() {
        // One sender's clock is a year behind, the other's a year ahead; both beat at the same processor time.
        beat("worker-1", 100, 1, SENDER_BEHIND);
        beat("worker-2", 100, 1, SENDER_AHEAD);
        advance(1_000);
        beat("worker-2", 100, 2, SENDER_AHEAD);

        List<MembershipEvent> out = events.readValuesToList();
        assertThat(out).extracting(MembershipEvent::getType)
            .as("neither is judged silent on its own clock's say").containsExactly(MembershipChange.ADDED,
                MembershipChange.ADDED);

        advance(SUSPECT_MS - 1_000);
        List<MembershipEvent> suspected = events.readValuesToList();
        assertThat(suspected).extracting(MembershipEvent::getMemberId)
            .as("the one silent on the processor's clock, whatever its own clock says").containsExactly("worker-1");
        assertThat(suspected.get(0).getMembers()).containsExactly(
            new MemberStatus("worker-1", "worker", MemberState.SUSPECTED, SUSPECT_MS),
            alive("worker-2", SUSPECT_MS - 1_000));
        assertThat(suspected.get(0).getAt()).isEqualTo(START.plusMillis(SUSPECT_MS));

        advance(1_000);
        assertThat(events.readValuesToList()).extracting(MembershipEvent::getMemberId)
            .as("a clock a year ahead buys no time").containsExactly("worker-2");
    }

    @Test
    void shouldGiveEveryMemberAFreshGracePeriodWhenTheProcessorItselfWasPaused() {
        beat("worker-1", 100, 1, SENDER_BEHIND);
        events.readValuesToList();

        // One punctuation after a long gap, as after a GC pause or a suspended machine.
        driver.advanceWallClockTime(Duration.ofMillis(REMOVE_MS * 10));
        assertThat(events.readValuesToList()).as("events right after the processor's own pause").isEmpty();

        advance(SUSPECT_MS);
        assertThat(events.readValuesToList()).extracting(MembershipEvent::getType)
            .containsExactly(MembershipChange.SUSPECTED);
    }

    @Test
    void shouldJudgeRestoredMembersOnTheNewInstancesClock() {
        // The test driver wipes its stores on close, so the restored state is put straight into a mock context.
        MockProcessorContext<String, MembershipEvent> context = new MockProcessorContext<>();
        KeyValueStore<String, MemberRecord> members = store(context, MembershipTopology.MEMBERS_STORE,
            serdes.valueSerde(Topics.MEMBERSHIP_MEMBERS_CHANGELOG));
        // The mock context gives every store the same topic name, hence one registry subject: a plain serde here.
        KeyValueStore<String, Long> epoch = store(context, MembershipTopology.EPOCH_STORE, Serdes.Long());
        // Last seen on the previous instance's clock, which ran a day ahead of this one's.
        long previousClock = START.plus(Duration.ofDays(1)).toEpochMilli();
        members.put("worker-1", restored("worker-1", previousClock));
        members.put("worker-2", restored("worker-2", previousClock));
        epoch.put(MembershipTopology.EPOCH_KEY, 2L);
        long now = START.toEpochMilli();
        context.setCurrentSystemTimeMs(now);
        MembershipTopology.Detector detector = new MembershipTopology.Detector(CONFIG);
        detector.init(context);
        Punctuator check = context.scheduledPunctuators().get(0).getPunctuator();

        for (long t = CHECK_MS; t <= SUSPECT_MS; t += CHECK_MS) {
            context.setCurrentSystemTimeMs(now + t);
            if (t == 1_000) {
                detector.process(new Record<>("worker-2", heartbeat("worker-2", 100, 8, SENDER_AHEAD).build(),
                    SENDER_AHEAD.toEpochMilli()));
            }
            check.punctuate(now + t);
        }

        List<MembershipEvent> out = context.forwarded().stream().map(f -> f.record().value())
            .map(MembershipEvent.class::cast).toList();
        assertThat(out).extracting(MembershipEvent::getType).containsExactly(MembershipChange.SUSPECTED);
        MembershipEvent suspected = out.get(0);
        assertThat(suspected.getMemberId()).as("silent since this instance started").isEqualTo("worker-1");
        assertThat(suspected.getEpoch()).as("the epoch goes on from the restored one").isEqualTo(3L);
        assertThat(suspected.getMembers()).containsExactly(
            new MemberStatus("worker-1", "worker", MemberState.SUSPECTED, SUSPECT_MS),
            alive("worker-2", SUSPECT_MS - 1_000));
    }

    @Test
    void shouldNameEveryOperatorExplicitly() {
        String description = MembershipTopology.build(CONFIG, serdes).describe().toString();

        assertThat(description).doesNotContain("KSTREAM-").doesNotContain("KTABLE-")
            .contains(MembershipTopology.SOURCE, MembershipTopology.PROCESSOR, MembershipTopology.SINK,
                MembershipTopology.MEMBERS_STORE, MembershipTopology.EPOCH_STORE);
        assertThat(MembershipTopology.APPLICATION_ID + "-" + MembershipTopology.MEMBERS_STORE + "-changelog")
            .isEqualTo(Topics.MEMBERSHIP_MEMBERS_CHANGELOG.name());
        assertThat(MembershipTopology.APPLICATION_ID + "-" + MembershipTopology.EPOCH_STORE + "-changelog")
            .isEqualTo(Topics.MEMBERSHIP_EPOCH_CHANGELOG.name());

        beat("worker-1", 100, 1, SENDER_BEHIND);
        assertThat(driver.producedTopicNames()).as("topics the topology wrote to").containsExactlyInAnyOrder(
            Topics.MEMBERSHIP_EVENTS.name(), Topics.MEMBERSHIP_MEMBERS_CHANGELOG.name(),
            Topics.MEMBERSHIP_EPOCH_CHANGELOG.name());
    }

    @Test
    void shouldRefuseASuspicionThatIsNotShorterThanRemoval() {
        assertThatThrownBy(() -> new MembershipTopology.Config(Duration.ofSeconds(6), Duration.ofSeconds(6),
            Duration.ofMillis(500))).hasMessageContaining(MembershipTopology.Config.SUSPECT_AFTER_KEY)
            .hasMessageContaining(MembershipTopology.Config.REMOVE_AFTER_KEY);
        assertThatThrownBy(() -> new MembershipTopology.Config(Duration.ofSeconds(3), Duration.ofSeconds(6),
            Duration.ofSeconds(2))).hasMessageContaining(MembershipTopology.Config.CHECK_EVERY_KEY);
    }

    private static <V> KeyValueStore<String, V> store(MockProcessorContext<?, ?> context, String name,
                                                      Serde<V> valueSerde) {
        KeyValueStore<String, V> store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(name),
            Serdes.String(), valueSerde).withLoggingDisabled().build();
        store.init(context.getStateStoreContext(), store);
        context.addStateStore(store);
        return store;
    }

    private static MemberRecord restored(String memberId, long lastSeenMs) {
        return MemberRecord.newBuilder().setMemberId(memberId).setRole("worker").setHost("host-" + memberId)
            .setPid(4242).setIncarnation(100).setSequence(7).setState(MemberState.ALIVE).setLastSeenMs(lastSeenMs)
            .build();
    }

    /** Advances the processor's wall clock one punctuation period at a time, as a running processor sees it. */
    private void advance(long millis) {
        for (long done = 0; done < millis; done += CHECK_MS) {
            driver.advanceWallClockTime(Duration.ofMillis(Math.min(CHECK_MS, millis - done)));
        }
    }

    /** A heartbeat whose sentAt and record timestamp are on the sender's clock. */
    private void beat(String memberId, long incarnation, long sequence, Instant senderClock) {
        heartbeats.pipeInput(memberId, heartbeat(memberId, incarnation, sequence, senderClock).build(), senderClock);
    }

    private static Heartbeat.Builder heartbeat(String memberId, long incarnation, long sequence, Instant sentAt) {
        return Heartbeat.newBuilder().setMemberId(memberId).setRole("worker").setHost("host-" + memberId)
            .setPid(4242).setSequence(sequence).setIncarnation(incarnation).setIntervalMs(1000).setLeaving(false)
            .setSentAt(sentAt);
    }

    private static MemberStatus alive(String memberId, long ageMs) {
        return new MemberStatus(memberId, "worker", MemberState.ALIVE, ageMs);
    }
}
