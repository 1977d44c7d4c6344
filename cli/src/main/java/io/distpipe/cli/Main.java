package io.distpipe.cli;

import java.io.PrintWriter;

import io.distpipe.common.Errors;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code distpipe} command: every process of the suite starts here. */
@Command(name = "distpipe", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "A distributed computing suite where every interaction is an Avro record on a Kafka topic.",
    subcommands = {PrimesCommand.class, TopicsCommand.class, WorkerCommand.class, RegistryCommand.class,
        BenchCommand.class, BrokerCommand.class, CoordinatorCommand.class, DedupCommand.class,
        MembershipCommand.class, StatusCommand.class, ReplayCommand.class, RestoreCommand.class, ConsumeCommand.class,
        MrCommand.class, ChatCommand.class,
        ReplicaCommand.class, ReplicaManagerCommand.class, ReplicaClientCommand.class, ReplicasCommand.class,
        KvCommand.class,
        CommandLine.HelpCommand.class})
public final class Main {

    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;
    /** Outside {@code io.distpipe}, so that logback sends it to the log file and not to the console. */
    static final String FAILURE_LOGGER = "distpipe.failures";

    @Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT,
        description = "Print stack traces and debug details on errors.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns the exit code (0 ok, 1 failure, 2 usage error). */
    public static int run(String... args) {
        Logs.init(processName(args));
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean verbose = commandLine.getCommandSpec().root().userObject() instanceof Main m && m.verbose;
            PrintWriter err = commandLine.getErr();
            err.println(commandLine.getCommandSpec().qualifiedName() + ": " + sentence(e));
            if (verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            // The sentence is on the terminal already: this logger writes to the log file only (see logback.xml).
            LoggerFactory.getLogger(FAILURE_LOGGER).error("Command failed: {}", sentence(e), e);
            return EXIT_FAILURE;
        });
        return cli.execute(args);
    }

    /** One readable sentence for an exception: its own message, or its cause's when it only wraps. */
    static String sentence(Throwable e) {
        Throwable t = e;
        while ((t.getMessage() == null || t.getMessage().startsWith(t.getCause() == null ? "\0" : t.getCause()
            .getClass().getName())) && t.getCause() != null) {
            t = t.getCause();
        }
        String message = t.getMessage() == null ? Errors.reason(t) : t.getMessage();
        return message.endsWith(".") ? message : message + ".";
    }

    /** The process id used for the log file name: the subcommand, or the --id of a worker. */
    static String processName(String[] args) {
        String name = "distpipe";
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--id") && i + 1 < args.length) {
                return args[i + 1];
            }
            if (args[i].equals("--node-id") && i + 1 < args.length) {
                return "broker-" + args[i + 1];
            }
            if (!args[i].startsWith("-") && name.equals("distpipe")) {
                name = args[i];
            }
        }
        return name;
    }

    /** Reads the version from the jar manifest, or says it runs from source. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"distpipe " + (version == null ? "0.1.0-SNAPSHOT (source tree)" : version),
                "Kafka clients " + org.apache.kafka.common.utils.AppInfoParser.getVersion() + ", Java "
                    + System.getProperty("java.version")};
        }
    }
}
