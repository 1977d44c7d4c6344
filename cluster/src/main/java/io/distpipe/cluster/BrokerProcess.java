package io.distpipe.cluster;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.distpipe.common.LocalKafka;
import io.distpipe.common.Poll;
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

    private static final Logger LOG = LoggerFactory.getLogger(BrokerProcess.class);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);
    private static final int LOG_TAIL_LINES = 30;
    /** Classpath resource with the child's logging setup; logback reads it only if logback is on the classpath. */
    private static final String CHILD_LOGBACK_CONFIG = "io/distpipe/cluster/broker-logback.xml";
    private static final Set<BrokerProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        // Insurance for a test JVM that exits without closing its brokers; the child also watches its parent.
        Runtime.getRuntime().addShutdownHook(new Thread(
                () -> LIVE.forEach(BrokerProcess::terminateOnExit), "distpipe-broker-process-reaper"));
    }

    /** JVM options of a child when the caller names none. */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of("-Xmx512m");

    private final String id;
    private final NodeConfig config;
    private final List<String> jvmOptions;
    private final Path logFile;
    private volatile Process process;
    private long launchOffset;
    private long launchNanos;
    private boolean closed;

    private BrokerProcess(NodeConfig config) {
        this(config, DEFAULT_JVM_OPTIONS);
    }

    private BrokerProcess(NodeConfig config, List<String> jvmOptions) {
        this.id = "broker-process-" + config.nodeId();
        this.config = config;
        this.jvmOptions = List.copyOf(jvmOptions);
        this.logFile = config.dataDir().resolve(LOG_FILE_NAME);
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
    public Path logFile() {
        return logFile;
    }

    /** The operating-system id of the current child process. */
    public synchronized long pid() {
        requireLaunched();
        return process.pid();
    }

    /** Whether the child process is running. */
    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** Kills the child with SIGKILL, as a crash would, and waits (bounded) until it is gone. */
    public synchronized void kill() {
        if (!isAlive()) {
            return;
        }
        long pid = process.pid();
        process.destroyForcibly();
        awaitExit(KILL_TIMEOUT);
        LIVE.remove(this);
        LOG.info("{}: killed pid {} with SIGKILL.", id, pid);
    }

    /** Stops the child with SIGTERM so it shuts down cleanly; falls back to SIGKILL after a bounded wait. */
    public synchronized void stop() {
        if (!isAlive()) {
            LIVE.remove(this);
            return;
        }
        long pid = process.pid();
        long startNanos = System.nanoTime();
        process.destroy();
        if (!awaitExit(STOP_TIMEOUT)) {
            LOG.warn("{}: pid {} ignored SIGTERM for {} s; killing it.", id, pid, STOP_TIMEOUT.toSeconds());
            process.destroyForcibly();
            awaitExit(KILL_TIMEOUT);
        }
        LIVE.remove(this);
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
    public synchronized void launchIfStopped() {
        if (closed) {
            throw new IllegalStateException(id + " is closed and cannot be started.");
        }
        if (!isAlive()) {
            LIVE.remove(this);
            launch();
        }
    }

    /** Whether the current child runs and has printed its READY line since it was launched. */
    public synchronized boolean isReady() {
        return isAlive() && readyLine().isPresent();
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
            Files.createDirectories(config.dataDir());
            launchOffset = Files.exists(logFile) ? Files.size(logFile) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException(id + ": could not prepare " + config.dataDir(), e);
        }
        List<String> command = command();
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        try {
            launchNanos = System.nanoTime();
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException(id + ": could not launch " + command.get(0), e);
        }
        LIVE.add(this);
        LOG.info("{}: launched pid {} for {} (log {}).", id, process.pid(), config.bootstrapServers(), logFile);
    }

    private synchronized void awaitReady() {
        Process launched = process;
        String ready;
        try {
            ready = Poll.untilPresent(id + " (pid " + launched.pid() + ") to print " + BrokerMain.READY_PREFIX.trim()
                    + " in " + logFile, READY_TIMEOUT, () -> {
                        Optional<String> line = readyLine();
                        if (line.isEmpty() && !launched.isAlive()) {
                            throw new Poll.PollAbortedException("the child JVM exited with code "
                                    + launched.exitValue() + " before it was ready.");
                        }
                        return line;
                    });
        } catch (Poll.PollTimeoutException | Poll.PollAbortedException e) {
            launched.destroyForcibly();
            LIVE.remove(this);
            throw new IllegalStateException(id + " did not become ready: " + e.getMessage() + System.lineSeparator()
                    + "Last lines of " + logFile + ":" + System.lineSeparator() + tail(), e);
        }
        LOG.info("{}: child JVM pid {} ready at {} in {} ms after launch.", id, launched.pid(), ready,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - launchNanos));
    }

    private Optional<String> readyLine() {
        return newOutput().lines()
                .filter(line -> line.startsWith(BrokerMain.READY_PREFIX))
                .map(line -> line.substring(BrokerMain.READY_PREFIX.length()).trim())
                .findFirst();
    }

    private String newOutput() {
        if (!Files.exists(logFile)) {
            return "";
        }
        try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
            long length = file.length();
            if (length <= launchOffset) {
                return "";
            }
            byte[] bytes = new byte[(int) (length - launchOffset)];
            file.seek(launchOffset);
            file.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(id + ": could not read " + logFile, e);
        }
    }

    private String tail() {
        try {
            List<String> lines = newOutput().lines().toList();
            return String.join(System.lineSeparator(),
                    lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
        } catch (UncheckedIOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    private List<String> command() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-Dlogback.configurationFile=" + CHILD_LOGBACK_CONFIG);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(BrokerMain.class.getName());
        command.add("--node-id");
        command.add(Integer.toString(config.nodeId()));
        command.add("--data-dir");
        command.add(config.dataDir().toAbsolutePath().toString());
        command.add("--host");
        command.add(config.host());
        command.add("--port");
        command.add(Integer.toString(config.port()));
        command.add("--controller-port");
        command.add(Integer.toString(config.controllerPort()));
        command.add("--quorum");
        command.add(config.quorumVoters());
        if (config.clusterId() != null) {
            command.add("--cluster-id");
            command.add(config.clusterId());
        }
        command.add("--parent-pid");
        command.add(Long.toString(ProcessHandle.current().pid()));
        config.overrides().forEach((key, value) -> {
            command.add("--config");
            command.add(key + "=" + value);
        });
        return command;
    }

    private boolean awaitExit(Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(id + ": interrupted while waiting for pid " + process.pid() + " to exit.",
                    e);
        }
    }

    private void requireLaunched() {
        if (process == null) {
            throw new IllegalStateException(id + " has not been launched.");
        }
    }

    private static void terminateOnExit(BrokerProcess broker) {
        Process child = broker.process;
        if (child != null && child.isAlive()) {
            child.destroy();
        }
    }
}
