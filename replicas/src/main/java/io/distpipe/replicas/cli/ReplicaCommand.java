package io.distpipe.replicas.cli;

import java.time.Duration;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.common.command.ServiceCommand;
import io.distpipe.replicas.server.Replica;
import io.distpipe.replicas.server.ReplicaManagerService;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code distpipe replica}: one server replica (its heartbeats are its local fault detector), until SIGTERM. */
@Command(name = "server", mixinStandardHelpOptions = true, description = {
    "Run one server replica of the replicated server. It takes its role (passive: primary or backup; active: ready "
        + "or recovering) from the replica manager, prints its state before and after each request and every "
        + "checkpoint sent or received. Its heartbeats (role 'replica') are its local fault detector."})
final class ReplicaCommand extends ServiceCommand {

    @Option(names = "--id", required = true, paramLabel = "ID", description = "Replica id, e.g. S1.")
    String id;

    @Option(names = "--mode", required = true, paramLabel = "MODE", converter = ModeConverter.class,
        description = "active or passive (must match the replica manager's).")
    Mode mode;

    @Option(names = "--checkpoint-interval", paramLabel = "DURATION", defaultValue = "10s",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "Passive primary: how often to publish a checkpoint (default ${DEFAULT-VALUE}).")
    Duration checkpointInterval;

    @Option(names = "--pause-in-checkpoint", paramLabel = "DURATION", defaultValue = "0s", hidden = true,
        converter = HeartbeatOptions.DurationConverter.class,
        description = "Fault tests: stall this long inside each checkpoint's transaction, printing CHECKPOINT-PENDING.")
    Duration pauseInCheckpoint;

    @Override
    protected int serve() throws Exception {
        ReplicaManagerService.ensureTopics(cluster.bootstrapServers);
        Replica replica = new Replica(new Replica.Config(id, mode, cluster.bootstrapServers, checkpointInterval,
            pauseInCheckpoint), serdes(), line -> {
                System.out.println(line);
                System.out.flush();
            });
        serve(id, "replica", replica::close, replica::start, replica::run);
        return Cli.EXIT_OK;
    }
}
