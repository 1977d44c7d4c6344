package io.distpipe.mapreduce.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.Daemon;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.common.command.Logs;
import io.distpipe.common.command.ServiceCommand;
import io.distpipe.mapreduce.MrJobOutcome;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.mapreduce.MrTaskPhase;
import io.distpipe.mapreduce.MrTaskState;
import io.distpipe.mapreduce.MrTaskStatus;
import io.distpipe.mapreduce.engine.Apps;
import io.distpipe.mapreduce.engine.CrashApp;
import io.distpipe.mapreduce.engine.JobWatcher;
import io.distpipe.mapreduce.engine.MrClient;
import io.distpipe.mapreduce.engine.MrCoordinator;
import io.distpipe.mapreduce.engine.MrRun;
import io.distpipe.mapreduce.engine.MrWorker;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code distpipe mr}: the MapReduce job engine (submit, status, worker, coordinator). */
@Command(name = "mr", mixinStandardHelpOptions = true,
    description = "MapReduce over topics: map and reduce tasks on Kafka, the shuffle is Kafka partitioning.",
    subcommands = {MrCommand.Submit.class, MrCommand.Status.class, MrCommand.Worker.class,
        MrCommand.Coordinator.class, MrBench.class})
public final class MrCommand {

    /** Prints each state transition (and progress within a phase) of one job. */
    static final class Follower implements java.util.function.Consumer<MrJobStatus> {
        private final PrintWriter out;
        private long started;
        private MrJobStatus last;

        Follower(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void accept(MrJobStatus s) {
            if (last == null) {
                started = System.nanoTime();
            }
            double t = (System.nanoTime() - started) / 1e9;
            if (last == null || last.getState() != s.getState() || last.getOutcome() != s.getOutcome()) {
                out.printf("[%6.1f s] %-12s%s%n", t, s.getState(), s.getState().name().equals("ERROR")
                    ? " " + s.getReason() : s.getOutcome() != MrJobOutcome.PENDING ? " " + s.getOutcome()
                    + (s.getReason() == null ? "" : ": " + s.getReason()) : "");
            } else if (last.getMapDone() != s.getMapDone() || last.getReduceDone() != s.getReduceDone()) {
                out.printf("[%6.1f s]   map %d/%d, reduce %d/%d%n", t, s.getMapDone(), s.getInputFiles().size(),
                    s.getReduceDone(), s.getNReduce());
            }
            out.flush();
            last = s;
        }
    }

    @Command(name = "submit", mixinStandardHelpOptions = true, description = {
        "Run a MapReduce job and wait for it: prints the job id, each state transition and progress, then a summary.",
        "Without --bootstrap-servers an embedded broker, the coordinator and --workers workers are started for the "
            + "run; with it, the job goes to the coordinator and workers of that cluster (distpipe mr coordinator / "
            + "mr worker)."})
    static final class Submit implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--app", required = true, paramLabel = "APP",
            description = "Application: wc, indexer, primes or crash (wc whose tasks crash at random when "
                + "DISTPIPE_MR_CRASH=1).")
        String app;

        @Option(names = {"-i", "--input"}, required = true, paramLabel = "DIR",
            description = "Directory of input files; one map task per file.")
        Path input;

        @Option(names = "--glob", paramLabel = "GLOB", defaultValue = "*",
            description = "Which files of DIR to read (default ${DEFAULT-VALUE}, hidden files never).")
        String glob;

        @Option(names = "--reduces", paramLabel = "N", defaultValue = "10",
            description = "Reduce tasks = intermediate partitions = output files (default ${DEFAULT-VALUE}).")
        int reduces;

        @Option(names = {"-o", "--output"}, paramLabel = "DIR", defaultValue = "mr-output",
            description = "Directory for mr-out-<r> (default ${DEFAULT-VALUE}).")
        Path output;

        @Option(names = "--overwrite", description = "Replace mr-out-* files already in the output directory.")
        boolean overwrite;

        @Option(names = {"-w", "--workers"}, paramLabel = "N",
            description = "Workers to start for an embedded run (default: number of cores).")
        Integer workers;

        @Option(names = "--worker-jvms", description = "Run the workers as child JVMs instead of threads; one that dies is started again.")
        boolean workerJvms;

        @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "30m",
            converter = HeartbeatOptions.DurationConverter.class,
            description = "Give up waiting after this long (default ${DEFAULT-VALUE}).")
        Duration timeout;

        @Mixin
        ClusterOptions cluster;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            if (Apps.byName(app).isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "unknown --app " + app + " (known: "
                    + Apps.names() + ")");
            }
            if (reduces < 1 || reduces > MrCoordinator.MAX_REDUCES) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--reduces must be between 1 and "
                    + MrCoordinator.MAX_REDUCES);
            }
            int workerCount = workers == null ? Runtime.getRuntime().availableProcessors() : workers;
            if (workerCount < 0 || (workerCount == 0 && cluster.bootstrapServers == null)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--workers must be at least 1");
            }
            if (CrashApp.enabled() && cluster.bootstrapServers == null && !workerJvms) {
                throw new CommandLine.ParameterException(spec.commandLine(), CrashApp.SWITCH_ENV + "=1 makes "
                    + "crash-app tasks halt their JVM: use --worker-jvms (crashed workers are restarted)");
            }
            List<String> files = MrClient.inputFiles(input, glob);
            prepareOutput();
            String jobId = MrClient.newJobId(app);
            out.printf("Job %s: %s on %d files of %s, %d reduces, output in %s%n", jobId, app, files.size(), input,
                reduces, output.toAbsolutePath());
            out.flush();
            long[] jobNanos = new long[2];
            MrJobStatus end;
            Follower follower = new Follower(out);
            if (cluster.bootstrapServers == null) {
                out.printf("Starting an embedded broker, the coordinator and %d %s...%n", workerCount,
                    workerJvms ? "worker JVMs" : "worker threads");
                out.flush();
                try (MrRun run = MrRun.start(Path.of(System.getProperty(Logs.DIR_PROPERTY, "logs")))) {
                    run.addWorkers(workerCount, workerJvms);
                    jobNanos[0] = System.nanoTime();
                    end = run.runJob(jobId, app, files, reduces, output, timeout, follower);
                    jobNanos[1] = System.nanoTime();
                    out.println("Stopping the workers, the coordinator and the broker...");
                    out.flush();
                }
            } else {
                AvroSerdes serdes = AvroSerdes.connect(cluster.registryUrl);
                try (MrClient client = new MrClient(cluster.bootstrapServers, "mr-submit", serdes)) {
                    jobNanos[0] = System.nanoTime();
                    client.submit(jobId, app, files, reduces, output);
                    end = client.await(jobId, timeout, follower);
                    jobNanos[1] = System.nanoTime();
                }
            }
            double seconds = (jobNanos[1] - jobNanos[0]) / 1e9;
            if (end.getOutcome() != MrJobOutcome.SUCCEEDED) {
                spec.commandLine().getErr().println("distpipe mr submit: job " + jobId + " failed: "
                    + end.getReason());
                return Cli.EXIT_FAILURE;
            }
            long lines = 0;
            for (int r = 0; r < reduces; r++) {
                try (Stream<String> l = Files.lines(output.resolve("mr-out-" + r))) {
                    lines += l.count();
                }
            }
            out.printf("Job %s SUCCEEDED in %.1f s (submit to done): %d map tasks, %d reduce tasks, %d output lines in %d files "
                + "%s/mr-out-0..%d%n", jobId, seconds, files.size(), reduces, lines, reduces, output.toAbsolutePath(),
                reduces - 1);
            if (!end.getDeadLettered().isEmpty()) {
                out.printf("%s%n", MrCommand.deadLettered(end));
            }
            out.flush();
            return Cli.EXIT_OK;
        }

        private void prepareOutput() throws IOException {
            Files.createDirectories(output);
            List<Path> old;
            try (Stream<Path> list = Files.list(output)) {
                old = list.filter(p -> p.getFileName().toString().startsWith("mr-out-")).toList();
            }
            if (!old.isEmpty() && !overwrite) {
                throw new IOException("Output directory " + output + " already holds " + old.size()
                    + " mr-out-* files; use --overwrite or another --output");
            }
            for (Path p : old) {
                Files.delete(p);
            }
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = {
        "Show MapReduce jobs: all of them, or one with its task counts and per-worker progress.",
        "Without --bootstrap-servers it reads the system started by bin/start_system.sh."})
    static final class Status implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(arity = "0..1", paramLabel = "JOB", description = "Job id (default: every job).")
        String job;

        @Mixin
        ClusterOptions cluster;

        @Override
        public Integer call() throws Exception {
            Daemon.requireCluster(cluster, spec);
            PrintWriter out = spec.commandLine().getOut();
            AvroSerdes serdes = AvroSerdes.connect(cluster.registryUrl);
            Map<String, MrJobStatus> jobs;
            try (JobWatcher watcher = new JobWatcher(cluster.bootstrapServers, "mr-status", serdes)) {
                watcher.catchUp(Duration.ofSeconds(KafkaClients.REACH_TIMEOUT_MS / 1000));
                jobs = watcher.all();
            }
            if (job == null) {
                if (jobs.isEmpty()) {
                    out.println("No MapReduce jobs.");
                }
                String format = "%-28s %-8s %-12s %-10s %9s %9s  %s%n";
                out.printf(format, "JOB", "APP", "STATE", "OUTCOME", "MAPS", "REDUCES", "UPDATED");
                for (MrJobStatus s : jobs.values()) {
                    out.printf(format, s.getJobId(), s.getApp(), s.getState(), s.getOutcome(),
                        s.getMapDone() + "/" + s.getInputFiles().size(), s.getReduceDone() + "/" + s.getNReduce(),
                        s.getUpdatedAt());
                }
                long dead = deadLetteredCommands();
                if (dead > 0) {
                    out.printf("%d unreadable job command%s dead-lettered to %s; no job ran for %s (its job, when "
                        + "the key names one, is FAILED with the reason).%n", dead, dead == 1 ? "" : "s",
                        Topics.MR_COMMANDS_DLQ.name(), dead == 1 ? "it" : "them");
                }
                out.flush();
                return Cli.EXIT_OK;
            }
            MrJobStatus s = jobs.get(job);
            if (s == null) {
                spec.commandLine().getErr().println("distpipe mr status: no job " + job + " (known: "
                    + String.join(", ", jobs.keySet()) + ").");
                return Cli.EXIT_FAILURE;
            }
            out.printf("Job %s (%s)%n  state      %s%s%n  outcome    %s%n", s.getJobId(), s.getApp(), s.getState(),
                s.getPreviousState() == null ? "" : " (before the error: " + s.getPreviousState() + ")",
                s.getOutcome());
            if (s.getReason() != null) {
                out.printf("  reason     %s%n", s.getReason());
            }
            if (!s.getDeadLettered().isEmpty()) {
                out.printf("  dead       %s%n", deadLettered(s));
            }
            out.printf("  maps       %d/%d done%n  reduces    %d/%d done%n  failures   %d task attempts%n"
                + "  output     %s%n  submitted  %s, updated %s, %d transitions%n", s.getMapDone(),
                s.getInputFiles().size(), s.getReduceDone(), s.getNReduce(), s.getTaskFailures(), s.getOutputDir(),
                s.getSubmittedAt(), s.getUpdatedAt(), s.getTransitions());
            Map<String, long[]> perWorker = perWorker(serdes, job);
            if (!perWorker.isEmpty()) {
                out.printf("  %-20s %5s %7s %7s%n", "WORKER", "MAPS", "REDUCES", "FAILED");
                perWorker.forEach((w, c) -> out.printf("  %-20s %5d %7d %7d%n", w, c[0], c[1], c[2]));
            }
            out.flush();
            return Cli.EXIT_OK;
        }

        /** Per worker: map tasks done, reduce tasks done, failed attempts (committed task statuses). */
        /** How many commands the coordinator dead-lettered (committed records of mr.jobs.commands.dlq). */
        private long deadLetteredCommands() {
            Map<String, Object> props = KafkaClients.consumer(cluster.bootstrapServers, null, "mr-status-dlq",
                KafkaClients.SESSION_TIMEOUT_MS_DEFAULT);
            props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
            long count = 0;
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props)) {
                if (c.partitionsFor(Topics.MR_COMMANDS_DLQ.name()).isEmpty()) {
                    return 0;
                }
                TopicPartition tp = new TopicPartition(Topics.MR_COMMANDS_DLQ.name(), 0);
                c.assign(List.of(tp));
                c.seekToBeginning(List.of(tp));
                long end = c.endOffsets(List.of(tp)).get(tp);
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (c.position(tp) < end && System.nanoTime() < deadline) {
                    count += c.poll(Duration.ofMillis(200)).count();
                }
            }
            return count;
        }

        private Map<String, long[]> perWorker(AvroSerdes serdes, String jobId) {
            Map<String, long[]> result = new TreeMap<>();
            TopicPartition tp = new TopicPartition(Topics.MR_TASK_STATUS.name(), 0);
            var reader = serdes.valueSerde(Topics.MR_TASK_STATUS).deserializer();
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(KafkaClients.consumer(
                cluster.bootstrapServers, null, "mr-status-tasks", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
                c.assign(List.of(tp));
                c.seekToBeginning(List.of(tp));
                long end = c.endOffsets(List.of(tp)).get(tp);
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (c.position(tp) < end && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                        MrTaskStatus s;
                        try {
                            s = reader.deserialize(r.topic(), r.headers(), r.value());
                        } catch (SerializationException e) {
                            // Dead-lettered by the coordinator and counted in the job's status; not a report here.
                            continue;
                        }
                        if (s != null && s.getJobId().equals(jobId)) {
                            long[] counts = result.computeIfAbsent(s.getWorkerId(), w -> new long[3]);
                            if (s.getState() == MrTaskState.FAILED) {
                                counts[2]++;
                            } else {
                                counts[s.getPhase() == MrTaskPhase.MAP ? 0 : 1]++;
                            }
                        }
                    }
                }
            }
            return result;
        }
    }

    @Command(name = "worker", mixinStandardHelpOptions = true, description = {
        "Run one MapReduce worker (joins the worker group of a running cluster) until stopped.",
        "Input files are read from the paths in the tasks: workers share the submitter's file system."})
    static final class Worker extends ServiceCommand {
        @Option(names = "--id", required = true, paramLabel = "ID", description = "Member id, e.g. worker-2.")
        String id;

        @Override
        protected int serve() throws Exception {
            MrWorker worker = MrWorker.create(MrWorker.Config.defaults(id, cluster.bootstrapServers), serdes());
            serve(id, "mr-worker", worker::close, worker::start, worker::run);
            return Cli.EXIT_OK;
        }
    }

    @Command(name = "coordinator", mixinStandardHelpOptions = true, description = {
        "Run the MapReduce coordinator until stopped: takes submitted jobs in order and drives each through "
            + "its states; a restarted coordinator resumes the running job from the jobs-status topic."})
    static final class Coordinator extends ServiceCommand {
        @Option(names = "--max-retries", paramLabel = "N", defaultValue = "" + MrCoordinator.MAX_RETRIES_DEFAULT,
            description = "Retries of a failed task before its job fails (default ${DEFAULT-VALUE}).")
        int maxRetries;

        @Override
        protected int serve() throws Exception {
            MrCoordinator coordinator = new MrCoordinator(new MrCoordinator.Config("mr-coordinator",
                cluster.bootstrapServers, maxRetries, 3), serdes());
            serve(coordinator.id(), "mr-coordinator", coordinator::close, coordinator::start, coordinator::run);
            return Cli.EXIT_OK;
        }
    }

    /** How a job's result says that task statuses were dead-lettered while it ran. */
    static String deadLettered(MrJobStatus s) {
        return s.getDeadLettered().size() + " unreadable task status record" + (s.getDeadLettered().size() == 1 ? ""
            : "s") + " dead-lettered to " + Topics.MR_TASK_STATUS_DLQ.name() + " (offsets " + s.getDeadLettered()
            + "); the job did not act on them.";
    }
}
