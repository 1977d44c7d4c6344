package io.distpipe.primes.cli;

import java.util.concurrent.Callable;

import io.distpipe.common.HeartbeatSender;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.Daemon;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.primes.work.PrimeWorker;
import io.distpipe.topics.serde.AvroSerdes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code distpipe worker}: one primes worker as its own process, until SIGTERM. */
@Command(name = "worker", mixinStandardHelpOptions = true,
    description = {"Run one primes worker (joins the worker group of a running cluster) until stopped.",
        "Without --bootstrap-servers it joins the system started by bin/start_system.sh."})
final class WorkerCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--id", required = true, paramLabel = "ID", description = "Member id, e.g. worker-2.")
    String id;

    @Option(names = "--session-timeout-ms", paramLabel = "MS",
        defaultValue = "" + KafkaClients.SESSION_TIMEOUT_MS_DEFAULT,
        description = "Consumer group session timeout (default ${DEFAULT-VALUE}); the broker's "
            + "group.min.session.timeout.ms must allow it.")
    int sessionTimeoutMs;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    HeartbeatOptions heartbeat;

    @Override
    public Integer call() throws Exception {
        Daemon.requireCluster(cluster, spec);
        PrimeWorker.Config defaults = PrimeWorker.Config.defaults(id, cluster.bootstrapServers);
        AvroSerdes serdes = AvroSerdes.connect(cluster.registryUrl);
        PrimeWorker worker = PrimeWorker.create(new PrimeWorker.Config(id, cluster.bootstrapServers, sessionTimeoutMs,
            defaults.transactionTimeoutMs(), defaults.maxPollRecords()), serdes);
        try (Daemon daemon = Daemon.start(id, worker::close)) {
            worker.start();
            try (HeartbeatSender beats = heartbeat.start(id, "worker", cluster.bootstrapServers, serdes)) {
                daemon.ready();
                worker.run();
            }
        }
        return Cli.EXIT_OK;
    }
}
