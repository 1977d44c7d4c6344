package io.distpipe.replicas.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Predicate;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.LocalKafka;
import io.distpipe.common.Poll;
import io.distpipe.common.WorkerProcess;
import io.distpipe.membership.MembershipService;
import io.distpipe.membership.MembershipTopology;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRole;
import io.distpipe.replicas.RoleAssignment;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * A replicated server on an embedded broker (or on brokers and a registry given by the caller) for the demo, the
 * benchmark and the fault tests: the membership processor (GFD) and the replica manager in this JVM, replicas as
 * child JVMs that can be SIGKILLed and restarted, clients on threads of this JVM writing histories, and a watcher of
 * the roles topic.
 */
public final class ReplicaScenario implements AutoCloseable {

    public static final Duration WAIT = Duration.ofSeconds(90);
    /** A replica does little computing: the client compiler and a small serial heap make it start faster. */
    public static final List<String> REPLICA_JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k");

    /** Fast failure detection: heartbeats every 200 ms, suspected after 800 ms of silence. */
    public record Settings(Mode mode, Path dir, Duration heartbeat, Duration suspectAfter, Duration checkpointInterval) {
        public static Settings fast(Mode mode, Path dir, Duration checkpointInterval) {
            return new Settings(mode, dir, Duration.ofMillis(200), Duration.ofMillis(800), checkpointInterval);
        }
    }

    /** Brokers and a registry (Confluent REST API) that run already; the scenario leaves them running. */
    public record Cluster(String bootstrapServers, String registryUrl) {
    }

    /** One acknowledged request as a scenario sees it. */
    public record Ack(String client, long requestNum, String server, long nanos) {
    }

    private final Settings settings;
    private final Consumer<String> out;
    /** Null when the cluster was given: then it is not ours to close. */
    private final KafkaCluster kafka;
    private final SchemaRegistryServer registry;
    private final String bootstrap;
    private final String registryUrl;
    private final AvroSerdes serdes;
    private final MembershipService membership;
    private final ReplicaManagerService rm;
    private final Map<String, ChildJvm> replicas = new ConcurrentHashMap<>();
    private final Map<String, List<String>> lines = new ConcurrentHashMap<>();
    private final Map<String, RoleAssignment> roles = new ConcurrentHashMap<>();
    private final Map<String, ReplicaClient> clients = new ConcurrentHashMap<>();
    private final List<Future<ReplicaClient.Result>> running = new ArrayList<>();
    private final List<Ack> acks = new CopyOnWriteArrayList<>();
    private final List<Path> histories = new CopyOnWriteArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "replica-scenario");
        t.setDaemon(true);
        return t;
    });
    private final KafkaConsumer<byte[], byte[]> rolesReader;
    private final AtomicLong probes = new AtomicLong();
    private ReplicaClient prober;
    private volatile boolean closing;

    private ReplicaScenario(Settings settings, Consumer<String> out, Cluster cluster) throws Exception {
        this.settings = settings;
        this.out = out;
        Files.createDirectories(settings.dir());
        if (cluster == null) {
            out.accept("Starting an embedded broker and schema registry...");
            kafka = LocalKafka.get().startEmbedded();
            try {
                registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
            } catch (IOException | RuntimeException e) {
                kafka.close();
                throw e;
            }
            cluster = new Cluster(kafka.bootstrapServers(), registry.url());
        } else {
            kafka = null;
            registry = null;
        }
        bootstrap = cluster.bootstrapServers();
        registryUrl = cluster.registryUrl();
        serdes = AvroSerdes.connect(registryUrl);
        ReplicaManagerService.ensureTopics(bootstrap);
        Duration suspect = settings.suspectAfter();
        membership = new MembershipService("membership", bootstrap, 1,
            settings.dir().resolve("membership-state"), serdes, new MembershipTopology.Config(suspect,
                suspect.multipliedBy(2), Duration.ofMillis(Math.max(1, suspect.toMillis() / 4))));
        rm = new ReplicaManagerService(bootstrap, 1, settings.dir().resolve("rm-state"), serdes,
            settings.mode());
        membership.start();
        rm.start();
        membership.awaitRunning(WAIT);
        rm.awaitRunning(WAIT);
        out.accept("GFD (membership processor) and RM (replica manager, " + settings.mode().label()
            + " mode) are running.");
        rolesReader = new KafkaConsumer<>(KafkaClients.consumer(bootstrap, null, "scenario-roles",
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        TopicPartition tp = new TopicPartition(Topics.REPLICAS_ROLES.name(), 0);
        rolesReader.assign(List.of(tp));
        rolesReader.seekToBeginning(List.of(tp));
        threads.submit(this::watchRoles);
    }

    public static ReplicaScenario start(Settings settings, Consumer<String> out) throws Exception {
        return new ReplicaScenario(settings, out, null);
    }

    /**
     * On brokers and a registry that run already. One scenario per cluster: the topics, the membership processor's
     * and the RM's application ids and the primary's transactional id are fixed names.
     */
    public static ReplicaScenario start(Settings settings, Consumer<String> out, Cluster cluster) throws Exception {
        return new ReplicaScenario(settings, out, Objects.requireNonNull(cluster, "cluster"));
    }

    public Mode mode() {
        return settings.mode();
    }

    public String bootstrapServers() {
        return bootstrap;
    }

    private void watchRoles() {
        Deserializer<String> keys = serdes.keySerde(Topics.REPLICAS_ROLES).deserializer();
        Deserializer<RoleAssignment> values = serdes.valueSerde(Topics.REPLICAS_ROLES).deserializer();
        try {
            while (!closing) {
                for (ConsumerRecord<byte[], byte[]> r : rolesReader.poll(Duration.ofMillis(50))) {
                    String member = keys.deserialize(r.topic(), r.headers(), r.key());
                    if (r.value() == null) {
                        roles.remove(member);
                    } else {
                        roles.put(member, values.deserialize(r.topic(), r.headers(), r.value()));
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } finally {
            rolesReader.close();
        }
    }

    // ---- replicas

    /** Starts replica {@code id} in its own JVM and waits until it printed READY. */
    public void startReplica(String id, String... extra) throws Exception {
        List<String> log = lines.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>());
        log.clear();
        List<String> args = new ArrayList<>(List.of("replica", "--id", id, "--mode", settings.mode().label(),
            "--checkpoint-interval", settings.checkpointInterval().toMillis() + "ms",
            "--heartbeat-interval", settings.heartbeat().toMillis() + "ms",
            "--bootstrap-servers", bootstrap, "--registry-url", registryUrl));
        args.addAll(List.of(extra));
        replicas.put(id, WorkerProcess.spec(id, settings.dir().resolve("logs"), args).withJvmOptions(REPLICA_JVM)
            .withLines(line -> {
                log.add(line);
                if (!line.contains(" at offset ") && !ChildJvm.isReadyLine(line)) {
                    out.accept("  [" + id + "] " + line);
                }
            }).start());
    }

    /** Starts several replicas at once (each in its own JVM), waiting until every one printed READY. */
    public void startReplicas(String... ids) throws Exception {
        startReplicas(List.of(ids));
    }

    /** Starts several replicas at once with the same extra options, waiting until every one printed READY. */
    public void startReplicas(List<String> ids, String... extra) throws Exception {
        List<Future<?>> starts = new ArrayList<>();
        for (String id : ids) {
            starts.add(threads.submit(() -> {
                startReplica(id, extra);
                return null;
            }));
        }
        for (Future<?> f : starts) {
            f.get(WAIT.toSeconds() * 2, TimeUnit.SECONDS);
        }
    }

    /** SIGKILL. */
    public void kill(String id) {
        ChildJvm p = replicas.remove(id);
        if (p != null) {
            p.kill();
        }
    }

    /** SIGSTOP: replica {@code id} keeps its connections but runs no code (no heartbeat, no commit) until resumed. */
    public void pause(String id) {
        replica(id).pause();
    }

    /** SIGCONT of a paused replica. */
    public void resume(String id) {
        replica(id).resume();
    }

    private ChildJvm replica(String id) {
        ChildJvm p = replicas.get(id);
        if (p == null) {
            throw new IllegalStateException("replica " + id + " is not running");
        }
        return p;
    }

    public Collection<String> liveReplicas() {
        return new TreeMap<>(replicas).keySet();
    }

    public List<String> output(String id) {
        return lines.getOrDefault(id, List.of());
    }

    /** Waits until replica {@code id} printed a line matching {@code test}; returns it. */
    public String awaitLine(String id, String what, Predicate<String> test) {
        return Poll.untilPresent(id + " " + what, WAIT,
            () -> output(id).stream().filter(test).findFirst());
    }

    // ---- roles

    public Map<String, RoleAssignment> roles() {
        return new TreeMap<>(roles);
    }

    public long maxEpoch() {
        return roles.values().stream().mapToLong(RoleAssignment::getEpoch).max().orElse(0);
    }

    public Optional<String> primary() {
        return roles.values().stream().filter(a -> a.getRole() == ReplicaRole.PRIMARY)
            .map(RoleAssignment::getMember).findFirst();
    }

    /** Waits until every live replica has a role: passive one primary, active all ready (confirmed). */
    public void awaitRoles() {
        Poll.until("every live replica " + (settings.mode() == Mode.PASSIVE ? "has a role and one is primary"
            : "is ready") + " (roles now " + describeRoles() + ")", WAIT, () -> {
                Map<String, RoleAssignment> now = roles();
                if (!now.keySet().containsAll(replicas.keySet())) {
                    return false;
                }
                return settings.mode() == Mode.PASSIVE ? primary().filter(replicas::containsKey).isPresent()
                    : replicas.keySet().stream().allMatch(id -> now.get(id).getRole() == ReplicaRole.READY);
            });
    }

    /** Waits until replica {@code id} holds {@code role} at an epoch after {@code epoch}. */
    public void awaitRole(String id, ReplicaRole role, long epoch) {
        Poll.until(id + " to be " + role + " after epoch " + epoch, WAIT, () -> {
            RoleAssignment a = roles.get(id);
            return a != null && a.getRole() == role && a.getEpoch() > epoch;
        });
    }

    /** Waits until the RM dropped replica {@code id} (its role record is deleted once the GFD suspects it). */
    public void awaitGone(String id) {
        Poll.until("the replica manager to drop " + id, WAIT, () -> !roles.containsKey(id));
    }

    public String awaitPrimaryOtherThan(String old) {
        return Poll.untilPresent("a primary other than " + old, WAIT,
            () -> primary().filter(p -> !p.equals(old) && replicas.containsKey(p)));
    }

    public String describeRoles() {
        StringBuilder b = new StringBuilder();
        roles().forEach((id, a) -> b.append(b.length() == 0 ? "" : ", ").append(id).append(' ')
            .append(a.getRole()));
        return b.length() == 0 ? "none" : b.toString();
    }

    // ---- clients

    /** Starts {@code n} clients C1..Cn on threads, each sending until stopped at most {@code rate} requests/s. */
    public void startClients(int n, double rate) throws IOException {
        startClients("C", n, rate);
    }

    /** Starts clients {@code prefix}1..{@code prefix}n; a new prefix gives new clients, numbering from 1. */
    public void startClients(String prefix, int n, double rate) throws IOException {
        for (int i = 1; i <= n; i++) {
            String id = prefix + i;
            Path history = settings.dir().resolve("histories").resolve(id + ".jsonl");
            histories.add(history);
            ReplicaClient client = new ReplicaClient(new ReplicaClient.Config(id, bootstrap,
                Long.MAX_VALUE, rate, history, Duration.ofMillis(1000), Duration.ofSeconds(2), WAIT), serdes,
                line -> { });
            client.onAck((reply, nanos) -> acks.add(new Ack(reply.getClient(), reply.getRequestNum(),
                reply.getServer(), nanos)));
            clients.put(id, client);
            running.add(threads.submit(client::run));
        }
    }

    /** Acknowledged requests so far, over all clients. */
    public long ackCount() {
        return acks.size();
    }

    public List<Ack> acks() {
        return List.copyOf(acks);
    }

    /** Waits for {@code more} acknowledgements after the current count (from {@code server}, if not null). */
    public void awaitAcks(int more, String server) {
        long base = acks.stream().filter(a -> server == null || a.server().equals(server)).count();
        BooleanSupplier done = () -> acks.stream().filter(a -> server == null || a.server().equals(server)).count()
            >= base + more;
        Poll.until(more + " more acknowledged requests" + (server == null ? "" : " from " + server), WAIT, done);
    }

    /** The first acknowledgement from {@code server} at or after {@code sinceNanos}. */
    public Ack awaitAckFrom(String server, long sinceNanos) {
        return Poll.untilPresent("a reply from " + server, WAIT, () -> acks.stream()
            .filter(a -> a.server().equals(server) && a.nanos() >= sinceNanos).findFirst());
    }

    /** Stops the clients after their request in flight; returns their results. */
    public List<ReplicaClient.Result> stopClients() throws Exception {
        clients.values().forEach(ReplicaClient::stop);
        List<ReplicaClient.Result> results = new ArrayList<>();
        for (Future<ReplicaClient.Result> f : running) {
            results.add(f.get(WAIT.toSeconds() * 2, TimeUnit.SECONDS));
        }
        running.clear();
        clients.values().forEach(ReplicaClient::close);
        clients.clear();
        return results;
    }

    /**
     * Sends one request from the client "probe" and collects the replies of up to {@code replicas} replicas to it:
     * in active mode each live replica's state after the same request.
     */
    public List<ReplicaReply> probe(int replicas) throws IOException {
        if (prober == null) {
            Path history = settings.dir().resolve("histories").resolve("probe.jsonl");
            histories.add(history);
            prober = new ReplicaClient(new ReplicaClient.Config("probe", bootstrap, 0, 0, history,
                Duration.ofMillis(1000), Duration.ofSeconds(2), WAIT), serdes, line -> { });
        }
        return prober.probe(probes.incrementAndGet(), replicas, Duration.ofSeconds(5));
    }

    /** Checks every history against the live replicas' final states (a probe answered by all of them). */
    public HistoryChecker.Verdict check() throws Exception {
        List<ReplicaReply> finals = probe(settings.mode() == Mode.ACTIVE ? replicas.size() : 1);
        return HistoryChecker.check(histories, finals);
    }

    /** The end of the committed replies (read_committed: the last stable offset) now. */
    public long repliesEnd() {
        TopicPartition tp = new TopicPartition(Topics.REPLICAS_REPLIES.name(), 0);
        try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(KafkaClients.consumer(bootstrap, null,
            "scenario-replies-end", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            return reader.endOffsets(List.of(tp)).get(tp);
        }
    }

    /**
     * Every committed reply (read_committed, in log order) up to the last stable offset now: what the primaries
     * acknowledged, for {@link RepliesAudit}.
     */
    public List<RepliesAudit.Logged> committedReplies() {
        TopicPartition tp = new TopicPartition(Topics.REPLICAS_REPLIES.name(), 0);
        Deserializer<ReplicaReply> values = serdes.valueSerde(Topics.REPLICAS_REPLIES).deserializer();
        List<RepliesAudit.Logged> all = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(KafkaClients.consumer(bootstrap, null,
            "scenario-replies-audit", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            reader.assign(List.of(tp));
            reader.seekToBeginning(List.of(tp));
            long end = reader.endOffsets(List.of(tp)).get(tp);
            Poll.until("the committed replies read to offset " + end, WAIT, () -> {
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(100))) {
                    all.add(new RepliesAudit.Logged(r.offset(), values.deserialize(r.topic(), r.headers(),
                        r.value())));
                }
                return reader.position(tp) >= end;
            });
        }
        return all;
    }

    public Path historyDir() {
        return settings.dir().resolve("histories");
    }

    @Override
    public void close() {
        closing = true;
        clients.values().forEach(ReplicaClient::stop);
        for (ChildJvm p : replicas.values()) {
            p.kill();
        }
        replicas.clear();
        threads.shutdown();
        try {
            threads.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        clients.values().forEach(ReplicaClient::close);
        if (prober != null) {
            prober.close();
        }
        rm.close();
        membership.close();
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }
}
