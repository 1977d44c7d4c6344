package io.distpipe.common.command;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

import io.distpipe.common.ClientProperties;
import io.distpipe.common.Errors;
import org.apache.kafka.common.utils.AppInfoParser;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * The {@code distpipe} command line, assembled from the {@link SystemCommands} on the class path: the installed
 * product has every system's commands; a module's tests (and the child JVMs they start) have that module's. Every
 * process of the suite starts in {@link #main}. Exit codes: 0 ok, 1 failure (one sentence on standard error, printed
 * once), 2 usage error.
 */
@Command(name = "distpipe", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
    description = "A distributed computing suite where every interaction is an Avro record on a Kafka topic.")
public final class Cli {

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
        return commandLine().execute(args);
    }

    /** The root command with every system's commands, aliases and benches. */
    public static CommandLine commandLine() {
        CommandLine root = new CommandLine(new Cli());
        List<SystemCommands> systems = new ArrayList<>();
        ServiceLoader.load(SystemCommands.class).forEach(systems::add);
        systems.sort(Comparator.comparingInt(SystemCommands::order));
        CommandLine bench = new CommandLine(new Bench());
        for (SystemCommands system : systems) {
            system.commands().forEach(root::addSubcommand);
            system.aliases().forEach((name, command) -> root.addSubcommand(name, renamed(name, command, true)));
            system.benches().forEach((name, command) -> bench.addSubcommand(name, renamed(name, command, false)));
        }
        if (!bench.getSubcommands().isEmpty()) {
            bench.getCommandSpec().usageMessage().hidden(true);
            root.addSubcommand(bench);
        }
        root.addSubcommand(new CommandLine.HelpCommand());
        root.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST_HEADING,
            help -> "");
        root.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST,
            help -> sections(root, systems));
        root.setExecutionExceptionHandler(Cli::failed);
        root.setExecutionStrategy(Cli::execute);
        return root;
    }

    /** {@code command} under another name (its usage and error messages say that name), hidden if asked. */
    private static CommandLine renamed(String name, Object command, boolean hidden) {
        CommandLine alias = new CommandLine(command).setCommandName(name);
        alias.getCommandSpec().usageMessage().hidden(hidden);
        return alias;
    }

    /** The command list of {@code distpipe --help}, one section per system. */
    private static String sections(CommandLine root, List<SystemCommands> systems) {
        StringBuilder sb = new StringBuilder("Commands, by system (distpipe COMMAND --help for each):%n");
        for (SystemCommands system : systems) {
            sb.append("%n").append(system.section()).append(":%n");
            for (Object command : system.commands()) {
                CommandSpec spec = root.getSubcommands().get(CommandSpec.forAnnotatedObject(command).name())
                    .getCommandSpec();
                String[] description = spec.usageMessage().description();
                sb.append(String.format("  %-13s %s", spec.name(), description.length == 0 ? ""
                    : firstSentence(description[0]).replace("%", "%%"))).append("%n");
                List<String> verbs = spec.subcommands().entrySet().stream()
                    .filter(e -> !e.getValue().getCommandSpec().usageMessage().hidden()).map(Map.Entry::getKey)
                    .toList();
                if (!verbs.isEmpty()) {
                    sb.append(String.format("  %-13s %s", "", String.join(" | ", verbs))).append("%n");
                }
            }
        }
        sb.append("%n  help          Show the help of a command.%n");
        return String.format(sb.toString());
    }

    private static String firstSentence(String text) {
        int end = text.indexOf(". ");
        String first = end < 0 ? text : text.substring(0, end + 1);
        return first.length() <= 64 ? first : first.substring(0, 61) + "...";
    }

    /**
     * Runs the command after putting its client properties in place for every Kafka client it creates (a command
     * without cluster options gets the environment's), and saying which registry a given cluster is used with.
     */
    private static int execute(CommandLine.ParseResult parseResult) {
        CommandLine.ParseResult last = parseResult;
        ClusterOptions cluster = null;
        for (CommandLine.ParseResult p = parseResult; p != null; p = p.subcommand()) {
            last = p;
            ClusterOptions found = clusterOptions(p.commandSpec());
            cluster = found != null ? found : cluster;
        }
        try {
            if (cluster == null) {
                ClientProperties.use(null, List.of());
            } else {
                cluster.useClientProperties();
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(last.commandSpec().commandLine(), e.getMessage(), e);
        }
        String notice = cluster == null ? null : cluster.registryNotice();
        if (notice != null && !last.isUsageHelpRequested()) {
            last.commandSpec().commandLine().getErr().println(notice + ".");
        }
        return new CommandLine.RunLast().execute(parseResult);
    }

    /** The cluster options among a command's mixins, or theirs (a mixin of options may hold them), or null. */
    private static ClusterOptions clusterOptions(CommandSpec spec) {
        for (CommandSpec mixin : spec.mixins().values()) {
            if (mixin.userObject() instanceof ClusterOptions c) {
                return c;
            }
            ClusterOptions nested = clusterOptions(mixin);
            if (nested != null) {
                return nested;
            }
        }
        return null;
    }

    private static int failed(Exception e, CommandLine commandLine, CommandLine.ParseResult parseResult) {
        boolean verbose = commandLine.getCommandSpec().root().userObject() instanceof Cli c && c.verbose;
        PrintWriter err = commandLine.getErr();
        err.println(commandLine.getCommandSpec().qualifiedName() + ": " + sentence(e));
        if (verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        // The sentence is on the terminal already: this logger writes to the log file only (see logback.xml).
        LoggerFactory.getLogger(FAILURE_LOGGER).error("Command failed: {}", sentence(e), e);
        return EXIT_FAILURE;
    }

    /** One readable sentence for an exception: its own message, or its cause's when it only wraps. */
    public static String sentence(Throwable e) {
        Throwable t = e;
        while ((t.getMessage() == null || t.getMessage().startsWith(t.getCause() == null ? "\0" : t.getCause()
            .getClass().getName())) && t.getCause() != null) {
            t = t.getCause();
        }
        String message = t.getMessage() == null ? Errors.reason(t) : t.getMessage();
        return message.endsWith(".") ? message : message + ".";
    }

    /** The process id used for the log file name: the subcommand, or the --id of a worker. */
    public static String processName(String[] args) {
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

    /** {@code distpipe bench}: each system's benchmark under its older name. */
    @Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks (also distpipe primes bench, mr bench, replicas bench, kv bench).")
    static final class Bench {
    }

    /** Reads the version from the jar manifest, or says it runs from source. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Cli.class.getPackage().getImplementationVersion();
            return new String[] {"distpipe " + (version == null ? "0.1.0-SNAPSHOT (source tree)" : version),
                "Kafka clients " + AppInfoParser.getVersion() + ", Java " + System.getProperty("java.version")};
        }
    }
}
