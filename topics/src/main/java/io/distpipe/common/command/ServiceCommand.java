package io.distpipe.common.command;

import java.time.Duration;
import java.util.concurrent.Callable;

import io.distpipe.common.Errors;
import io.distpipe.common.HeartbeatSender;
import io.distpipe.common.Service;
import io.distpipe.common.StreamsService;
import io.distpipe.topics.serde.AvroSerdes;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/**
 * A command that runs one long-lived process of a system (a worker, a coordinator, a processor, a replica) until
 * SIGTERM. It owns what every such command shares, so each declares only its own options and what it runs: the
 * cluster and heartbeat options, checking the options before the cluster, finding and reaching the cluster, the
 * registry's serdes, and the {@link Daemon} order (stop on SIGTERM, start, heartbeats, READY, run, close before the
 * JVM may halt).
 *
 * <pre>{@code
 * final class WorkerCommand extends ServiceCommand {
 *     protected int serve() throws Exception {
 *         PrimeWorker worker = PrimeWorker.create(..., serdes());
 *         serve(id, "worker", worker::close, worker::start, worker::run);
 *         return Cli.EXIT_OK;
 *     }
 * }
 * }</pre>
 */
public abstract class ServiceCommand implements Callable<Integer> {

    /** How long a Kafka Streams processor may take to reach RUNNING before the command gives up. */
    public static final Duration STREAMS_START_TIMEOUT = Duration.ofMinutes(2);

    @Spec
    protected CommandLine.Model.CommandSpec spec;

    @Mixin
    protected ClusterOptions cluster;

    @Mixin
    protected HeartbeatOptions heartbeat;

    private AvroSerdes serdes;

    /** A step of a component that may throw. */
    @FunctionalInterface
    protected interface Step {
        void run() throws Exception;
    }

    @Override
    public final Integer call() throws Exception {
        validate();
        requireCluster();
        serdes = AvroSerdes.connect(cluster.registryUrl);
        return serve();
    }

    /**
     * Checks what picocli cannot (relations between options) before the cluster is reached; a problem is a usage
     * error ({@link #usageError}, exit 2).
     */
    protected void validate() {
    }

    /** Finds and reaches the cluster ({@link Daemon#requireCluster}); a system may look for its own first. */
    protected void requireCluster() throws Exception {
        Daemon.requireCluster(cluster, spec);
    }

    /** Runs the process until it is stopped and returns the exit code. */
    protected abstract int serve() throws Exception;

    /** The registry's serdes, connected once the cluster was found. */
    protected final AvroSerdes serdes() {
        return serdes;
    }

    /** A usage error about this command's options: one sentence, then the usage text, exit 2. */
    protected final CommandLine.ParameterException usageError(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    /**
     * Runs a component on this thread: SIGTERM calls {@code stop}; {@code start}, then heartbeats as {@code memberId}
     * with {@code role}, READY, and {@code run} until it returns (it must once {@code stop} was called).
     */
    protected final void serve(String memberId, String role, Runnable stop, Step start, Step run) throws Exception {
        try (Daemon daemon = Daemon.start(memberId, stop)) {
            start.run();
            try (HeartbeatSender beats = heartbeat.start(memberId, role, cluster.bootstrapServers, serdes)) {
                daemon.ready();
                run.run();
            }
        }
    }

    /** Runs a Kafka Streams processor with its heartbeats until SIGTERM; READY once it is RUNNING. */
    protected final void serve(String memberId, String role, StreamsService service) throws Exception {
        try (Daemon daemon = Daemon.start(memberId, () -> { });
             StreamsService streams = service;
             HeartbeatSender beats = heartbeat.start(memberId, role, cluster.bootstrapServers, serdes)) {
            streams.start();
            streams.awaitRunning(STREAMS_START_TIMEOUT);
            daemon.ready();
            while (!daemon.awaitStop(Duration.ofMillis(500))) {
                if (streams.state() == Service.State.FAILED) {
                    // Its stream threads failed more often than their bound: the process ends non-zero, loudly.
                    throw new IllegalStateException(memberId + " stopped: " + Errors.reason(streams.failure()),
                        streams.failure());
                }
            }
        }
    }
}
