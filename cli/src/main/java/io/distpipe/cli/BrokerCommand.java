package io.distpipe.cli;

import java.util.List;
import java.util.concurrent.Callable;

import io.distpipe.cluster.BrokerMain;
import io.distpipe.common.command.Cli;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Unmatched;

/** {@code distpipe broker}: one KRaft node (broker and controller) as its own process, until SIGTERM. */
@Command(name = "broker", mixinStandardHelpOptions = false, description = {
    "Run one KRaft node (broker and controller). Options: --node-id N --data-dir DIR --port P --controller-port C "
        + "[--quorum id@host:port,...] [--cluster-id ID] [--config key=value]...",
    "Storage is formatted only on first start; prints READY <bootstrap> when it serves."})
final class BrokerCommand implements Callable<Integer> {

    @Unmatched
    List<String> args;

    @Parameters(hidden = true, arity = "0")
    List<String> none;

    @Override
    public Integer call() {
        BrokerMain.main(args == null ? new String[0] : args.toArray(new String[0]));
        return Cli.EXIT_OK;
    }
}
