package io.distpipe.cli;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.Daemon;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.topics.registry.ConfluentRestSchemaRegistry;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryException;
import io.distpipe.topics.registry.SchemaRegistryServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code distpipe registry}: a small in-memory schema registry over the Confluent REST API, until SIGTERM; or, with
 * {@code --await}, waits for another registry (Apicurio's) to answer and sets its compatibility level.
 */
@Command(name = "registry", mixinStandardHelpOptions = true,
    description = {"Serve an in-memory schema registry speaking the Confluent REST API on 127.0.0.1 (its schemas are "
        + "lost when it stops), or with --await URL wait until the registry at URL answers.",
        "bin/start_system.sh runs Apicurio Registry and uses --await; DISTPIPE_REGISTRY=builtin uses this one."})
final class RegistryCommand implements Callable<Integer> {

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", defaultValue = "8081",
        description = "Port to listen on (0 picks a free one; default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--await", paramLabel = "URL",
        description = "Wait until the Confluent-REST registry at URL answers, print READY and exit.")
    String await;

    @Option(names = "--compatibility", paramLabel = "LEVEL", defaultValue = "BACKWARD",
        description = "With --await: the global compatibility level to set (default ${DEFAULT-VALUE}, Confluent's; "
            + "Apicurio's own default is NONE).")
    String compatibility;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "120s",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "With --await: how long to wait (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--pid", paramLabel = "PID",
        description = "With --await: the registry's process; stop waiting at once if it exits.")
    Long pid;

    @Override
    public Integer call() throws Exception {
        if (await != null) {
            return awaitRegistry();
        }
        try (Daemon daemon = Daemon.start("registry", () -> { });
             SchemaRegistryServer server = SchemaRegistryServer.start(new InMemorySchemaRegistry(), port)) {
            ChildJvm.announceReady(server.url());
            daemon.awaitStop();
        }
        return Cli.EXIT_OK;
    }

    private int awaitRegistry() throws InterruptedException {
        ConfluentRestSchemaRegistry registry = new ConfluentRestSchemaRegistry(await);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                registry.subjects();
                break;
            } catch (SchemaRegistryException e) {
                if (pid != null && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    throw new IllegalStateException("The schema registry's process " + pid + " exited before "
                        + await + " answered", e);
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("The schema registry at " + await + " did not answer within "
                        + timeout.toSeconds() + " s: " + e.getMessage(), e);
                }
                TimeUnit.MILLISECONDS.sleep(250);
            }
        }
        registry.setCompatibilityLevel(compatibility);
        ChildJvm.announceReady(await + " (compatibility " + registry.compatibilityLevel() + ")");
        return Cli.EXIT_OK;
    }
}
