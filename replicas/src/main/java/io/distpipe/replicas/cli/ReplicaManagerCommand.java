package io.distpipe.replicas.cli;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.Logs;
import io.distpipe.common.command.ServiceCommand;
import io.distpipe.common.command.StreamsOptions;
import io.distpipe.replicas.server.ReplicaManagerService;
import io.distpipe.replicas.server.ReplicaManagerTopology;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code distpipe replica-manager}: the RM, membership events to replica roles, until SIGTERM. */
@Command(name = "manager", mixinStandardHelpOptions = true, description = {
    "Run the replica manager: membership events of replicas (from the membership processor, the global fault "
        + "detector) become roles on the compacted roles topic: passive mode one primary and backups, active mode "
        + "ready replicas and state transfers to (re)joining ones. Logs 'RM: 3 members: S1, S2, S3' on each change."})
final class ReplicaManagerCommand extends ServiceCommand {

    @Option(names = "--mode", required = true, paramLabel = "MODE", converter = ModeConverter.class,
        description = "active or passive.")
    Mode mode;

    @Mixin
    StreamsOptions streams;

    @Override
    protected int serve() throws Exception {
        ReplicaManagerService.ensureTopics(cluster.bootstrapServers);
        String id = ReplicaManagerTopology.APPLICATION_ID;
        serve(id, id, new ReplicaManagerService(cluster.bootstrapServers, streams.replication, streams.stateDir(id),
            serdes(), mode));
        return Cli.EXIT_OK;
    }
}
