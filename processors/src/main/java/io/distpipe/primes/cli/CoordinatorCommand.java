package io.distpipe.primes.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.common.command.ServiceCommand;
import io.distpipe.primes.job.SystemCoordinator;
import io.distpipe.primes.plan.Coordinator;
import io.distpipe.primes.plan.NumberParser;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code distpipe coordinator}: the long-running coordinator of the running system, until SIGTERM. */
@Command(name = "coordinator", mixinStandardHelpOptions = true, description = {
    "Run the coordinator of a running system: every file dropped into the input directory becomes tasks; the output "
        + "is rewritten whenever all tasks are done. Continues its job after a restart."})
final class CoordinatorCommand extends ServiceCommand {

    @Option(names = {"-i", "--input"}, paramLabel = "DIR", defaultValue = "data/input",
        description = "Directory to watch (default ${DEFAULT-VALUE}).")
    Path input;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", defaultValue = "primes.txt",
        description = "Output file (default ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--job-id", paramLabel = "ID", defaultValue = "system",
        description = "The job this system runs (default ${DEFAULT-VALUE}).")
    String jobId;

    @Option(names = "--snapshots", paramLabel = "DIR", defaultValue = "snapshots",
        description = "Where consistent snapshots are written (default ${DEFAULT-VALUE}).")
    Path snapshotsDir;

    @Option(names = "--snapshot-interval", paramLabel = "DURATION", defaultValue = "30s",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "How often to take a consistent snapshot (default ${DEFAULT-VALUE}; 0s: never).")
    Duration snapshotInterval;

    @Override
    protected int serve() throws Exception {
        Files.createDirectories(input);
        AtomicReference<SystemCoordinator> running = new AtomicReference<>();
        serve("coordinator", "coordinator", () -> {
            SystemCoordinator c = running.get();
            if (c != null) {
                c.stop();
            }
        }, () -> running.set(new SystemCoordinator(jobId, input, output, cluster.bootstrapServers, serdes(),
            Coordinator.CHUNK_NUMBERS_DEFAULT, NumberParser.DEFAULT_MAX_DIGITS, snapshotsDir, snapshotInterval)),
            () -> {
                try (SystemCoordinator coordinator = running.get()) {
                    coordinator.run();
                }
            });
        return Cli.EXIT_OK;
    }
}
