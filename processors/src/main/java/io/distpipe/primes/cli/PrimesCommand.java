package io.distpipe.primes.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.primes.job.PrimesJob;
import io.distpipe.primes.job.Progress;
import io.distpipe.primes.job.Summary;
import io.distpipe.primes.plan.Coordinator;
import io.distpipe.primes.plan.NumberParser;
import io.distpipe.topics.Topics;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code distpipe primes}: the primes system's commands, and on its own ({@code distpipe primes --input DIR}, the same
 * as {@code primes run}) one job that finds every distinct prime in a folder of number files.
 */
@Command(name = "primes", mixinStandardHelpOptions = true,
    description = {"Find every distinct prime in the number files of a directory and write them, ascending, one per "
        + "line (the same as primes run).", "Without --bootstrap-servers an embedded Kafka broker is started for the "
        + "run. The subcommands run the parts of a long-running system and its tools."},
    subcommands = {PrimesCommand.Run.class, WorkerCommand.class, CoordinatorCommand.class, DedupCommand.class,
        StatusCommand.class, RestoreCommand.class, PrimesBench.class})
public final class PrimesCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    RunOptions options;

    @Override
    public Integer call() throws Exception {
        return options.run(spec);
    }

    /** {@code distpipe primes run}. */
    @Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Find every distinct prime in the number files of a directory and write them, ascending, one "
            + "per line.", "Without --bootstrap-servers an embedded Kafka broker is started for the run."})
    static final class Run implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        RunOptions options;

        @Override
        public Integer call() throws Exception {
            return options.run(spec);
        }
    }

    /** The options of one job. */
    static final class RunOptions {
    @Option(names = {"-i", "--input"}, paramLabel = "DIR",
            description = "Directory of input files: one integer per line; every regular, non-hidden file is read.")
        Path input;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE", defaultValue = "primes.txt",
            description = "Output file (default: ${DEFAULT-VALUE}); rejected lines go to FILE.rejected.tsv.")
        Path output;

        @Option(names = {"-w", "--workers"}, paramLabel = "N", description = "Worker count (default: number of cores).")
        Integer workers;

        @Option(names = "--fail-on-reject", description = "Exit with code 1 if any input line was rejected.")
        boolean failOnReject;

        @Option(names = "--chunk-size", paramLabel = "N", defaultValue = "" + Coordinator.CHUNK_NUMBERS_DEFAULT,
            description = "Numbers per task (default: ${DEFAULT-VALUE}); numbers longer than 64 bits count more, by "
                + "the cost of testing them.")
        int chunkSize;

        @Option(names = "--max-digits", paramLabel = "N", defaultValue = "" + NumberParser.DEFAULT_MAX_DIGITS,
            description = "Longest accepted number, in digits (default: ${DEFAULT-VALUE}).")
        int maxDigits;

        @Mixin
        ClusterOptions cluster;

        /** Runs one job with these options; {@code spec} is the command they were given to. */
        Integer run(CommandLine.Model.CommandSpec spec) throws Exception {
            if (input == null) {
                // Not required at parse time: "distpipe primes worker ..." must parse without it.
                throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--input=DIR'");
            }
            int workerCount = workers == null ? Runtime.getRuntime().availableProcessors() : workers;
            if (workerCount < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--workers must be at least 1");
            }
            Path workDir = Files.createTempDirectory("distpipe-primes-");
            PrintWriter out = spec.commandLine().getOut();
            Progress progress = new Progress(spec.commandLine().getErr(), System.console() != null);
            try {
                PrimesJob.Result result = new PrimesJob(new PrimesJob.Config(input, output, workerCount,
                    cluster.bootstrapServers, cluster.registryUrl, chunkSize, maxDigits, workDir), progress).run();
                progress.finish();
                Summary.print(out, result);
                if (result.deadLettered() > 0) {
                    spec.commandLine().getErr().println("distpipe primes: " + result.deadLettered()
                        + " records dead-lettered, output incomplete (see " + Topics.PRIMES_TASKS_DLQ.name() + " and "
                        + Topics.PRIMES_FOUND_DLQ.name() + ").");
                    return Cli.EXIT_FAILURE;
                }
                if (failOnReject && result.status().getRejectedLines() > 0) {
                    spec.commandLine().getErr().println("distpipe primes: " + result.status().getRejectedLines()
                        + " input lines were rejected (--fail-on-reject); see " + result.rejectedReport() + ".");
                    return Cli.EXIT_FAILURE;
                }
                return Cli.EXIT_OK;
            } finally {
                progress.finish();
                try (Stream<Path> paths = Files.walk(workDir)) {
                    paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }
}
