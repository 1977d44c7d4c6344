package io.distpipe.cluster;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.distpipe.common.Ports;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.network.SocketServerConfigs;
import org.apache.kafka.raft.KRaftConfigs;
import org.apache.kafka.raft.QuorumConfig;
import org.apache.kafka.server.config.ReplicationConfigs;
import org.apache.kafka.server.config.ServerLogConfigs;

/**
 * Everything needed to run one combined broker+controller KRaft node: identity, data directory, ports, the static
 * controller quorum, an optional cluster id and caller overrides.
 *
 * @param nodeId         the node's {@code node.id}; must be one of the voters in {@code quorumVoters}
 * @param dataDir        the node's own directory; Kafka's log directory is {@code kafka-logs} inside it
 * @param host           the address both listeners bind to and advertise
 * @param port           the client (broker) listener port
 * @param controllerPort the controller listener port
 * @param quorumVoters   the static quorum, {@code id@host:port,...}, identical on every node of a cluster
 * @param clusterId      the cluster id used when the storage is formatted; {@code null} to generate one
 * @param overrides      server properties that replace the defaults, applied last
 */
public record NodeConfig(
        int nodeId,
        Path dataDir,
        String host,
        int port,
        int controllerPort,
        String quorumVoters,
        String clusterId,
        Map<String, String> overrides) {

    /** Name of the client listener that brokers and clients use. */
    public static final String BROKER_LISTENER = "PLAINTEXT";
    /** Name of the listener the KRaft controllers talk on. */
    public static final String CONTROLLER_LISTENER = "CONTROLLER";
    /** Name of Kafka's log directory inside {@link #dataDir()}; other files (logs, properties) sit beside it. */
    public static final String LOG_DIR_NAME = "kafka-logs";

    public NodeConfig {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(quorumVoters, "quorumVoters");
        overrides = Map.copyOf(Objects.requireNonNull(overrides, "overrides"));
        if (nodeId < 0) {
            throw new IllegalArgumentException("node id must not be negative, got " + nodeId);
        }
        requirePort("port", port);
        requirePort("controller port", controllerPort);
        if (port == controllerPort) {
            throw new IllegalArgumentException("port and controller port must differ, both are " + port);
        }
        List<Integer> voterIds = voterIds(quorumVoters);
        if (!voterIds.contains(nodeId)) {
            throw new IllegalArgumentException("node id " + nodeId + " is not a voter of the quorum '"
                    + quorumVoters + "'; a combined node must be one of the controllers");
        }
        if (clusterId != null && clusterId.isBlank()) {
            throw new IllegalArgumentException("cluster id must not be blank");
        }
    }

    /**
     * A single-node cluster (node id 1) in {@code dataDir} on free loopback ports, or on the ports named by a
     * {@code listeners} entry in {@code overrides} (which must then include the {@code CONTROLLER} listener).
     */
    public static NodeConfig singleNode(Path dataDir, Map<String, String> overrides) {
        int nodeId = 1;
        String listeners = overrides.get(SocketServerConfigs.LISTENERS_CONFIG);
        if (listeners == null) {
            List<Integer> ports = Ports.freePorts(2);
            return new NodeConfig(nodeId, dataDir, Ports.LOOPBACK, ports.get(0), ports.get(1),
                    nodeId + "@" + Utils.formatAddress(Ports.LOOPBACK, ports.get(1)), null, overrides);
        }
        String controllerName = overrides.getOrDefault(KRaftConfigs.CONTROLLER_LISTENER_NAMES_CONFIG,
                CONTROLLER_LISTENER).split(",")[0].trim();
        String brokerEndpoint = null;
        String controllerEndpoint = null;
        for (String endpoint : listeners.split(",")) {
            String trimmed = endpoint.trim();
            String name = trimmed.substring(0, Math.max(0, trimmed.indexOf("://")));
            if (name.equalsIgnoreCase(controllerName)) {
                controllerEndpoint = trimmed;
            } else if (brokerEndpoint == null) {
                brokerEndpoint = trimmed;
            }
        }
        if (brokerEndpoint == null || controllerEndpoint == null) {
            throw new IllegalArgumentException("The 'listeners' override '" + listeners
                    + "' must name a broker listener and the " + controllerName + " listener.");
        }
        int controllerPort = portOf(controllerEndpoint);
        return new NodeConfig(nodeId, dataDir, hostOf(brokerEndpoint), portOf(brokerEndpoint), controllerPort,
                nodeId + "@" + Utils.formatAddress(hostOf(controllerEndpoint), controllerPort), null, overrides);
    }

    /** Kafka's log (and metadata log) directory. */
    public Path logDir() {
        return dataDir.resolve(LOG_DIR_NAME);
    }

    /** The address clients bootstrap from. */
    public String bootstrapServers() {
        return Utils.formatAddress(host, port);
    }

    /** Number of controllers in the quorum, which is also the number of combined nodes in the cluster. */
    public int voterCount() {
        return voterIds(quorumVoters).size();
    }

    /** A copy of this configuration whose storage is formatted with the given cluster id. */
    public NodeConfig withClusterId(String newClusterId) {
        return new NodeConfig(nodeId, dataDir, host, port, controllerPort, quorumVoters, newClusterId, overrides);
    }

    /** The complete server properties: shared settings, then this node's identity and listeners, then overrides. */
    public Map<String, String> serverProperties() {
        Map<String, String> props = new LinkedHashMap<>(BrokerSettings.forCluster(voterCount()));
        props.put(KRaftConfigs.PROCESS_ROLES_CONFIG, "broker,controller");
        props.put(KRaftConfigs.NODE_ID_CONFIG, Integer.toString(nodeId));
        props.put(QuorumConfig.QUORUM_VOTERS_CONFIG, quorumVoters);
        props.put(KRaftConfigs.CONTROLLER_LISTENER_NAMES_CONFIG, CONTROLLER_LISTENER);
        props.put(SocketServerConfigs.LISTENERS_CONFIG,
                BROKER_LISTENER + "://" + Utils.formatAddress(host, port) + ","
                        + CONTROLLER_LISTENER + "://" + Utils.formatAddress(host, controllerPort));
        props.put(SocketServerConfigs.ADVERTISED_LISTENERS_CONFIG,
                BROKER_LISTENER + "://" + Utils.formatAddress(host, port));
        props.put(SocketServerConfigs.LISTENER_SECURITY_PROTOCOL_MAP_CONFIG,
                BROKER_LISTENER + ":" + SecurityProtocol.PLAINTEXT.name + ","
                        + CONTROLLER_LISTENER + ":" + SecurityProtocol.PLAINTEXT.name);
        props.put(ReplicationConfigs.INTER_BROKER_LISTENER_NAME_CONFIG, BROKER_LISTENER);
        props.put(ServerLogConfigs.LOG_DIRS_CONFIG, logDir().toAbsolutePath().toString());
        props.putAll(overrides);
        return props;
    }

    private static List<Integer> voterIds(String quorumVoters) {
        try {
            return Arrays.stream(quorumVoters.split(","))
                    .map(String::trim)
                    .map(voter -> Integer.parseInt(voter.substring(0, voter.indexOf('@'))))
                    .toList();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("quorum '" + quorumVoters
                    + "' is not a list of id@host:port entries separated by commas", e);
        }
    }

    private static String hostOf(String endpoint) {
        String host = Utils.getHost(endpoint);
        if (host == null || host.isEmpty() || host.equals("0.0.0.0") || host.equals("::")) {
            return Ports.LOOPBACK;
        }
        return host;
    }

    private static int portOf(String endpoint) {
        Integer endpointPort = Utils.getPort(endpoint);
        if (endpointPort == null || endpointPort == 0) {
            throw new IllegalArgumentException("Listener '" + endpoint
                    + "' must name a fixed port: the bootstrap address and controller quorum are derived from it.");
        }
        return endpointPort;
    }

    private static void requirePort(String name, int value) {
        if (value < 1 || value > 65535) {
            throw new IllegalArgumentException(name + " must be between 1 and 65535, got " + value);
        }
    }
}
