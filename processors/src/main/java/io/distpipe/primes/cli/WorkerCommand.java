package io.distpipe.primes.cli;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ServiceCommand;
import io.distpipe.primes.work.PrimeWorker;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code distpipe worker}: one primes worker as its own process, until SIGTERM. */
@Command(name = "worker", mixinStandardHelpOptions = true,
    description = {"Run one primes worker (joins the worker group of a running cluster) until stopped.",
        "Without --bootstrap-servers it joins the system started by bin/start_system.sh."})
final class WorkerCommand extends ServiceCommand {

    @Option(names = "--id", required = true, paramLabel = "ID", description = "Member id, e.g. worker-2.")
    String id;

    @Option(names = "--session-timeout-ms", paramLabel = "MS",
        defaultValue = "" + KafkaClients.SESSION_TIMEOUT_MS_DEFAULT,
        description = "Consumer group session timeout (default ${DEFAULT-VALUE}); the broker's "
            + "group.min.session.timeout.ms must allow it.")
    int sessionTimeoutMs;

    @Override
    protected int serve() throws Exception {
        PrimeWorker.Config defaults = PrimeWorker.Config.defaults(id, cluster.bootstrapServers);
        PrimeWorker worker = PrimeWorker.create(new PrimeWorker.Config(id, cluster.bootstrapServers, sessionTimeoutMs,
            defaults.transactionTimeoutMs(), defaults.maxPollRecords()), serdes());
        serve(id, "worker", worker::close, worker::start, worker::run);
        return Cli.EXIT_OK;
    }
}
