package io.distpipe.replicas.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.Daemon;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.replicas.server.ReplicaClient;
import io.distpipe.replicas.server.ReplicaManagerService;
import io.distpipe.topics.serde.AvroSerdes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code distpipe replica-client}: sends numbered requests to the replicated server and records a history. */
@Command(name = "client", mixinStandardHelpOptions = true, description = {
    "Send numbered requests to the replicated server, one at a time: the first reply to each is taken, later ones are "
        + "discarded ('duplicate reply discarded'), a request without a reply is resent with bounded backoff. "
        + "Exit 0 if every request was acknowledged."})
final class ReplicaClientCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--id", required = true, paramLabel = "ID", description = "Client id, e.g. C1.")
    String id;

    @Option(names = "--requests", paramLabel = "N", defaultValue = "100",
        description = "How many requests to send (default ${DEFAULT-VALUE}).")
    long requests;

    @Option(names = "--rate", paramLabel = "R", defaultValue = "10",
        description = "At most R requests per second; 0 for as fast as replies come (default ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--history", paramLabel = "FILE.jsonl",
        description = "Write one JSON line per event (invoke, ok, info) to this file.")
    Path history;

    @Option(names = "--give-up-after", paramLabel = "DURATION", defaultValue = "60s",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "Stop resending a request after this long and record its outcome as unknown (default "
            + "${DEFAULT-VALUE}).")
    Duration giveUpAfter;

    @Mixin
    ClusterOptions cluster;

    @Override
    public Integer call() throws Exception {
        if (requests < 0 || rate < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--requests and --rate must not be negative");
        }
        Daemon.requireCluster(cluster, spec);
        ReplicaManagerService.ensureTopics(cluster.bootstrapServers);
        PrintWriter out = spec.commandLine().getOut();
        ReplicaClient.Config defaults = ReplicaClient.Config.of(id, cluster.bootstrapServers, requests, rate, history);
        ReplicaClient.Config cfg = new ReplicaClient.Config(id, cluster.bootstrapServers, requests, rate, history,
            defaults.firstTimeout(), defaults.maxBackoff(), giveUpAfter);
        try (ReplicaClient client = new ReplicaClient(cfg, AvroSerdes.connect(cluster.registryUrl), line -> {
            out.println(line);
            out.flush();
        }); Daemon daemon = Daemon.start(id, client::stop)) {
            ReplicaClient.Result result = client.run();
            return result.indeterminate() == 0 ? Cli.EXIT_OK : Cli.EXIT_FAILURE;
        }
    }
}
