package io.distpipe.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.LocalKafka;
import io.distpipe.common.Ports;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link BrokerMain} node in a child JVM, so fault tests can SIGKILL a real broker process and restart it on the
 * same data directory and ports.
 */
public final class BrokerProcess implements LocalKafka.Node {

    /** Name of the file in the data directory that receives the child's stdout and stderr (appended). */
    public static final String LOG_FILE_NAME = "broker.log";

    /** JVM options of a child when the caller names none. */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of("-Xmx512m");

    private static final Logger LOG = LoggerFactory.getLogger(BrokerProcess.class);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    /** Classpath resource with the child's logging setup; logback reads it only if logback is on the classpath. */
    private static final String CHILD_LOGBACK_CONFIG = "io/distpipe/cluster/broker-logback.xml";

    private final String id;
    private final NodeConfig config;
    private final ChildJvm.Spec spec;
    private volatile ChildJvm child;
    private long launchNanos;
    private boolean closed;

    private BrokerProcess(NodeConfig config) {
        this(config, DEFAULT_JVM_OPTIONS);
    }

    private BrokerProcess(NodeConfig config, List<String> jvmOptions) {
        this.id = "broker-process-" + config.nodeId();
        this.config = config;
        // The child also watches this JVM (--parent-pid) in case it dies without running its shutdown hooks.
        this.spec = ChildJvm.spec(id, BrokerMain.class.getName(), config.dataDir().resolve(LOG_FILE_NAME))
                .withJvmOptions(jvmOptions)
                .withJvmOptions("-Dlogback.configurationFile=" + CHILD_LOGBACK_CONFIG)
                .withArgs(arguments(config))
                .appendingOutput()
                .withReadyTimeout(READY_TIMEOUT)
                .stoppedWithParent();
    }

    /** Starts a single-node cluster in a child JVM in {@code dataDir} on free loopback ports. */
    public static BrokerProcess start(Path dataDir) {
        return start(dataDir, Map.of());
    }

    /** Starts a single-node cluster in a child JVM with server property {@code overrides}. */
    public static BrokerProcess start(Path dataDir, Map<String, String> overrides) {
        BrokerProcess broker = new BrokerProcess(NodeConfig.singleNode(dataDir, overrides));
        broker.launch();
        broker.awaitReady();
        return broker;
    }

    /**
     * Starts a {@code nodes}-node cluster of combined broker+controller JVMs sharing one cluster id, each in
     * {@code dir/node-<id>} with ids 1..nodes. All are launched at once because none can finish starting before a
     * quorum majority runs.
     */
    public static List<BrokerProcess> startQuorum(Path dir, int nodes) {
        return startQuorum(dir, nodes, Map.of());
    }

    /** Like {@link #startQuorum(Path, int)} with server property {@code overrides} for every node. */
    public static List<BrokerProcess> startQuorum(Path dir, int nodes, Map<String, String> overrides) {
        return startQuorum(dir, nodes, overrides, DEFAULT_JVM_OPTIONS);
    }

    /**
     * Like {@link #startQuorum(Path, int, Map)}, each child JVM started with {@code jvmOptions} (heap, GC) instead of
     * {@link #DEFAULT_JVM_OPTIONS}; restarts keep them.
     */
    public static List<BrokerProcess> startQuorum(Path dir, int nodes, Map<String, String> overrides,
                                                  List<String> jvmOptions) {
        if (nodes < 1) {
            throw new IllegalArgumentException("nodes must be at least 1, got " + nodes);
        }
        List<Integer> ports = Ports.freePorts(2 * nodes);
        String voters = IntStream.rangeClosed(1, nodes)
                .mapToObj(nodeId -> nodeId + "@" + Utils.formatAddress(Ports.LOOPBACK, ports.get(2 * nodeId - 1)))
                .collect(Collectors.joining(","));
        String clusterId = Uuid.randomUuid().toString();
        List<BrokerProcess> brokers = new ArrayList<>();
        long startNanos = System.nanoTime();
        try {
            for (int nodeId = 1; nodeId <= nodes; nodeId++) {
                NodeConfig config = new NodeConfig(nodeId, dir.resolve("node-" + nodeId), Ports.LOOPBACK,
                        ports.get(2 * nodeId - 2), ports.get(2 * nodeId - 1), voters, clusterId, overrides);
                BrokerProcess broker = new BrokerProcess(config, jvmOptions);
                brokers.add(broker);
                broker.launch();
            }
            for (BrokerProcess broker : brokers) {
                broker.awaitReady();
            }
        } catch (RuntimeException e) {
            brokers.forEach(BrokerProcess::kill);
            throw e;
        }
        LOG.info("A quorum of {} broker processes (cluster {}) is ready in {} ms.", nodes, clusterId,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
        return List.copyOf(brokers);
    }

    /** The client addresses of all {@code nodes}, comma-separated, for clients of a {@link #startQuorum} cluster. */
    public static String bootstrapServers(List<BrokerProcess> nodes) {
        return nodes.stream().map(BrokerProcess::bootstrapServers).collect(Collectors.joining(","));
    }

    /** This node's own client address; clients discover the other nodes of a quorum from it. */
    @Override
    public String bootstrapServers() {
        return config.bootstrapServers();
    }

    /** Always 1: one process runs one node, even when it belongs to a larger quorum. */
    @Override
    public int brokerCount() {
        return 1;
    }

    /** The node's configuration; restarts reuse it, so the ports and data directory stay the same. */
    public NodeConfig config() {
        return config;
    }

    /** The file that receives the child's stdout and stderr, appended across restarts. */
    @Override
    public Path logFile() {
        return spec.output();
    }

    /** The operating-system id of the current child process. */
    @Override
    public synchronized long pid() {
        requireLaunched();
        return child.pid();
    }

    /** Whether the child process is running. */
    @Override
    public synchronized boolean isAlive() {
        return child != null && child.isAlive();
    }

    /** Kills the child with SIGKILL, as a crash would, and waits (bounded) until it is gone. */
    @Override
    public synchronized void kill() {
        if (!isAlive()) {
            return;
        }
        long pid = child.pid();
        child.kill();
        LOG.info("{}: killed pid {} with SIGKILL.", id, pid);
    }

    /** Stops the child with SIGTERM so it shuts down cleanly; falls back to SIGKILL after a bounded wait. */
    public synchronized void stop() {
        if (!isAlive()) {
            return;
        }
        long pid = child.pid();
        long startNanos = System.nanoTime();
        child.stop(STOP_TIMEOUT);
        LOG.info("{}: pid {} stopped in {} ms.", id, pid,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
    }

    /** Stops the child if it runs, then starts a new one on the same data directory and ports and waits for it. */
    public synchronized void restart() {
        if (closed) {
            throw new IllegalStateException(id + " is closed and cannot be restarted.");
        }
        stop();
        launch();
        awaitReady();
    }

    /**
     * Launches the child again on the same data directory and ports if it is not running, without waiting for it:
     * a node that cannot reach a quorum majority stays {@linkplain #isReady() not ready} until enough others run.
     */
    @Override
    public synchronized void launchIfStopped() {
        if (closed) {
            throw new IllegalStateException(id + " is closed and cannot be started.");
        }
        if (!isAlive()) {
            launch();
        }
    }

    /** Whether the current child runs and has printed its READY line since it was launched. */
    @Override
    public synchronized boolean isReady() {
        return child != null && child.isReady();
    }

    /** Stops the child cleanly; calling it again does nothing. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stop();
    }

    private synchronized void launch() {
        try {
            launchNanos = System.nanoTime();
            child = spec.launch();
        } catch (IOException e) {
            throw new UncheckedIOException(id + ": could not launch a broker JVM in " + config.dataDir(), e);
        }
        LOG.info("{}: launched pid {} for {} (log {}).", id, child.pid(), config.bootstrapServers(), logFile());
    }

    /** Waits for the READY line; a child that exits or stays silent fails with the last lines of its log. */
    private synchronized void awaitReady() {
        String ready = child.awaitReady();
        LOG.info("{}: child JVM pid {} ready at {} in {} ms after launch.", id, child.pid(), ready,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - launchNanos));
    }

    private static List<String> arguments(NodeConfig config) {
        List<String> args = new ArrayList<>();
        args.add("--node-id");
        args.add(Integer.toString(config.nodeId()));
        args.add("--data-dir");
        args.add(config.dataDir().toAbsolutePath().toString());
        args.add("--host");
        args.add(config.host());
        args.add("--port");
        args.add(Integer.toString(config.port()));
        args.add("--controller-port");
        args.add(Integer.toString(config.controllerPort()));
        args.add("--quorum");
        args.add(config.quorumVoters());
        if (config.clusterId() != null) {
            args.add("--cluster-id");
            args.add(config.clusterId());
        }
        args.add("--parent-pid");
        args.add(Long.toString(ProcessHandle.current().pid()));
        config.overrides().forEach((key, value) -> {
            args.add("--config");
            args.add(key + "=" + value);
        });
        return args;
    }

    private void requireLaunched() {
        if (child == null) {
            throw new IllegalStateException(id + " has not been launched.");
        }
    }
}
