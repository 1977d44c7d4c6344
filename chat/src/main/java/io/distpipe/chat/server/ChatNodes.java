package io.distpipe.chat.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.LocalKafka;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.QuorumInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.coordinator.transaction.TransactionLogConfig;
import org.apache.kafka.network.SocketServerConfigs;
import org.apache.kafka.raft.QuorumConfig;
import org.apache.kafka.server.config.ReplicationConfigs;
import org.apache.kafka.server.config.ServerConfigs;

/**
 * The chat's five combined broker+controller KRaft nodes, each a child JVM ({@link LocalKafka.Node}) that can be
 * killed with SIGKILL and restarted on its own data directory, plus the status view of the console.
 */
public final class ChatNodes implements AutoCloseable {

    /** Five voters: a majority of three survives two failures. */
    public static final int NODES = 5;
    /** Bound on every Admin call of {@link #status()}, so a lost quorum shows within seconds. */
    public static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(4);

    private final List<LocalKafka.Node> nodes;
    private final long startMillis;

    private ChatNodes(List<LocalKafka.Node> nodes, long startMillis) {
        this.nodes = nodes;
        this.startMillis = startMillis;
    }

    /** Server settings of every node: transaction state replicated like the chat topic, fewer threads. */
    static Map<String, String> serverOverrides() {
        Map<String, String> overrides = new HashMap<>();
        // The chat's transactions must survive what chat.events survives: two of five nodes down.
        overrides.put(TransactionLogConfig.TRANSACTIONS_TOPIC_REPLICATION_FACTOR_CONFIG, Integer.toString(NODES));
        overrides.put(TransactionLogConfig.TRANSACTIONS_TOPIC_MIN_ISR_CONFIG, "3");
        overrides.put(TransactionLogConfig.TRANSACTIONS_TOPIC_PARTITIONS_CONFIG, "1");
        overrides.put(QuorumConfig.QUORUM_ELECTION_TIMEOUT_MS_CONFIG, "1000");
        overrides.put(QuorumConfig.QUORUM_FETCH_TIMEOUT_MS_CONFIG, "2000");
        overrides.put(ReplicationConfigs.REPLICA_LAG_TIME_MAX_MS_CONFIG, "10000");
        // Five JVMs share the machine: a few threads each is plenty for a chat.
        overrides.put(ServerConfigs.NUM_IO_THREADS_CONFIG, "2");
        overrides.put(SocketServerConfigs.NUM_NETWORK_THREADS_CONFIG, "2");
        overrides.put(ServerConfigs.BACKGROUND_THREADS_CONFIG, "2");
        return overrides;
    }

    /** Small heap, serial GC and the client compiler: five of these start together on two cores. */
    static List<String> jvmOptions() {
        return List.of("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    }

    /** Starts the five nodes in {@code dir/node-1..5} and waits until all serve. */
    public static ChatNodes start(Path dir) {
        long startNanos = System.nanoTime();
        List<LocalKafka.Node> nodes = LocalKafka.get().startQuorum(dir, NODES, serverOverrides(), jvmOptions());
        return new ChatNodes(nodes, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
    }

    /** How long {@link #start} took. */
    public long startMillis() {
        return startMillis;
    }

    /** All five client addresses, so clients find whichever nodes run. */
    public String bootstrapServers() {
        return nodes.stream().map(LocalKafka.Node::bootstrapServers).collect(Collectors.joining(","));
    }

    /** Node {@code id} (1..5). */
    public LocalKafka.Node node(int id) {
        if (id < 1 || id > NODES) {
            throw new IllegalArgumentException("There is no node " + id + "; nodes are 1 to " + NODES + ".");
        }
        return nodes.get(id - 1);
    }

    /** The process state of a node as the console shows it. */
    public String processState(int id) {
        LocalKafka.Node node = node(id);
        if (node.isReady()) {
            return "online";
        }
        return node.isAlive() ? "starting" : "offline";
    }

    /** One row of the status table. */
    public record NodeStatus(int id, String process, String controller, int partitionsLed, int inIsr,
                             int replicas) {
    }

    /**
     * The status table and the quorum's answer.
     *
     * @param leader      the controller leader, empty if the quorum did not answer
     * @param quorumError why the quorum is unknown, or null
     */
    public record Status(List<NodeStatus> nodes, OptionalInt leader, int leaderEpoch, String quorumError,
                         String partitionError) {

        /** Whether node {@code id} is in the ISR of every partition it replicates. */
        public boolean caughtUp(int id) {
            NodeStatus node = nodes.get(id - 1);
            return partitionError == null && node.replicas() > 0 && node.inIsr() == node.replicas();
        }
    }

    /** Asks the cluster (bounded by {@link #ADMIN_TIMEOUT} per call) who leads what. */
    public Status status() {
        Map<String, Object> props = KafkaClients.common(bootstrapServers(), "chat-demo-status");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) ADMIN_TIMEOUT.toMillis());
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) ADMIN_TIMEOUT.toMillis());
        try (Admin admin = Admin.create(props)) {
            OptionalInt leader = OptionalInt.empty();
            int epoch = -1;
            String quorumError = null;
            Set<Integer> voters = Set.of();
            try {
                QuorumInfo quorum = get(admin.describeMetadataQuorum().quorumInfo());
                leader = quorum.leaderId() >= 0 ? OptionalInt.of(quorum.leaderId()) : OptionalInt.empty();
                epoch = (int) quorum.leaderEpoch();
                voters = Set.copyOf(quorum.voters().stream().map(QuorumInfo.ReplicaState::replicaId).toList());
            } catch (ExecutionException | TimeoutException e) {
                quorumError = "the controller quorum did not answer within " + ADMIN_TIMEOUT.toSeconds() + " s ("
                        + rootMessage(e) + ")";
            }
            int[] led = new int[NODES + 1];
            int[] inIsr = new int[NODES + 1];
            int[] replicas = new int[NODES + 1];
            String partitionError = null;
            try {
                Set<String> topics = get(admin.listTopics(new ListTopicsOptions().listInternal(true)).names());
                Map<String, TopicDescription> descriptions = get(admin.describeTopics(topics).allTopicNames());
                for (TopicDescription description : descriptions.values()) {
                    for (TopicPartitionInfo partition : description.partitions()) {
                        if (partition.leader() != null && partition.leader().id() >= 1
                                && partition.leader().id() <= NODES) {
                            led[partition.leader().id()]++;
                        }
                        for (Node replica : partition.replicas()) {
                            if (replica.id() >= 1 && replica.id() <= NODES) {
                                replicas[replica.id()]++;
                            }
                        }
                        for (Node isr : partition.isr()) {
                            if (isr.id() >= 1 && isr.id() <= NODES) {
                                inIsr[isr.id()]++;
                            }
                        }
                    }
                }
            } catch (ExecutionException | TimeoutException e) {
                partitionError = "partition metadata did not arrive within " + ADMIN_TIMEOUT.toSeconds() + " s ("
                        + rootMessage(e) + ")";
            }
            List<NodeStatus> rows = new ArrayList<>();
            for (int id = 1; id <= NODES; id++) {
                String process = processState(id);
                String role;
                if (quorumError != null || leader.isEmpty()) {
                    role = process.equals("online") ? "unknown" : "-";
                } else if (!process.equals("online")) {
                    role = "-";
                } else if (leader.isPresent() && leader.getAsInt() == id) {
                    role = "leader";
                } else {
                    role = voters.contains(id) ? "follower" : "observer";
                }
                rows.add(new NodeStatus(id, process, role, led[id], inIsr[id], replicas[id]));
            }
            return new Status(List.copyOf(rows), leader, epoch, quorumError, partitionError);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while asking for the status.", e);
        }
    }

    private static <T> T get(KafkaFuture<T> future) throws ExecutionException, TimeoutException,
            InterruptedException {
        return future.get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage());
    }

    /** Kills every node (SIGKILL): the data is the demo's own, and a clean stop of the last voters only waits. */
    @Override
    public void close() {
        nodes.forEach(LocalKafka.Node::kill);
    }
}
