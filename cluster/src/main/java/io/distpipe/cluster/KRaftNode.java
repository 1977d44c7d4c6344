package io.distpipe.cluster;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.distpipe.common.Poll;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.properties.MetaPropertiesEnsemble;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.raft.KRaftConfigs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that turns a {@link NodeConfig} into a running KRaft node in this JVM: build the server properties,
 * format the storage when it has never been formatted, start {@link KafkaRaftServer} and wait until it serves.
 */
final class KRaftNode implements AutoCloseable {

    /** Default bound on formatting, starting and becoming ready. */
    static final Duration DEFAULT_READY_TIMEOUT = Duration.ofSeconds(90);

    private static final Logger LOG = LoggerFactory.getLogger(KRaftNode.class);
    private static final String PROBE_TOPIC = "distpipe-readiness-probe";

    private final String id;
    private final NodeConfig config;
    private final String clusterId;
    private final KafkaRaftServer server;
    private final AtomicBoolean closed = new AtomicBoolean();

    private KRaftNode(NodeConfig config, String clusterId, KafkaRaftServer server) {
        this.id = "node-" + config.nodeId();
        this.config = config;
        this.clusterId = clusterId;
        this.server = server;
    }

    /**
     * Formats the storage if needed, starts the node and returns once it answers {@code describeCluster} and accepts
     * (validate-only) topic creation.
     *
     * @throws IllegalStateException if the node does not become ready within {@code readyTimeout}
     */
    static KRaftNode start(NodeConfig config, Duration readyTimeout) {
        return start(config, readyTimeout, null);
    }

    /**
     * As {@link #start(NodeConfig, Duration)}, for a node whose client listener is {@code scram}'s (null: plain):
     * its credential is stored when the storage is formatted, and the readiness checks log in with it.
     */
    static KRaftNode start(NodeConfig config, Duration readyTimeout, Scram scram) {
        String id = "node-" + config.nodeId();
        long startNanos = System.nanoTime();
        Map<String, String> props = config.serverProperties();
        // Without this bound a node whose quorum never forms would block in startup() forever.
        props.putIfAbsent(KRaftConfigs.SERVER_MAX_STARTUP_TIME_MS_CONFIG, Long.toString(readyTimeout.toMillis()));
        KafkaConfig kafkaConfig = new KafkaConfig(props, false);
        writeServerProperties(config.dataDir(), props);
        StorageState storage = formatIfNeeded(id, config, kafkaConfig, scram);

        KafkaRaftServer server = new KafkaRaftServer(kafkaConfig, Time.SYSTEM);
        KRaftNode node = new KRaftNode(config, storage.clusterId(), server);
        try {
            server.startup();
            awaitReady(id, config.bootstrapServers(), scram == null ? Map.of() : scram.clientProperties(),
                    readyTimeout.minusNanos(System.nanoTime() - startNanos));
        } catch (RuntimeException e) {
            node.close();
            throw new IllegalStateException(id + ": Kafka node in " + config.dataDir() + " did not start: "
                    + e.getMessage(), e);
        }
        LOG.info("{}: KRaft node ready at {} in {} ms (cluster id {}, {} storage, {} voter(s)).", id,
                config.bootstrapServers(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos),
                storage.clusterId(), storage.freshlyFormatted() ? "freshly formatted" : "existing",
                config.voterCount());
        return node;
    }

    String bootstrapServers() {
        return config.bootstrapServers();
    }

    String clusterId() {
        return clusterId;
    }

    NodeConfig config() {
        return config;
    }

    /** Blocks until the node has shut down, whoever started the shutdown. */
    void awaitShutdown() {
        server.awaitShutdown();
    }

    /** Shuts the node down cleanly; safe to call more than once and from a shutdown hook. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long startNanos = System.nanoTime();
        try {
            server.shutdown();
            server.awaitShutdown();
            LOG.info("{}: KRaft node stopped in {} ms.", id,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
        } catch (RuntimeException e) {
            LOG.warn("{}: KRaft node did not shut down cleanly.", id, e);
        }
    }

    /** The cluster id found on disk, and whether this call wrote it. */
    private record StorageState(String clusterId, boolean freshlyFormatted) {
    }

    /** What {@code kafka-storage.sh format} does, but only for directories without {@code meta.properties}. */
    private static StorageState formatIfNeeded(String id, NodeConfig config, KafkaConfig kafkaConfig, Scram scram) {
        Collection<String> directories = new TreeSet<>(kafkaConfig.logDirs());
        directories.add(kafkaConfig.metadataLogDir());
        MetaPropertiesEnsemble ensemble;
        try {
            ensemble = new MetaPropertiesEnsemble.Loader()
                    .addLogDirs(directories)
                    .addMetadataLogDir(kafkaConfig.metadataLogDir())
                    .load();
        } catch (IOException e) {
            throw new UncheckedIOException(id + ": could not read meta.properties under " + directories, e);
        }
        Optional<String> existingClusterId = ensemble.clusterId();
        if (ensemble.emptyLogDirs().isEmpty() && existingClusterId.isPresent()) {
            if (config.clusterId() != null && !config.clusterId().equals(existingClusterId.get())) {
                LOG.warn("{}: storage is already formatted for cluster {}; ignoring the requested cluster id {}.",
                        id, existingClusterId.get(), config.clusterId());
            }
            return new StorageState(existingClusterId.get(), false);
        }
        String clusterId = existingClusterId.orElse(
                config.clusterId() != null ? config.clusterId() : Uuid.randomUuid().toString());
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        try (PrintStream printStream = new PrintStream(output, true, StandardCharsets.UTF_8)) {
            new Formatter()
                    .setPrintStream(printStream)
                    .setNodeId(kafkaConfig.nodeId())
                    .setClusterId(clusterId)
                    .setControllerListenerName(kafkaConfig.controllerListenerNames().get(0))
                    .setMetadataLogDirectory(kafkaConfig.metadataLogDir())
                    .setDirectories(directories)
                    .setIgnoreFormatted(true)
                    // Static controller.quorum.voters, so kraft.version 0 like kafka-storage.sh without --standalone.
                    .setHasDynamicQuorum(false)
                    .setScramArguments(scram == null ? List.of() : scram.formatArguments())
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException(id + ": could not format the storage in " + directories + ": "
                    + e.getMessage(), e);
        }
        LOG.info("{}: formatted {} for cluster {} with production feature levels.", id, directories, clusterId);
        LOG.debug("{}: formatter said: {}", id, output.toString(StandardCharsets.UTF_8).trim());
        return new StorageState(clusterId, true);
    }

    private static void awaitReady(String id, String bootstrapServers, Map<String, String> clientProperties,
            Duration timeout) {
        try (Admin admin = AdminCalls.create(bootstrapServers, "distpipe-readiness-" + id, clientProperties)) {
            Poll.until(id + " at " + bootstrapServers + " to answer describeCluster and accept topic creation",
                    timeout, () -> {
                        Collection<Node> nodes = AdminCalls.get(admin.describeCluster().nodes());
                        if (nodes.isEmpty()) {
                            return false;
                        }
                        NewTopic probe = new NewTopic(PROBE_TOPIC, 1, (short) 1);
                        CreateTopicsOptions validateOnly = new CreateTopicsOptions().validateOnly(true);
                        AdminCalls.get(admin.createTopics(List.of(probe), validateOnly).all());
                        return true;
                    });
        }
    }

    private static void writeServerProperties(Path dataDir, Map<String, String> props) {
        Path file = dataDir.resolve("server.properties");
        List<String> lines = new ArrayList<>();
        lines.add("# Effective settings of the last start, written by distpipe-cluster for reading; not read back.");
        // Credentials stay out of a file written for reading.
        props.forEach((key, value) -> lines.add(key + "=" + (key.endsWith("sasl.jaas.config") ? "[hidden]" : value)));
        try {
            Files.createDirectories(dataDir);
            Files.write(file, lines, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not write " + file, e);
        }
    }
}
