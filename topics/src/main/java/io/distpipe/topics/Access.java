package io.distpipe.topics;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Who may do what on a secured cluster: one principal per service role, each allowed exactly what its role does.
 * What a role <em>writes</em> is derived from the catalog (every {@link TopicSpec#writer()} names its writer, and a
 * role here claims the writer names that are its own; {@code AccessTest} checks that every catalog topic has exactly
 * one); what it reads, its consumer groups and transactional ids are declared here, next to it, from the code that
 * uses them. {@link #bindings} turns a role into Kafka ACLs for its principal ({@code User:<principal>}).
 *
 * @param principal        the SCRAM user and ACL principal of the role
 * @param writerNames      the catalog's writer names that are this role (the writer text up to " (" or ";")
 * @param alsoWrites       topics it writes besides those, each named in the note of the catalog's writer text
 * @param reads            topics it reads (READ, which includes DESCRIBE)
 * @param prefixedTopics   topic name prefixes it creates, writes and reads (per-job topics), or none
 * @param groups           consumer groups it joins or commits to, literal
 * @param groupPrefix      or a prefix of them (one group per instance), or null
 * @param transactionalIds a prefix of its transactional ids, or null
 * @param heartbeats       whether it sends membership heartbeats (every member writes membership.heartbeats)
 * @param streams          whether it is a Kafka Streams application (its own topics' configs are described)
 */
public record Access(String principal, Set<String> writerNames, Set<String> alsoWrites, Set<String> reads,
                     Set<String> prefixedTopics,
                     Set<String> groups, String groupPrefix, String transactionalIds, boolean heartbeats,
                     boolean streams) {

    /** The writer named by the catalog for topics every member writes (its own key). */
    static final String EVERY_MEMBER = "every member";

    public static final Access COORDINATOR = service("coordinator", Set.of("coordinator"),
        Set.of("primes.tasks", "primes.completed", "primes.jobs", "primes.rejected", "primes.unique",
            "primes.found", "primes.snapshots", "primes.tasks.dlq", "primes.found.dlq", "membership.events",
            "membership.heartbeats"), Set.of(), Set.of(), null, "primes-coordinator-", false);
    public static final Access WORKER = service("worker", Set.of("worker"), Set.of("primes.tasks"), Set.of(),
        Set.of("primes-workers"), null, "primes-worker-", false);
    public static final Access DEDUP = service("dedup", Set.of("dedup"),
        Set.of("primes.found", "primes-dedup-seen-changelog"), Set.of(), Set.of("primes-dedup"), null,
        "primes-dedup-", true);
    public static final Access MEMBERSHIP = service("membership", Set.of("membership"),
        Set.of("membership.heartbeats", "membership-members-changelog", "membership-epoch-changelog"), Set.of(),
        Set.of("membership"), null, "membership-", true);
    /** A recovered replica confirms its own READY on replicas.roles (the catalog's note on that topic's writer). */
    public static final Access REPLICA = new Access("replica", Set.of("primary replica", "replicas", "replica"),
        Set.of("replicas.roles"), Set.of("replicas.requests", "replicas.roles", "replicas.checkpoints",
            "replicas.replies"), Set.of(), Set.of(), null, "replicas-", true, false);
    public static final Access REPLICA_MANAGER = service("replica-manager", Set.of("replica-manager"),
        Set.of("membership.events", "membership.heartbeats", "replicas.roles", "replica-manager-roles-changelog",
            "replicas.checkpoints", "replicas.replies", "replicas.requests", "replicas.requests.dlq"), Set.of(),
        Set.of("replica-manager"), null, "replica-manager-", true);
    public static final Access KV_COORDINATOR = service("kv-coordinator", Set.of("kv coordinator"),
        Set.of("kv.requests", "kv.votes", "kv.decisions"), Set.of(), Set.of("kv-coordinator"), null,
        "kv-coordinator", false);
    public static final Access KV_WORKER = service("kv-worker", Set.of("kv worker"), Set.of("kv.decisions"),
        Set.of(), Set.of(), "kv-worker-", "kv-worker-", false);
    public static final Access MR_COORDINATOR = service("mr-coordinator", Set.of("mr coordinator"),
        Set.of("mr.jobs.commands", "mr.jobs.status", "mr.task.status", "mr.map.tasks", "mr.reduce.tasks"),
        Set.of("mr.intermediate."), Set.of("mr-coordinator"), null, "mr-coordinator", false);
    public static final Access MR_WORKER = service("mr-worker", Set.of("mr worker"),
        Set.of("mr.map.tasks", "mr.reduce.tasks"), Set.of("mr.intermediate."), Set.of("mr-workers"), null,
        "mr-worker-", false);
    public static final Access CHAT_SERVER = service("chat-server", Set.of("chat server"), Set.of("chat.events"),
        Set.of(), Set.of(), null, "distpipe-", false);
    public static final Access REGISTRY = service("registry", Set.of("schema registry"),
        Set.of("registry.journal", "registry.snapshots", "registry.events"), Set.of(), Set.of(), "registry", null,
        false);
    public static final Access REPLICA_CLIENT = client("replica-client", Set.of("replica clients"),
        Set.of("replicas.replies", "replicas.roles"));
    public static final Access KV_CLIENT = client("kv-client", Set.of("kv client"), Set.of("kv.replies"));
    public static final Access MR_CLIENT = client("mr-client", Set.of("mr submit"), Set.of("mr.jobs.status"));
    /** A chat user's client reads the events; only the chat server writes them. */
    public static final Access CHAT_CLIENT = client("chat-client", Set.of(), Set.of("chat.events"));

    /** Every role, services first. */
    public static final List<Access> ALL = List.of(COORDINATOR, WORKER, DEDUP, MEMBERSHIP, REPLICA, REPLICA_MANAGER,
        KV_COORDINATOR, KV_WORKER, MR_COORDINATOR, MR_WORKER, CHAT_SERVER, REGISTRY, REPLICA_CLIENT, KV_CLIENT,
        MR_CLIENT, CHAT_CLIENT);

    public Access {
        writerNames = Collections.unmodifiableSet(new TreeSet<>(writerNames));
        alsoWrites = Collections.unmodifiableSet(new TreeSet<>(alsoWrites));
        reads = Collections.unmodifiableSet(new TreeSet<>(reads));
        prefixedTopics = Collections.unmodifiableSet(new TreeSet<>(prefixedTopics));
        groups = Collections.unmodifiableSet(new TreeSet<>(groups));
    }

    private static Access service(String principal, Set<String> writerNames, Set<String> reads,
                                  Set<String> prefixedTopics, Set<String> groups, String groupPrefix,
                                  String transactionalIds, boolean streams) {
        return new Access(principal, writerNames, Set.of(), reads, prefixedTopics, groups, groupPrefix,
            transactionalIds, true, streams);
    }

    private static Access client(String principal, Set<String> writerNames, Set<String> reads) {
        return new Access(principal, writerNames, Set.of(), reads, Set.of(), Set.of(), null, null, false, false);
    }

    public static Optional<Access> byPrincipal(String principal) {
        return ALL.stream().filter(a -> a.principal.equals(principal)).findFirst();
    }

    /** A catalog writer text's name: up to " (" or ";", lower case. */
    static String writerName(TopicSpec<?, ?> topic) {
        String w = topic.writer();
        int end = w.length();
        for (String stop : new String[] {" (", ";"}) {
            int i = w.indexOf(stop);
            if (i >= 0) {
                end = Math.min(end, i);
            }
        }
        return w.substring(0, end).strip().toLowerCase(Locale.ROOT);
    }

    /** The topics this role writes: {@link #catalogWrites()} and {@link #alsoWrites()}. */
    public Set<String> writes() {
        Set<String> writes = catalogWrites();
        writes.addAll(alsoWrites);
        return writes;
    }

    /** The catalog topics whose writer is one of this role's names, and the heartbeats if it sends them. */
    public Set<String> catalogWrites() {
        Set<String> writes = new TreeSet<>();
        for (TopicSpec<?, ?> topic : Topics.ALL) {
            String name = writerName(topic);
            if (writerNames.contains(name) || heartbeats && name.equals(EVERY_MEMBER)) {
                writes.add(topic.name());
            }
        }
        return writes;
    }

    /** Every catalog topic by the roles the catalog names as its writer (the heartbeats: all that send them). */
    public static Map<String, Set<String>> writersByTopic() {
        Map<String, Set<String>> writers = new TreeMap<>();
        Topics.ALL.forEach(t -> writers.put(t.name(), new TreeSet<>()));
        for (Access a : ALL) {
            a.catalogWrites().forEach(t -> writers.get(t).add(a.principal));
        }
        return writers;
    }

    /** The ACLs that allow {@code principal} (a SCRAM user name) this role and nothing more. */
    public List<AclBinding> bindings(String principal) {
        String user = "User:" + principal;
        List<AclBinding> acls = new ArrayList<>();
        Set<String> writes = writes();
        Set<String> readOrWrite = new TreeSet<>(reads);
        readOrWrite.addAll(writes);
        for (String topic : writes) {
            acls.add(allow(ResourceType.TOPIC, topic, PatternType.LITERAL, user, AclOperation.WRITE));
        }
        for (String topic : reads) {
            acls.add(allow(ResourceType.TOPIC, topic, PatternType.LITERAL, user, AclOperation.READ));
        }
        for (String topic : readOrWrite) {
            acls.add(allow(ResourceType.TOPIC, topic, PatternType.LITERAL, user, AclOperation.DESCRIBE));
            if (streams) {
                acls.add(allow(ResourceType.TOPIC, topic, PatternType.LITERAL, user, AclOperation.DESCRIBE_CONFIGS));
            }
        }
        if (streams) {
            // Kafka Streams creates its changelogs (the catalog's internal topics) when they are missing.
            writes.stream().filter(t -> Topics.byName(t).map(TopicSpec::internal).orElse(false)).forEach(t ->
                acls.add(allow(ResourceType.TOPIC, t, PatternType.LITERAL, user, AclOperation.CREATE)));
        }
        for (String prefix : prefixedTopics) {
            for (AclOperation op : List.of(AclOperation.CREATE, AclOperation.WRITE, AclOperation.READ,
                AclOperation.DESCRIBE, AclOperation.DELETE)) {
                acls.add(allow(ResourceType.TOPIC, prefix, PatternType.PREFIXED, user, op));
            }
        }
        for (String group : groups) {
            acls.add(allow(ResourceType.GROUP, group, PatternType.LITERAL, user, AclOperation.READ));
        }
        if (groupPrefix != null) {
            acls.add(allow(ResourceType.GROUP, groupPrefix, PatternType.PREFIXED, user, AclOperation.READ));
        }
        if (transactionalIds != null) {
            for (AclOperation op : List.of(AclOperation.WRITE, AclOperation.DESCRIBE)) {
                acls.add(allow(ResourceType.TRANSACTIONAL_ID, transactionalIds, PatternType.PREFIXED, user, op));
            }
        }
        return acls;
    }

    private static AclBinding allow(ResourceType type, String name, PatternType pattern, String user,
                                    AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, pattern),
            new AccessControlEntry(user, "*", op, AclPermissionType.ALLOW));
    }

    /** The ACL table of every role, as {@code docs/acls.md} holds it (generated: {@code distpipe acls}). */
    public static String table() {
        StringBuilder sb = new StringBuilder();
        sb.append("| principal | writes (from the catalog) | reads | per-job topics (create, write, read, delete) "
            + "| groups | transactional ids |\n");
        sb.append("|---|---|---|---|---|---|\n");
        for (Access a : ALL) {
            Set<String> groups = new TreeSet<>(a.groups);
            if (a.groupPrefix != null) {
                groups.add(a.groupPrefix + "*");
            }
            Set<String> prefixed = new TreeSet<>();
            a.prefixedTopics.forEach(p -> prefixed.add(p + "*"));
            sb.append("| `").append(a.principal).append("` | ").append(list(a.writes())).append(" | ")
                .append(list(a.reads)).append(" | ").append(list(prefixed)).append(" | ").append(list(groups))
                .append(" | ").append(a.transactionalIds == null ? "" : "`" + a.transactionalIds + "*`")
                .append(" |\n");
        }
        return sb.toString();
    }

    private static String list(Set<String> names) {
        return names.stream().map(n -> "`" + n + "`").collect(Collectors.joining(", "));
    }
}
