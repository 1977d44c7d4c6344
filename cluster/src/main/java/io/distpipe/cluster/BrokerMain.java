package io.distpipe.cluster;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.Ports;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one combined broker+controller KRaft node in its own JVM, for kill -9 tests and start scripts; prints
 * {@code READY <bootstrap>} once it serves and shuts down cleanly on SIGTERM.
 */
public final class BrokerMain {

    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    static final String USAGE = String.join(System.lineSeparator(),
            "Usage: BrokerMain --node-id N --data-dir DIR --port P --controller-port C",
            "                  [--host H] [--quorum id@host:port,...] [--cluster-id ID]",
            "                  [--config key=value]... [--parent-pid PID]",
            "  --node-id N          node.id of this combined broker+controller",
            "  --data-dir DIR       data directory; formatted only if it holds no meta.properties yet",
            "  --port P             client (broker) listener port",
            "  --controller-port C  controller listener port",
            "  --host H             address to bind and advertise (default " + Ports.LOOPBACK + ")",
            "  --quorum VOTERS      static controller quorum, the same on every node (default N@H:C)",
            "  --cluster-id ID      cluster id to format with; every node of a quorum needs the same one",
            "                       (default: a new random id)",
            "  --config key=value   a server property that replaces the default (repeatable)",
            "  --parent-pid PID     exit (cleanly) when that process ends");

    private static final Logger LOG = LoggerFactory.getLogger(BrokerMain.class);

    private BrokerMain() {
    }

    /** The parsed command line. */
    record Args(NodeConfig config, OptionalLong parentPid) {
    }

    /** Thrown for a command line that cannot be run; the message is one sentence for the user. */
    static final class UsageException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }

        UsageException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    public static void main(String[] args) {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(USAGE);
            return;
        }
        Args parsed;
        try {
            parsed = parse(args);
        } catch (UsageException e) {
            System.err.println("BrokerMain: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(EXIT_USAGE);
            return;
        }
        NodeConfig config = parsed.config();
        parsed.parentPid().ifPresent(pid -> exitWhenParentEnds(config.nodeId(), pid));
        KRaftNode node;
        try {
            node = KRaftNode.start(config, KRaftNode.DEFAULT_READY_TIMEOUT);
        } catch (RuntimeException e) {
            LOG.error("node-{}: the broker did not start.", config.nodeId(), e);
            System.err.println("BrokerMain: node " + config.nodeId() + " did not start: " + e.getMessage());
            System.exit(EXIT_FAILED);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("node-{}: shutting down because the JVM is exiting.", config.nodeId());
            node.close();
        }, "distpipe-broker-shutdown"));

        ChildJvm.announceReady(node.bootstrapServers());
        node.awaitShutdown();
    }

    /**
     * Parses the command line into a validated node configuration.
     *
     * @throws UsageException with one sentence naming the offending option
     */
    static Args parse(String[] args) {
        Integer nodeId = null;
        Path dataDir = null;
        Integer port = null;
        Integer controllerPort = null;
        String host = Ports.LOOPBACK;
        String quorum = null;
        String clusterId = null;
        Long parentPid = null;
        Map<String, String> overrides = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            if (i + 1 >= args.length) {
                throw new UsageException(knownOption(option) ? "option " + option + " needs a value"
                        : "unknown option " + option);
            }
            String value = args[++i];
            switch (option) {
                case "--node-id" -> nodeId = parseInt(option, value);
                case "--data-dir" -> dataDir = Path.of(value);
                case "--port" -> port = parseInt(option, value);
                case "--controller-port" -> controllerPort = parseInt(option, value);
                case "--host" -> host = value;
                case "--quorum" -> quorum = value;
                case "--cluster-id" -> clusterId = value;
                case "--parent-pid" -> parentPid = parseLong(option, value);
                case "--config" -> {
                    int equals = value.indexOf('=');
                    if (equals <= 0) {
                        throw new UsageException("--config needs key=value, got '" + value + "'");
                    }
                    overrides.put(value.substring(0, equals).trim(), value.substring(equals + 1).trim());
                }
                default -> throw new UsageException("unknown option " + option);
            }
        }
        require(nodeId, "--node-id");
        require(dataDir, "--data-dir");
        require(port, "--port");
        require(controllerPort, "--controller-port");
        if (quorum == null) {
            quorum = nodeId + "@" + Utils.formatAddress(host, controllerPort);
        }
        try {
            NodeConfig config = new NodeConfig(nodeId, dataDir, host, port, controllerPort, quorum, clusterId,
                    overrides);
            return new Args(config, parentPid == null ? OptionalLong.empty() : OptionalLong.of(parentPid));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }

    private static void exitWhenParentEnds(int nodeId, long parentPid) {
        ProcessHandle.of(parentPid).ifPresentOrElse(
                parent -> parent.onExit().thenRun(() -> {
                    LOG.warn("node-{}: parent process {} ended; stopping.", nodeId, parentPid);
                    System.exit(0);
                }),
                () -> {
                    LOG.warn("node-{}: parent process {} is already gone; stopping.", nodeId, parentPid);
                    System.exit(0);
                });
    }

    private static boolean knownOption(String option) {
        return switch (option) {
            case "--node-id", "--data-dir", "--port", "--controller-port", "--host", "--quorum", "--cluster-id",
                 "--parent-pid", "--config" -> true;
            default -> false;
        };
    }

    private static int parseInt(String option, String value) {
        long parsed = parseLong(option, value);
        if (parsed != (int) parsed) {
            throw new UsageException(option + " is out of range, got " + value);
        }
        return (int) parsed;
    }

    private static long parseLong(String option, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new UsageException(option + " needs a number, got '" + value + "'", e);
        }
    }

    private static void require(Object value, String option) {
        if (value == null) {
            throw new UsageException("missing required option " + option);
        }
    }
}
