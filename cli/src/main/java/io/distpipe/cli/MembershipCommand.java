package io.distpipe.cli;

import java.time.Duration;
import java.util.concurrent.Callable;

import io.distpipe.common.HeartbeatSender;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.Daemon;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.common.command.StreamsOptions;
import io.distpipe.membership.MembershipService;
import io.distpipe.membership.MembershipTopology;
import io.distpipe.topics.serde.AvroSerdes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code distpipe membership}: the membership processor (heartbeats to membership events), until SIGTERM. */
@Command(name = "membership", mixinStandardHelpOptions = true, description = {
    "Run the membership processor: heartbeats become ADDED / SUSPECTED / RECOVERED / REMOVED events with the member "
        + "list and an epoch; silence is judged on this process's own clock."})
final class MembershipCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    StreamsOptions streams;

    @Option(names = "--suspect-after", paramLabel = "DURATION", defaultValue = "3s",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "Silence after which a member is suspected (default ${DEFAULT-VALUE}).")
    Duration suspectAfter;

    @Option(names = "--remove-after", paramLabel = "DURATION", defaultValue = "6s",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "Silence after which a member is removed (default ${DEFAULT-VALUE}).")
    Duration removeAfter;

    @Option(names = "--check-every", paramLabel = "DURATION", defaultValue = "500ms",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "How often silence is checked; at most half of --suspect-after (default ${DEFAULT-VALUE}).")
    Duration checkEvery;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    HeartbeatOptions heartbeat;

    @Override
    public Integer call() throws Exception {
        Daemon.requireCluster(cluster, spec);
        MembershipTopology.Config config;
        try {
            config = new MembershipTopology.Config(suspectAfter, removeAfter, checkEvery);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        AvroSerdes serdes = AvroSerdes.connect(cluster.registryUrl);
        try (Daemon daemon = Daemon.start("membership", () -> { });
             MembershipService membership = new MembershipService("membership", cluster.bootstrapServers,
                 streams.replication, streams.stateDir("membership"), serdes, config);
             HeartbeatSender beats = heartbeat.start("membership", "membership", cluster.bootstrapServers, serdes)) {
            membership.start();
            membership.awaitRunning(Duration.ofMinutes(2));
            daemon.ready();
            daemon.awaitStop();
        }
        return Cli.EXIT_OK;
    }
}
