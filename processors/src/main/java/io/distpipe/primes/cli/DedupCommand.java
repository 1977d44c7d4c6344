package io.distpipe.primes.cli;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ServiceCommand;
import io.distpipe.common.command.StreamsOptions;
import io.distpipe.primes.dedup.DedupService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code distpipe dedup}: the dedup processor as its own process, until SIGTERM. */
@Command(name = "dedup", mixinStandardHelpOptions = true,
    description = "Run the dedup processor (Kafka Streams, exactly once) of a running system until stopped.")
final class DedupCommand extends ServiceCommand {

    @Mixin
    StreamsOptions streams;

    @Override
    protected int serve() throws Exception {
        serve("dedup", "dedup", new DedupService("dedup", cluster.bootstrapServers, streams.replication,
            streams.stateDir("dedup"), serdes()));
        return Cli.EXIT_OK;
    }
}
