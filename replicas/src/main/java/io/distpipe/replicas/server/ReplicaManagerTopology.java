package io.distpipe.replicas.server;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Collectors;

import io.distpipe.common.StreamsService;
import io.distpipe.membership.MemberState;
import io.distpipe.membership.MemberStatus;
import io.distpipe.membership.MembershipChange;
import io.distpipe.membership.MembershipEvent;
import io.distpipe.replicas.ReplicaRole;
import io.distpipe.replicas.RoleAssignment;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.streams.AutoOffsetReset;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica manager (RM) as a pure topology factory: membership events of members with role {@code replica} in,
 * the role of each live replica out, to the compacted roles topic. Passive mode: one PRIMARY (kept while it lives;
 * otherwise the lowest-id backup is promoted) and BACKUPs. Active mode: READY replicas, and a (re)joining replica
 * RECOVERING with a state transfer ordered from a ready one (or, with none ready, READY by replaying the whole
 * request log). A suspected member counts as failed: a wrongly suspected primary is fenced by its successor.
 *
 * <p>A recovering replica confirms READY by writing its own record to the roles topic, which the RM also reads.
 */
public final class ReplicaManagerTopology {

    public static final String APPLICATION_ID = "replica-manager";
    public static final String ROLES_STORE = "roles";
    public static final String REPLICA_ROLE = "replica";
    public static final String RM = "RM";
    static final String EVENTS_SOURCE = "replica-manager-events-source";
    static final String ROLES_SOURCE = "replica-manager-roles-source";
    static final String ASSIGNER = "replica-manager-assigner";
    static final String CONFIRMATIONS = "replica-manager-confirmations";
    static final String SINK = "replica-manager-roles-sink";

    private static final Logger LOG = LoggerFactory.getLogger(ReplicaManagerTopology.class);

    /** Replication style of the group the RM manages. */
    public enum Mode {
        ACTIVE, PASSIVE;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Mode parse(String text) {
            for (Mode m : values()) {
                if (m.label().equalsIgnoreCase(text.strip())) {
                    return m;
                }
            }
            throw new IllegalArgumentException("mode must be active or passive: " + text);
        }
    }

    private ReplicaManagerTopology() {
    }

    public static Topology build(Mode mode, AvroSerdes serdes) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(ROLES_STORE),
            serdes.keySerde(Topics.REPLICAS_ROLES_CHANGELOG), serdes.valueSerde(Topics.REPLICAS_ROLES_CHANGELOG)));
        KStream<String, MembershipEvent> events = builder.stream(Topics.MEMBERSHIP_EVENTS.name(),
            Consumed.with(serdes.keySerde(Topics.MEMBERSHIP_EVENTS), serdes.valueSerde(Topics.MEMBERSHIP_EVENTS))
                .withName(EVENTS_SOURCE).withOffsetResetPolicy(AutoOffsetReset.earliest()));
        events.process(() -> new Assigner(mode), Named.as(ASSIGNER), ROLES_STORE)
            .to(Topics.REPLICAS_ROLES.name(), Produced.with(serdes.keySerde(Topics.REPLICAS_ROLES),
                serdes.valueSerde(Topics.REPLICAS_ROLES)).withName(SINK));
        builder.stream(Topics.REPLICAS_ROLES.name(), Consumed.with(serdes.keySerde(Topics.REPLICAS_ROLES),
                    serdes.valueSerde(Topics.REPLICAS_ROLES)).withName(ROLES_SOURCE)
                .withOffsetResetPolicy(AutoOffsetReset.earliest()))
            .process(Confirmations::new, Named.as(CONFIRMATIONS), ROLES_STORE);
        return builder.build(config("unused:9092"));
    }

    /** Streams settings: those of every distpipe Streams app, with a shorter commit interval. */
    public static Properties config(String bootstrapServers) {
        Properties props = StreamsService.exactlyOnceConfig(APPLICATION_ID, bootstrapServers);
        // Role changes are on the failover path: commit (and so publish) them within 50 ms.
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 50);
        return props;
    }

    /**
     * The roles of the live replicas after a membership change, given the roles before it. Pure, for tests.
     *
     * @param restarted a member whose new incarnation was just added: its previous role no longer holds
     */
    static Map<String, RoleAssignment> assign(Mode mode, List<String> live, Map<String, RoleAssignment> previous,
                                              String restarted, long epoch, Instant at) {
        Map<String, RoleAssignment> prev = new TreeMap<>(previous);
        if (restarted != null) {
            prev.remove(restarted);
        }
        Map<String, String> roles = new LinkedHashMap<>();
        Map<String, String> transfers = new LinkedHashMap<>();
        String primary = null;
        if (mode == Mode.PASSIVE) {
            primary = live.stream().filter(m -> role(prev, m) == ReplicaRole.PRIMARY).findFirst()
                .or(() -> live.stream().filter(m -> role(prev, m) == ReplicaRole.BACKUP).findFirst())
                .or(() -> live.stream().findFirst()).orElse(null);
            for (String m : live) {
                roles.put(m, (m.equals(primary) ? ReplicaRole.PRIMARY : ReplicaRole.BACKUP).name());
            }
        } else {
            List<String> ready = live.stream().filter(m -> role(prev, m) == ReplicaRole.READY).toList();
            for (String m : live) {
                RoleAssignment before = prev.get(m);
                if (ready.contains(m)) {
                    roles.put(m, ReplicaRole.READY.name());
                } else if (before != null && before.getRole() == ReplicaRole.RECOVERING
                    && ready.contains(before.getTransferFrom())) {
                    roles.put(m, ReplicaRole.RECOVERING.name());
                    transfers.put(m, before.getTransferFrom());
                } else if (!ready.isEmpty()) {
                    roles.put(m, ReplicaRole.RECOVERING.name());
                    transfers.put(m, ready.get(0));
                } else {
                    // Nobody holds a state to transfer: the request log from its start is the state.
                    roles.put(m, ReplicaRole.READY.name());
                }
            }
        }
        Map<String, RoleAssignment> result = new TreeMap<>();
        for (String m : live) {
            RoleAssignment before = prev.get(m);
            ReplicaRole role = ReplicaRole.valueOf(roles.get(m));
            String from = transfers.get(m);
            if (before != null && before.getRole() == role && Objects.equals(before.getTransferFrom(), from)
                && Objects.equals(before.getPrimary(), primary) && before.getMembers().equals(live)) {
                result.put(m, before);
            } else {
                boolean sameRole = before != null && before.getRole() == role
                    && Objects.equals(before.getTransferFrom(), from);
                result.put(m, RoleAssignment.newBuilder().setMember(m).setRole(role)
                    .setEpoch(sameRole ? before.getEpoch() : epoch).setMode(mode.label()).setTransferFrom(from)
                    .setPrimary(primary).setMembers(live).setAssignedBy(RM).setAt(at).build());
            }
        }
        return result;
    }

    private static ReplicaRole role(Map<String, RoleAssignment> prev, String member) {
        RoleAssignment a = prev.get(member);
        return a == null ? null : a.getRole();
    }

    /** "3 members: S1, S2, S3", the line the RM logs on each change. */
    static String describe(Map<String, RoleAssignment> roles) {
        String names = String.join(", ", roles.keySet());
        String detail = roles.values().stream().map(a -> a.getMember() + " " + a.getRole().name()
                .toLowerCase(Locale.ROOT) + (a.getTransferFrom() == null ? "" : " from " + a.getTransferFrom()))
            .collect(Collectors.joining(", "));
        return roles.size() + (roles.size() == 1 ? " member" : " members") + (roles.isEmpty() ? "" : ": " + names
            + " (" + detail + ")");
    }

    /** Membership events to role assignments: emits each changed role, and a tombstone for each replica gone. */
    static final class Assigner implements Processor<String, MembershipEvent, String, RoleAssignment> {
        private final Mode mode;
        private ProcessorContext<String, RoleAssignment> context;
        private KeyValueStore<String, RoleAssignment> store;

        Assigner(Mode mode) {
            this.mode = mode;
        }

        @Override
        public void init(ProcessorContext<String, RoleAssignment> context) {
            this.context = context;
            this.store = context.getStateStore(ROLES_STORE);
        }

        @Override
        public void process(Record<String, MembershipEvent> record) {
            MembershipEvent event = record.value();
            if (event == null) {
                return;
            }
            List<String> live = event.getMembers().stream()
                .filter(m -> REPLICA_ROLE.equals(m.getRole()) && m.getState() == MemberState.ALIVE)
                .map(MemberStatus::getMemberId).sorted().toList();
            String restarted = event.getType() == MembershipChange.ADDED && REPLICA_ROLE.equals(event.getRole())
                ? event.getMemberId() : null;
            Map<String, RoleAssignment> before = all();
            long now = context.currentSystemTimeMs();
            Map<String, RoleAssignment> after = assign(mode, live, before, restarted, event.getEpoch(),
                Instant.ofEpochMilli(now));
            boolean changed = false;
            for (RoleAssignment a : after.values()) {
                RoleAssignment old = before.get(a.getMember());
                if (a != old) {
                    store.put(a.getMember(), a);
                    context.forward(new Record<>(a.getMember(), a, now));
                    changed = true;
                }
            }
            for (String gone : before.keySet()) {
                if (!after.containsKey(gone)) {
                    store.delete(gone);
                    context.forward(new Record<>(gone, null, now));
                    changed = true;
                }
            }
            if (changed) {
                LOG.info("RM: {}; epoch {} after {} {}.", describe(all()), event.getEpoch(), event.getMemberId(),
                    event.getType());
            }
        }

        private Map<String, RoleAssignment> all() {
            Map<String, RoleAssignment> result = new TreeMap<>();
            try (KeyValueIterator<String, RoleAssignment> it = store.all()) {
                while (it.hasNext()) {
                    KeyValue<String, RoleAssignment> next = it.next();
                    result.put(next.key, next.value);
                }
            }
            return result;
        }
    }

    /** A recovering replica's own READY record: the RM now counts it as a source for later transfers. */
    static final class Confirmations implements Processor<String, RoleAssignment, Void, Void> {
        private KeyValueStore<String, RoleAssignment> store;

        @Override
        public void init(ProcessorContext<Void, Void> context) {
            this.store = context.getStateStore(ROLES_STORE);
        }

        @Override
        public void process(Record<String, RoleAssignment> record) {
            RoleAssignment confirmation = record.value();
            if (confirmation == null || !confirmation.getMember().equals(confirmation.getAssignedBy())
                || confirmation.getRole() != ReplicaRole.READY) {
                return;
            }
            RoleAssignment known = store.get(confirmation.getMember());
            Optional<RoleAssignment> recovering = Optional.ofNullable(known)
                .filter(k -> k.getRole() == ReplicaRole.RECOVERING && confirmation.getEpoch() >= k.getEpoch());
            if (recovering.isPresent()) {
                store.put(known.getMember(), RoleAssignment.newBuilder(known).setRole(ReplicaRole.READY)
                    .setTransferFrom(null).build());
                LOG.info("RM: {} recovered (state from {}) and is ready at epoch {}.", known.getMember(),
                    known.getTransferFrom(), confirmation.getEpoch());
            }
        }
    }
}
