package io.distpipe.cli;

import java.time.Duration;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.common.command.ServiceCommand;
import io.distpipe.common.command.StreamsOptions;
import io.distpipe.membership.MembershipService;
import io.distpipe.membership.MembershipTopology;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code distpipe membership}: the membership processor (heartbeats to membership events), until SIGTERM. */
@Command(name = "membership", mixinStandardHelpOptions = true, description = {
    "Run the membership processor: heartbeats become ADDED / SUSPECTED / RECOVERED / REMOVED events with the member "
        + "list and an epoch; silence is judged on this process's own clock."})
final class MembershipCommand extends ServiceCommand {

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

    private MembershipTopology.Config config;

    @Override
    protected void validate() {
        try {
            config = new MembershipTopology.Config(suspectAfter, removeAfter, checkEvery);
        } catch (IllegalArgumentException e) {
            throw usageError(e.getMessage());
        }
    }

    @Override
    protected int serve() throws Exception {
        serve("membership", "membership", new MembershipService("membership", cluster.bootstrapServers,
            streams.replication, streams.stateDir("membership"), serdes(), config));
        return Cli.EXIT_OK;
    }
}
