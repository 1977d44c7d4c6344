package io.distpipe.primes.cli;

import java.time.Duration;
import java.util.concurrent.Callable;

import io.distpipe.common.HeartbeatSender;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.Daemon;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.common.command.StreamsOptions;
import io.distpipe.primes.dedup.DedupService;
import io.distpipe.topics.serde.AvroSerdes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/** {@code distpipe dedup}: the dedup processor as its own process, until SIGTERM. */
@Command(name = "dedup", mixinStandardHelpOptions = true,
    description = "Run the dedup processor (Kafka Streams, exactly once) of a running system until stopped.")
final class DedupCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    StreamsOptions streams;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    HeartbeatOptions heartbeat;

    @Override
    public Integer call() throws Exception {
        Daemon.requireCluster(cluster, spec);
        AvroSerdes serdes = AvroSerdes.connect(cluster.registryUrl);
        try (Daemon daemon = Daemon.start("dedup", () -> { });
             DedupService dedup = new DedupService("dedup", cluster.bootstrapServers, streams.replication,
                 streams.stateDir("dedup"), serdes);
             HeartbeatSender beats = heartbeat.start("dedup", "dedup", cluster.bootstrapServers, serdes)) {
            dedup.start();
            dedup.awaitRunning(Duration.ofMinutes(2));
            daemon.ready();
            daemon.awaitStop();
        }
        return Cli.EXIT_OK;
    }
}
