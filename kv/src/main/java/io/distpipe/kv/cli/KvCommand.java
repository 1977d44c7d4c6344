package io.distpipe.kv.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.LocalKafka;
import io.distpipe.common.Ports;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.common.command.Logs;
import io.distpipe.common.command.ServiceCommand;
import io.distpipe.kv.store.History;
import io.distpipe.kv.store.KvClient;
import io.distpipe.kv.store.KvCoordinator;
import io.distpipe.kv.store.KvLocal;
import io.distpipe.kv.store.KvSerdes;
import io.distpipe.kv.store.KvShell;
import io.distpipe.kv.store.KvWorker;
import io.distpipe.topics.serde.AvroSerdes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code distpipe kv}: the replicated key-value store (a coordinator and N workers, two-phase commit). */
@Command(name = "kv", mixinStandardHelpOptions = true,
    description = {"Replicated key-value store: every write is a two-phase commit across all workers, over topics.",
        "kv up starts a store in the background (run/kv/), kv shell talks to it (or to a local one), kv down stops "
            + "it."},
    subcommands = {KvCommand.Up.class, KvCommand.Down.class, KvCommand.WorkerCmd.class,
        KvCommand.CoordinatorCmd.class, KvCommand.Shell.class, KvCommand.Get.class, KvCommand.Set.class,
        KvCommand.Db.class, KvCommand.Verify.class, KvCommand.RapidSet.class, KvCommand.MultiSet.class,
        KvBench.class})
final class KvCommand {

    KvCommand() {
    }

    /** run/kv: where kv up records its processes and the cluster it uses. */
    static Path runDir() {
        return ClusterOptions.runDirectory().resolve("kv");
    }

    static Path logDir() {
        return Path.of(System.getProperty(Logs.DIR_PROPERTY, "logs")).toAbsolutePath();
    }

    /** Fills in the cluster of a store started by kv up (run/kv/bootstrap) when none is given. */
    static void orRunningStore(ClusterOptions cluster) throws IOException {
        Path bootstrap = runDir().resolve("bootstrap");
        // A store whose processes all died (a reboot, kill -9) is not running: its record is stale.
        if (cluster.bootstrapServers == null && Files.isReadable(bootstrap) && !alive(runDir()).isEmpty()) {
            cluster.bootstrapServers = Files.readString(bootstrap).strip();
        }
        Path registry = runDir().resolve("registry-url");
        if (ClusterOptions.REGISTRY_DEFAULT.equals(cluster.registryUrl) && Files.isReadable(registry)) {
            cluster.registryUrl = Files.readString(registry).strip();
        }
    }

    static void requireStore(ClusterOptions cluster, CommandLine.Model.CommandSpec spec) throws IOException {
        orRunningStore(cluster);
        if (cluster.bootstrapServers == null) {
            throw new IllegalStateException("No key-value store runs here (start one with 'distpipe kv up', or give "
                + "--bootstrap-servers of one)");
        }
        KafkaClients.requireReachable(cluster.bootstrapServers);
    }

    /** The options of every client command. */
    static final class ClientOptions {
        @Option(names = "--history", paramLabel = "FILE.jsonl",
            description = "Append every operation (invoke, then ok/fail/info) to this JSON-lines file.")
        Path history;

        @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "30s",
            converter = HeartbeatOptions.DurationConverter.class,
            description = "How long to wait for each answer (default ${DEFAULT-VALUE}).")
        Duration timeout;
    }

    /** Runs shell lines against a store and prints one result line per command. */
    static int runLines(KvClient client, ClientOptions options, Iterable<String> lines, PrintStream out,
                        PrintStream err, boolean prompt) throws IOException, InterruptedException {
        int failed = 0;
        History history = options.history == null ? null : History.open(options.history);
        try {
            KvShell shell = new KvShell(client, history, err);
            if (prompt) {
                out.print("kv> ");
                out.flush();
            }
            for (String line : lines) {
                String command = line.strip().toLowerCase(java.util.Locale.ROOT);
                if (command.equals("quit") || command.equals("exit")) {
                    break;
                }
                KvShell.Result result = shell.execute(line);
                if (result != null) {
                    out.println(result.line());
                    failed += result.ok() ? 0 : 1;
                }
                if (history != null) {
                    history.flush();
                }
                if (prompt) {
                    out.print("kv> ");
                    out.flush();
                }
            }
        } finally {
            if (history != null) {
                history.close();
            }
        }
        return failed == 0 ? Cli.EXIT_OK : Cli.EXIT_FAILURE;
    }

    /** A one-shot client command: one shell line against the running store. */
    abstract static class OneShot implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        ClusterOptions cluster;

        @CommandLine.ArgGroup(exclusive = false)
        ClientOptions options = new ClientOptions();

        abstract String line();

        @Override
        public Integer call() throws Exception {
            requireStore(cluster, spec);
            AvroSerdes avro = AvroSerdes.connect(cluster.registryUrl);
            KvSerdes.prepare(cluster.bootstrapServers, avro, 3);
            try (KvClient client = KvClient.open(cluster.bootstrapServers, new KvSerdes(avro), options.timeout)) {
                return runLines(client, options, List.of(line()), System.out, System.err, false);
            }
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Print the value of KEY.")
    static final class Get extends OneShot {
        @Parameters(paramLabel = "KEY")
        String key;

        @Override
        String line() {
            return "get " + key;
        }
    }

    @Command(name = "set", mixinStandardHelpOptions = true, description = "Set KEY to VALUE (one transaction).")
    static final class Set extends OneShot {
        @Parameters(index = "0", paramLabel = "KEY")
        String key;

        @Parameters(index = "1", paramLabel = "VALUE")
        String value;

        @Override
        String line() {
            return "set " + key + " " + value;
        }
    }

    @Command(name = "db", mixinStandardHelpOptions = true, description = "Print every key and value.")
    static final class Db extends OneShot {
        @Override
        String line() {
            return "db";
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Check that every worker of the pool holds an identical database (hash).")
    static final class Verify extends OneShot {
        @Override
        String line() {
            return "verify";
        }
    }

    @Command(name = "rapidset", mixinStandardHelpOptions = true,
        description = "N sequential SETs on one key; checks the first committed and the final value is the last.")
    static final class RapidSet extends OneShot {
        @Parameters(index = "0", paramLabel = "N", description = "How many SETs (at least 1).")
        int n;

        @Parameters(index = "1", paramLabel = "KEY", arity = "0..1", defaultValue = "rapid",
            description = "The key (default ${DEFAULT-VALUE}).")
        String key;

        @Override
        String line() {
            return "rapidset " + n + " " + key;
        }
    }

    @Command(name = "multiset", mixinStandardHelpOptions = true,
        description = "N SETs on different keys in one transaction (all or none), then read back and verify.")
    static final class MultiSet extends OneShot {
        @Parameters(paramLabel = "N")
        int n;

        @Override
        String line() {
            return "multiset " + n;
        }
    }

    @Command(name = "shell", mixinStandardHelpOptions = true, description = {
        "Read kv commands from the terminal or standard input, one result line each; exit 1 if any failed.",
        "Connects to the store kv up started; without one, runs a local store (embedded broker, coordinator, "
            + "workers) for the session.", "Commands:", KvShell.HELP})
    static final class Shell implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        ClusterOptions cluster;

        @CommandLine.ArgGroup(exclusive = false)
        ClientOptions options = new ClientOptions();

        @Option(names = "--workers", paramLabel = "N", defaultValue = "3",
            description = "Workers of a local store (default ${DEFAULT-VALUE}).")
        int workers;

        @Override
        public Integer call() throws Exception {
            if (workers < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--workers must be at least 1");
            }
            orRunningStore(cluster);
            KafkaCluster kafka = null;
            KvLocal local = null;
            try {
                AvroSerdes avro = AvroSerdes.connect(cluster.registryUrl);
                if (cluster.bootstrapServers == null) {
                    System.err.println("kv shell: no store runs; starting a local one with " + workers
                        + " workers (embedded broker)...");
                    kafka = LocalKafka.get().startEmbedded();
                    cluster.bootstrapServers = kafka.bootstrapServers();
                    local = KvLocal.start(cluster.bootstrapServers, avro, workers, true);
                    System.err.println("kv shell: ready (type help).");
                } else {
                    KvSerdes.prepare(cluster.bootstrapServers, avro, 3);
                }
                boolean terminal = System.console() != null;
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                try (KvClient client = KvClient.open(cluster.bootstrapServers, new KvSerdes(avro), options.timeout)) {
                    return runLines(client, options, () -> in.lines().iterator(), System.out, System.err, terminal);
                }
            } finally {
                if (local != null) {
                    local.close();
                }
                if (kafka != null) {
                    kafka.close();
                }
            }
        }
    }

    @Command(name = "worker", mixinStandardHelpOptions = true, description = {
        "Run one worker (replays the log, then votes and applies) until stopped; a worker that was removed from "
            + "the pool catches up and joins again.", "With --background: start it as its own process and return."})
    static final class WorkerCmd extends ServiceCommand {
        @Option(names = "--id", required = true, paramLabel = "ID", description = "Worker id, e.g. W2.")
        String id;

        @Option(names = "--background", description = "Start it as a separate process (recorded in run/kv/).")
        boolean background;

        @Option(names = "--no-transactions", description = "Send votes and acknowledgements without Kafka "
            + "transactions (for the benchmark's comparison; answers may then repeat after a crash).")
        boolean noTransactions;

        @Override
        protected void requireCluster() throws Exception {
            requireStore(cluster, spec);
        }

        @Override
        protected int serve() throws Exception {
            if (background) {
                ChildJvm p = KvProcess.spec(id, runDir(), logDir(), "256m", List.of("kv", "worker", "--id", id,
                    "--bootstrap-servers", cluster.bootstrapServers, "--registry-url", cluster.registryUrl)).start();
                System.out.println("started worker " + id + " (pid " + p.pid() + ", log " + logDir().resolve(id
                    + ".log") + ")");
                return Cli.EXIT_OK;
            }
            KvSerdes.prepare(cluster.bootstrapServers, serdes(), 3);
            KvWorker worker = new KvWorker(new KvWorker.Config(id, cluster.bootstrapServers,
                KvWorker.Config.TRANSACTION_TIMEOUT_MS_DEFAULT, !noTransactions), new KvSerdes(serdes()));
            serve(id, "kv-worker", worker::stop, worker::start, () -> {
                try {
                    worker.run();
                } finally {
                    worker.close();
                }
            });
            return Cli.EXIT_OK;
        }
    }

    @Command(name = "coordinator", mixinStandardHelpOptions = true, description = {
        "Run one coordinator until stopped: active when it owns kv.requests, else a standby that takes over (and "
            + "aborts the transactions in doubt) when the active one dies."})
    static final class CoordinatorCmd extends ServiceCommand {
        static final int MIN_VOTE_TIMEOUT_MS = 200;

        @Option(names = "--id", required = true, paramLabel = "ID", description = "Coordinator id, e.g. C1.")
        String id;

        @Option(names = "--vote-timeout-ms", paramLabel = "MS",
            defaultValue = "" + KvCoordinator.Config.VOTE_TIMEOUT_MS_DEFAULT,
            description = "A worker that has not voted (or answered a read) by then leaves the pool and the "
                + "transaction aborts (default ${DEFAULT-VALUE}).")
        int voteTimeoutMs;

        @Override
        protected void requireCluster() throws Exception {
            // It is also the acknowledgement timeout, and workers hold an acknowledgement up to 50 ms to send it
            // with their next vote: a shorter one would remove healthy workers.
            if (voteTimeoutMs < MIN_VOTE_TIMEOUT_MS) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--vote-timeout-ms must be at least "
                    + MIN_VOTE_TIMEOUT_MS + " (workers hold acknowledgements up to 50 ms), got " + voteTimeoutMs);
            }
            requireStore(cluster, spec);
        }

        @Override
        protected int serve() throws Exception {
            KvSerdes.prepare(cluster.bootstrapServers, serdes(), 3);
            KvCoordinator.Config defaults = KvCoordinator.Config.of(id, cluster.bootstrapServers);
            KvCoordinator coordinator = new KvCoordinator(new KvCoordinator.Config(id, cluster.bootstrapServers,
                voteTimeoutMs, voteTimeoutMs, defaults.sessionTimeoutMs(), defaults.transactionTimeoutMs(),
                defaults.replyWindowMs()), new KvSerdes(serdes()));
            serve(id, "kv-coordinator", coordinator::stop, coordinator::start, () -> {
                try {
                    coordinator.run();
                } finally {
                    coordinator.close();
                }
            });
            return coordinator.failure() == null ? Cli.EXIT_OK : Cli.EXIT_FAILURE;
        }
    }

    @Command(name = "up", mixinStandardHelpOptions = true, description = {
        "Start a key-value store in the background: an embedded broker (unless --bootstrap-servers), coordinators "
            + "(one active, the others standby) and workers, each its own process with its log in logs/."})
    static final class Up implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--workers", paramLabel = "N", defaultValue = "3",
            description = "Workers (default ${DEFAULT-VALUE}).")
        int workers;

        @Option(names = "--coordinators", paramLabel = "N", defaultValue = "2",
            description = "Coordinators: one active, the others standby (default ${DEFAULT-VALUE}).")
        int coordinators;

        @Mixin
        ClusterOptions cluster;

        @Override
        public Integer call() throws Exception {
            if (workers < 1 || coordinators < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                    "--workers and --coordinators must be at least 1");
            }
            Path run = runDir();
            List<String> alive = alive(run);
            if (!alive.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "a key-value store already runs ("
                    + String.join(", ", alive) + "); stop it with 'distpipe kv down'");
            }
            Files.createDirectories(run);
            List<ChildJvm> started = new ArrayList<>();
            try {
                if (cluster.bootstrapServers == null) {
                    // The same ports on every start: a KRaft node's stored quorum names its controller's address.
                    Path portsFile = run.resolve("broker-ports");
                    List<Integer> ports = Files.exists(portsFile) ? Stream.of(Files.readString(portsFile).strip()
                        .split(" ")).map(Integer::valueOf).toList() : Ports.freePorts(2);
                    Files.writeString(portsFile, ports.get(0) + " " + ports.get(1) + "\n");
                    System.out.println("starting an embedded broker...");
                    ChildJvm broker = KvProcess.spec("kv-broker", run, logDir(), "512m", List.of("broker",
                        "--node-id", "1", "--data-dir", run.resolve("kafka").toAbsolutePath().toString(), "--port",
                        ports.get(0).toString(), "--controller-port", ports.get(1).toString())).start();
                    started.add(broker);
                    cluster.bootstrapServers = broker.readyText();
                }
                Files.writeString(run.resolve("bootstrap"), cluster.bootstrapServers + "\n");
                Files.writeString(run.resolve("registry-url"), cluster.registryUrl + "\n");
                AvroSerdes avro = AvroSerdes.connect(cluster.registryUrl);
                KvSerdes.prepare(cluster.bootstrapServers, avro, 3);
                List<String> common = List.of("--bootstrap-servers", cluster.bootstrapServers, "--registry-url",
                    cluster.registryUrl);
                // Launched together, awaited one by one: JVM start-ups overlap.
                List<ChildJvm> launched = new ArrayList<>();
                for (int i = 1; i <= coordinators; i++) {
                    launched.add(launch("C" + i, "coordinator", common));
                }
                for (int i = 1; i <= workers; i++) {
                    launched.add(launch("W" + i, "worker", common));
                }
                started.addAll(launched);
                for (ChildJvm l : launched) {
                    l.awaitReady();
                }
                KvLocal.awaitPool(cluster.bootstrapServers, new KvSerdes(avro), workers, Duration.ofSeconds(90));
            } catch (Exception e) {
                for (ChildJvm p : started) {
                    p.stop(Duration.ofSeconds(10));
                }
                throw e;
            }
            System.out.printf("%-10s %-8s %s%n", "PROCESS", "PID", "LOG");
            for (ChildJvm p : started) {
                System.out.printf("%-10s %-8d %s%n", p.id(), p.pid(), logDir().resolve(p.id() + ".log"));
            }
            System.out.println("key-value store up: bootstrap " + cluster.bootstrapServers + ", " + workers
                + " workers in the pool; try 'bin/distpipe kv shell' or 'bin/distpipe kv set k v'; "
                + "stop with 'bin/distpipe kv down'.");
            return Cli.EXIT_OK;
        }

        static ChildJvm launch(String name, String role, List<String> common) throws IOException {
            List<String> args = new ArrayList<>(List.of("kv", role, "--id", name));
            args.addAll(common);
            return KvProcess.spec(name, runDir(), logDir(), "256m", args).launch();
        }
    }

    /** Names of the recorded processes that still run. */
    static List<String> alive(Path run) throws IOException {
        List<String> alive = new ArrayList<>();
        for (Path pid : pidFiles(run)) {
            if (handle(pid).map(ProcessHandle::isAlive).orElse(false)) {
                alive.add(pid.getFileName().toString().replace(".pid", ""));
            }
        }
        return alive;
    }

    static List<Path> pidFiles(Path run) throws IOException {
        if (!Files.isDirectory(run)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(run)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".pid")).sorted().toList();
        }
    }

    static java.util.Optional<ProcessHandle> handle(Path pidFile) throws IOException {
        try {
            return ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip()));
        } catch (NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true,
        description = "Stop the store kv up started: workers, coordinators, then the broker (SIGTERM, then KILL).")
    static final class Down implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            Path run = runDir();
            List<Path> pids = new ArrayList<>(pidFiles(run));
            if (pids.isEmpty()) {
                System.out.println("no key-value store was started here (" + run + " has no processes)");
                return Cli.EXIT_OK;
            }
            // Workers first, the broker last: every process can say goodbye while the broker still serves.
            pids.sort(Comparator.comparingInt(p -> p.getFileName().toString().startsWith("W") ? 0
                : p.getFileName().toString().startsWith("C") ? 1 : 2));
            int stopped = 0;
            for (Path pid : pids) {
                String name = pid.getFileName().toString().replace(".pid", "");
                java.util.Optional<ProcessHandle> h = handle(pid);
                if (h.isPresent() && ChildJvm.stop(h.get(), Duration.ofSeconds(20))) {
                    System.out.println("stopped " + name + " (pid " + h.get().pid() + ")");
                    stopped++;
                }
                Files.deleteIfExists(pid);
            }
            Files.deleteIfExists(run.resolve("bootstrap"));
            Files.deleteIfExists(run.resolve("registry-url"));
            System.out.println("key-value store down: " + stopped + " processes stopped");
            return Cli.EXIT_OK;
        }
    }
}
