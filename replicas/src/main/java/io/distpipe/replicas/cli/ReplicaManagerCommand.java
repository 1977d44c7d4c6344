package io.distpipe.replicas.cli;

import java.time.Duration;
import java.util.concurrent.Callable;

import io.distpipe.common.HeartbeatSender;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.Daemon;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.common.command.Logs;
import io.distpipe.common.command.StreamsOptions;
import io.distpipe.replicas.server.ReplicaManagerService;
import io.distpipe.replicas.server.ReplicaManagerTopology;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import io.distpipe.topics.serde.AvroSerdes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code distpipe replica-manager}: the RM, membership events to replica roles, until SIGTERM. */
@Command(name = "manager", mixinStandardHelpOptions = true, description = {
    "Run the replica manager: membership events of replicas (from the membership processor, the global fault "
        + "detector) become roles on the compacted roles topic: passive mode one primary and backups, active mode "
        + "ready replicas and state transfers to (re)joining ones. Logs 'RM: 3 members: S1, S2, S3' on each change."})
final class ReplicaManagerCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--mode", required = true, paramLabel = "MODE", converter = ModeConverter.class,
        description = "active or passive.")
    Mode mode;

    @Mixin
    StreamsOptions streams;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    HeartbeatOptions heartbeat;

    @Override
    public Integer call() throws Exception {
        Daemon.requireCluster(cluster, spec);
        ReplicaManagerService.ensureTopics(cluster.bootstrapServers);
        AvroSerdes serdes = AvroSerdes.connect(cluster.registryUrl);
        String id = ReplicaManagerTopology.APPLICATION_ID;
        try (Daemon daemon = Daemon.start(id, () -> { });
             ReplicaManagerService rm = new ReplicaManagerService(cluster.bootstrapServers, streams.replication,
                 streams.stateDir(id), serdes, mode);
             HeartbeatSender beats = heartbeat.start(id, id, cluster.bootstrapServers, serdes)) {
            rm.start();
            rm.awaitRunning(Duration.ofMinutes(2));
            daemon.ready();
            daemon.awaitStop();
        }
        return Cli.EXIT_OK;
    }
}
