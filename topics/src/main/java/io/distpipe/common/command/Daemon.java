package io.distpipe.common.command;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.KafkaClients;
import picocli.CommandLine;

/**
 * What every command that runs one process of the system shares: finding the cluster, saying READY, and on SIGTERM
 * asking the work to stop and waiting (bounded) until it has and its resources are closed, before the JVM halts.
 *
 * <pre>{@code
 * try (Daemon daemon = Daemon.start("dedup", stopAction)) {
 *     try (resources...) { daemon.ready(); work... }
 * }
 * }</pre>
 */
public final class Daemon implements AutoCloseable {

    private static final long CLOSE_WAIT_S = 30;
    public static final String READY_FILE_ENV = "DISTPIPE_READY_FILE";
    public static final String READY_FILE_PROPERTY = "distpipe.ready.file";

    private final String name;
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final CountDownLatch closed = new CountDownLatch(1);

    private Daemon(String name, Runnable stop) {
        this.name = name;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopRequested.countDown();
            stop.run();
            try {
                closed.await(CLOSE_WAIT_S, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, name + "-shutdown"));
    }

    /** Registers the shutdown hook; {@code stop} is called on SIGTERM (and may be a no-op). */
    public static Daemon start(String name, Runnable stop) {
        return new Daemon(name, stop);
    }

    /**
     * Fills in the cluster from run/ when not given, insists on one, and on its answering within the one bound every
     * command uses. Not a usage error: the command line is fine, the system is missing, so no usage text follows.
     */
    public static void requireCluster(ClusterOptions cluster, CommandLine.Model.CommandSpec spec) throws IOException {
        cluster.orRunningSystem();
        if (cluster.bootstrapServers == null) {
            throw new IllegalStateException("No running system found in " + ClusterOptions.runDirectory()
                .toAbsolutePath().normalize() + " (start one with bin/start_system.sh) and no --bootstrap-servers "
                + "given, so " + spec.qualifiedName().replaceFirst("^distpipe ", "") + " has no Kafka cluster to use");
        }
        KafkaClients.requireReachable(cluster.bootstrapServers);
    }

    /** Tells whoever started this process that it serves: a READY line, and the ready file when one is named. */
    public void ready() throws IOException {
        ChildJvm.announceReady(name);
        Path file = readyFile();
        if (file != null) {
            Files.writeString(file, ChildJvm.readyLine(name) + " " + ProcessHandle.current().pid() + "\n");
        }
    }

    /**
     * Where to say READY for a container healthcheck ({@value #READY_FILE_ENV}, or the system property
     * {@value #READY_FILE_PROPERTY}); it should be on a tmpfs, so a restarted container is not ready before it is.
     */
    public static Path readyFile() {
        String file = System.getProperty(READY_FILE_PROPERTY, System.getenv(READY_FILE_ENV));
        return file == null || file.isBlank() ? null : Path.of(file);
    }

    /** Blocks until SIGTERM. */
    public void awaitStop() throws InterruptedException {
        stopRequested.await();
    }

    /** Blocks until SIGTERM or for {@code timeout}; whether SIGTERM came. */
    public boolean awaitStop(Duration timeout) throws InterruptedException {
        return stopRequested.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        closed.countDown();
    }
}
