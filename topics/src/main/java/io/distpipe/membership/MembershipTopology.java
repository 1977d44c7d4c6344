package io.distpipe.membership;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;

import io.distpipe.common.StreamsService;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.streams.AutoOffsetReset;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The membership processor as a pure topology factory: heartbeats in, {@link MembershipEvent}s out (ADDED, SUSPECTED,
 * RECOVERED, REMOVED, each with the whole member list and an epoch that grows by one per change). Silence is judged
 * by a wall-clock punctuator on this processor's own clock, never by the senders' {@code sentAt} or record
 * timestamps. Heartbeats and events have one partition each, so one instance sees every member.
 */
public final class MembershipTopology {

    /** The application id; with the store names it fixes the changelog topic names declared in the catalog. */
    public static final String APPLICATION_ID = "membership";
    public static final String MEMBERS_STORE = "members";
    public static final String EPOCH_STORE = "epoch";
    static final String SOURCE = "membership-heartbeats-source";
    static final String PROCESSOR = "membership-detector";
    static final String SINK = "membership-events-sink";
    /** The one key of the epoch store. */
    static final String EPOCH_KEY = "epoch";

    private static final Logger LOG = LoggerFactory.getLogger(MembershipTopology.class);

    /**
     * When a silent member is suspected and removed, and how often silence is checked.
     *
     * @param suspectAfter silence after which a member is SUSPECTED
     * @param removeAfter  silence after which a member is REMOVED; longer than {@code suspectAfter}
     * @param checkEvery   the period of the wall-clock punctuation; at most half of {@code suspectAfter}
     */
    public record Config(Duration suspectAfter, Duration removeAfter, Duration checkEvery) {

        public static final String SUSPECT_AFTER_KEY = "suspect-after";
        public static final Duration SUSPECT_AFTER_DEFAULT = Duration.ofSeconds(3);
        public static final String REMOVE_AFTER_KEY = "remove-after";
        public static final Duration REMOVE_AFTER_DEFAULT = Duration.ofSeconds(6);
        public static final String CHECK_EVERY_KEY = "check-every";
        public static final Duration CHECK_EVERY_DEFAULT = Duration.ofMillis(500);

        public Config {
            positive(SUSPECT_AFTER_KEY, suspectAfter);
            positive(REMOVE_AFTER_KEY, removeAfter);
            positive(CHECK_EVERY_KEY, checkEvery);
            if (suspectAfter.compareTo(removeAfter) >= 0) {
                throw new IllegalArgumentException(SUSPECT_AFTER_KEY + " (" + suspectAfter.toMillis()
                    + " ms) must be shorter than " + REMOVE_AFTER_KEY + " (" + removeAfter.toMillis() + " ms)");
            }
            // A longer period would let a check come late by more than the silence it measures.
            if (checkEvery.multipliedBy(2).compareTo(suspectAfter) > 0) {
                throw new IllegalArgumentException(CHECK_EVERY_KEY + " (" + checkEvery.toMillis()
                    + " ms) must be at most half of " + SUSPECT_AFTER_KEY + " (" + suspectAfter.toMillis() + " ms)");
            }
        }

        public static Config defaults() {
            return new Config(SUSPECT_AFTER_DEFAULT, REMOVE_AFTER_DEFAULT, CHECK_EVERY_DEFAULT);
        }

        private static void positive(String key, Duration value) {
            if (value == null || value.toMillis() < 1) {
                throw new IllegalArgumentException(key + " must be at least 1 ms: " + value);
            }
        }
    }

    private MembershipTopology() {
    }

    public static Topology build(Config cfg, AvroSerdes serdes) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(MEMBERS_STORE),
            serdes.keySerde(Topics.MEMBERSHIP_MEMBERS_CHANGELOG),
            serdes.valueSerde(Topics.MEMBERSHIP_MEMBERS_CHANGELOG)));
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(EPOCH_STORE),
            serdes.keySerde(Topics.MEMBERSHIP_EPOCH_CHANGELOG), serdes.valueSerde(Topics.MEMBERSHIP_EPOCH_CHANGELOG)));
        // A membership processor that starts afresh judges who is alive now: live members beat again within one
        // interval, while a day of old heartbeats would add and then drop members that are long gone.
        builder.stream(Topics.MEMBERSHIP_HEARTBEATS.name(), Consumed.with(serdes.keySerde(Topics.MEMBERSHIP_HEARTBEATS),
                    serdes.valueSerde(Topics.MEMBERSHIP_HEARTBEATS)).withName(SOURCE)
                .withOffsetResetPolicy(AutoOffsetReset.latest()))
            .process(() -> new Detector(cfg), Named.as(PROCESSOR), MEMBERS_STORE, EPOCH_STORE)
            .to(Topics.MEMBERSHIP_EVENTS.name(), Produced.with(serdes.keySerde(Topics.MEMBERSHIP_EVENTS),
                serdes.valueSerde(Topics.MEMBERSHIP_EVENTS)).withName(SINK));
        return builder.build(config("unused:9092"));
    }

    /** Streams settings: exactly once, explicit names, unreadable heartbeats logged and skipped. */
    public static Properties config(String bootstrapServers) {
        return StreamsService.exactlyOnceConfig(APPLICATION_ID, bootstrapServers);
    }

    /**
     * Keeps every member with the time this processor last heard it and turns heartbeats and silence into events.
     * Times are milliseconds of this processor's clock made monotonic: a clock stepped back only pauses it, and a
     * jump forward (or this processor having been paused) is not held against the members.
     */
    static final class Detector implements Processor<String, Heartbeat, String, MembershipEvent> {
        private final Config cfg;
        private ProcessorContext<String, MembershipEvent> context;
        private KeyValueStore<String, MemberRecord> members;
        private KeyValueStore<String, Long> epochs;
        private long lastWallMs;
        private long clockMs;
        private long lastCheckMs;
        private long startedMs;
        /** Members restored from the changelog: their last-seen times were taken on another instance's clock. */
        private List<String> inherited = List.of();

        Detector(Config cfg) {
            this.cfg = cfg;
        }

        @Override
        public void init(ProcessorContext<String, MembershipEvent> context) {
            this.context = context;
            this.members = context.getStateStore(MEMBERS_STORE);
            this.epochs = context.getStateStore(EPOCH_STORE);
            lastWallMs = context.currentSystemTimeMs();
            clockMs = lastWallMs;
            lastCheckMs = clockMs;
            startedMs = clockMs;
            inherited = all().stream().map(MemberRecord::getMemberId).toList();
            if (!inherited.isEmpty()) {
                LOG.info("membership: restored {} members ({}); their silence counts from now, on this processor's "
                    + "clock.", inherited.size(), String.join(", ", inherited));
            }
            context.schedule(cfg.checkEvery(), PunctuationType.WALL_CLOCK_TIME, wallMs -> check());
        }

        @Override
        public void process(Record<String, Heartbeat> record) {
            long now = now();
            adoptInherited();
            Heartbeat beat = record.value();
            String id = record.key();
            if (id == null || beat == null || !id.equals(beat.getMemberId())) {
                LOG.warn("membership: skipped a heartbeat whose key ({}) is not its member id ({}).", id,
                    beat == null ? null : beat.getMemberId());
                return;
            }
            MemberRecord known = members.get(id);
            if (known != null && beat.getIncarnation() < known.getIncarnation()) {
                LOG.debug("membership: ignored a heartbeat of {} from an older incarnation ({} < {}).", id,
                    beat.getIncarnation(), known.getIncarnation());
                return;
            }
            if (beat.getLeaving()) {
                if (known != null) {
                    members.delete(id);
                    emit(MembershipChange.REMOVED, known, "left (leaving heartbeat " + beat.getSequence() + ")", now);
                }
                return;
            }
            MemberRecord heard = MemberRecord.newBuilder().setMemberId(id).setRole(beat.getRole())
                .setHost(beat.getHost()).setPid(beat.getPid()).setIncarnation(beat.getIncarnation())
                .setSequence(beat.getSequence()).setState(MemberState.ALIVE).setLastSeenMs(now).build();
            members.put(id, heard);
            if (known == null) {
                emit(MembershipChange.ADDED, heard, "first heartbeat (" + beat.getHost() + ", pid " + beat.getPid()
                    + ")", now);
            } else if (beat.getIncarnation() > known.getIncarnation()) {
                emit(MembershipChange.ADDED, heard, "restarted: incarnation " + beat.getIncarnation() + " replaces "
                    + known.getIncarnation(), now);
            } else if (known.getState() == MemberState.SUSPECTED) {
                emit(MembershipChange.RECOVERED, heard, "heard again after " + (now - known.getLastSeenMs())
                    + " ms of silence", now);
            }
        }

        /** The wall-clock punctuation: suspects and removes members that have been silent too long. */
        private void check() {
            long now = now();
            adoptInherited();
            long sinceLastCheck = now - lastCheckMs;
            lastCheckMs = now;
            if (sinceLastCheck > cfg.suspectAfter().toMillis()) {
                // This processor was not checking (paused, or its clock jumped): the silence was its own, and the
                // heartbeats of that time may still be waiting in the topic.
                List<MemberRecord> all = all();
                all.forEach(m -> members.put(m.getMemberId(), seenAt(m, now)));
                LOG.warn("membership: no check for {} ms (this processor paused or its clock jumped); every member "
                    + "({}) gets a fresh grace period.", sinceLastCheck, all.size());
                return;
            }
            for (MemberRecord member : all()) {
                long silentMs = now - member.getLastSeenMs();
                String reason = "no heartbeat for " + silentMs + " ms";
                if (silentMs >= cfg.suspectAfter().toMillis() && member.getState() == MemberState.ALIVE) {
                    // Suspected first even when already past removeAfter, so every silent member is suspected
                    // before it is removed.
                    MemberRecord suspected = MemberRecord.newBuilder(member).setState(MemberState.SUSPECTED).build();
                    members.put(member.getMemberId(), suspected);
                    emit(MembershipChange.SUSPECTED, suspected, reason, now);
                }
                if (silentMs >= cfg.removeAfter().toMillis()) {
                    members.delete(member.getMemberId());
                    emit(MembershipChange.REMOVED, member, reason, now);
                }
            }
        }

        private void emit(MembershipChange change, MemberRecord member, String reason, long now) {
            Long previous = epochs.get(EPOCH_KEY);
            long epoch = previous == null ? 1 : previous + 1;
            epochs.put(EPOCH_KEY, epoch);
            List<MemberStatus> list = all().stream().map(m -> new MemberStatus(m.getMemberId(), m.getRole(),
                m.getState(), Math.max(0, now - m.getLastSeenMs()))).toList();
            long wallMs = context.currentSystemTimeMs();
            MembershipEvent event = MembershipEvent.newBuilder().setType(change).setMemberId(member.getMemberId())
                .setRole(member.getRole()).setEpoch(epoch).setMembers(list).setReason(reason)
                .setAt(Instant.ofEpochMilli(wallMs)).build();
            context.forward(new Record<>(member.getMemberId(), event, wallMs));
            LOG.info("membership: {}; epoch {}: {} {}, {}.", describe(list), epoch, member.getMemberId(), change,
                reason);
        }

        /** "2 members: worker-1, worker-2 (suspected)", the line other components print from these events. */
        private static String describe(List<MemberStatus> list) {
            String names = list.stream().map(m -> m.getMemberId()
                + (m.getState() == MemberState.SUSPECTED ? " (suspected)" : "")).collect(Collectors.joining(", "));
            return list.size() + (list.size() == 1 ? " member" : " members") + (list.isEmpty() ? "" : ": " + names);
        }

        /**
         * Restored members' silence counts from this instance's start. Done on the first record or check rather than
         * in {@link #init}, so the writes take the task's usual path to the changelog and the transaction.
         */
        private void adoptInherited() {
            if (inherited.isEmpty()) {
                return;
            }
            for (String id : inherited) {
                MemberRecord m = members.get(id);
                if (m != null && m.getLastSeenMs() != startedMs) {
                    members.put(id, seenAt(m, startedMs));
                }
            }
            inherited = List.of();
        }

        /** This processor's clock, monotonic: the wall clock going back only stops it for a while. */
        private long now() {
            long wallMs = context.currentSystemTimeMs();
            clockMs += Math.max(0, wallMs - lastWallMs);
            lastWallMs = wallMs;
            return clockMs;
        }

        /** Every member, sorted by id (the store's own order is that of the serialized keys). */
        private List<MemberRecord> all() {
            List<MemberRecord> result = new ArrayList<>();
            try (KeyValueIterator<String, MemberRecord> it = members.all()) {
                while (it.hasNext()) {
                    KeyValue<String, MemberRecord> next = it.next();
                    result.add(next.value);
                }
            }
            result.sort(Comparator.comparing(MemberRecord::getMemberId));
            return result;
        }

        private static MemberRecord seenAt(MemberRecord member, long ms) {
            return MemberRecord.newBuilder(member).setLastSeenMs(ms).build();
        }
    }
}
