package io.distpipe.cli;

import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

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
final class Daemon implements AutoCloseable {

    private static final long CLOSE_WAIT_S = 30;

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
    static Daemon start(String name, Runnable stop) {
        return new Daemon(name, stop);
    }

    /** Fills in the cluster from run/ when not given, and insists on one. */
    static void requireCluster(ClusterOptions cluster, CommandLine.Model.CommandSpec spec) throws IOException {
        cluster.orRunningSystem();
        if (cluster.bootstrapServers == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), spec.name()
                + " needs --bootstrap-servers (or a system started by bin/start_system.sh)");
        }
    }

    /** Tells whoever started this process that it serves. */
    void ready() {
        System.out.println("READY " + name);
        System.out.flush();
    }

    /** Blocks until SIGTERM. */
    void awaitStop() throws InterruptedException {
        stopRequested.await();
    }

    @Override
    public void close() {
        closed.countDown();
    }
}
