package io.distpipe.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import io.distpipe.common.KafkaCluster;
import io.distpipe.common.Ports;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One in-process KRaft node (broker and controller) on loopback, whose storage survives a restart on the same
 * directory.
 */
public final class EmbeddedKafka implements KafkaCluster {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

    private final KRaftNode node;
    private final boolean deleteOnClose;
    /** The listener's SCRAM login, or null for a plain one. */
    private final Scram scram;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedKafka(KRaftNode node, boolean deleteOnClose) {
        this(node, deleteOnClose, null);
    }

    private EmbeddedKafka(KRaftNode node, boolean deleteOnClose, Scram scram) {
        this.node = node;
        this.deleteOnClose = deleteOnClose;
        this.scram = scram;
    }

    /** Starts a node in {@code dataDir}, formatting it only if it has never been formatted. */
    public static EmbeddedKafka start(Path dataDir) {
        return start(dataDir, Map.of());
    }

    /**
     * Starts a node in {@code dataDir} with server property {@code overrides} applied last. Ports are free loopback
     * ports unless the overrides set {@code listeners} (with fixed ports and a {@code CONTROLLER} listener).
     */
    public static EmbeddedKafka start(Path dataDir, Map<String, String> overrides) {
        return new EmbeddedKafka(KRaftNode.start(NodeConfig.singleNode(dataDir, overrides),
                KRaftNode.DEFAULT_READY_TIMEOUT), false);
    }

    /** Starts a node in a new temporary directory that is deleted on {@link #close()}. */
    public static EmbeddedKafka startTemporary() {
        return startTemporary(null);
    }

    /**
     * As {@link #startTemporary()}, with a SASL/SCRAM client listener when {@code scram} is not null: clients then
     * need {@link #clientProperties()} to connect.
     */
    public static EmbeddedKafka startTemporary(Scram scram) {
        Path dataDir;
        try {
            dataDir = Files.createTempDirectory("distpipe-kafka-");
        } catch (IOException e) {
            throw new UncheckedIOException("Could not create a temporary directory for an embedded broker", e);
        }
        try {
            Map<String, String> overrides = Map.of();
            if (scram != null) {
                List<Integer> ports = Ports.freePorts(2);
                overrides = scram.serverOverrides(Ports.LOOPBACK, ports.get(0), ports.get(1));
            }
            return new EmbeddedKafka(KRaftNode.start(NodeConfig.singleNode(dataDir, overrides),
                    KRaftNode.DEFAULT_READY_TIMEOUT, scram), true, scram);
        } catch (RuntimeException e) {
            deleteQuietly(dataDir);
            throw e;
        }
    }

    @Override
    public String bootstrapServers() {
        return node.bootstrapServers();
    }

    /** What a client needs to connect: nothing for a plain listener, the SCRAM login for a secured one. */
    public Map<String, String> clientProperties() {
        return scram == null ? Map.of() : scram.clientProperties();
    }

    @Override
    public int brokerCount() {
        return 1;
    }

    /** The cluster id stored in {@code meta.properties}; the same after a restart on the same directory. */
    public String clusterId() {
        return node.clusterId();
    }

    /** The directory passed to {@code start} (or the temporary one). */
    public Path dataDir() {
        return node.config().dataDir();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        node.close();
        if (deleteOnClose) {
            deleteQuietly(dataDir());
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            Utils.delete(dir.toFile());
        } catch (IOException e) {
            LOG.warn("Could not delete the temporary broker directory {}.", dir, e);
        }
    }
}
