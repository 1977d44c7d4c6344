package io.distpipe.mapreduce.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import io.distpipe.common.command.Cli;
import io.distpipe.mapreduce.MrJobOutcome;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.mapreduce.engine.Corpus;
import io.distpipe.mapreduce.engine.MrClient;
import io.distpipe.mapreduce.engine.MrRun;
import io.distpipe.mapreduce.engine.Sequential;
import io.distpipe.mapreduce.engine.WordCount;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code distpipe bench mr} (also {@code mr bench}): word count with 1, 2, 4 workers against the sequential one. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = {
    "Run wc with 1, 2 and 4 worker threads (one embedded broker for all runs) and, in the same run, the sequential "
        + "in-process word count; print each time, the ratio to sequential and whether the outputs are equal.",
    "The input is the generated test corpus (8 files, about 4 MB) unless --input names a directory of texts."})
final class MrBench implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-i", "--input"}, paramLabel = "DIR",
        description = "Directory of texts to count instead of the generated corpus (the MIT pg-*.txt, say).")
    Path input;

    @Option(names = "--glob", paramLabel = "GLOB", defaultValue = "*.txt",
        description = "Which files of --input (default ${DEFAULT-VALUE}).")
    String glob;

    @Option(names = "--workers", paramLabel = "N,N,...", split = ",", defaultValue = "1,2,4",
        description = "Worker counts to measure (default ${DEFAULT-VALUE}).")
    List<Integer> workerCounts;

    @Option(names = "--reduces", paramLabel = "N", defaultValue = "10", description = "Reduce tasks (default 10).")
    int reduces;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "2",
        description = "Runs per configuration; the best is reported (default ${DEFAULT-VALUE}).")
    int repeat;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Path dir = Files.createTempDirectory("distpipe-mrbench-");
        List<String> files = input != null ? MrClient.inputFiles(input, glob)
            : Corpus.write(dir.resolve("corpus"), Corpus.FILES_DEFAULT, Corpus.BYTES_DEFAULT, Corpus.SEED_DEFAULT)
                .stream().map(Path::toString).toList();
        List<Path> paths = files.stream().map(Path::of).toList();
        long bytes = 0;
        for (Path p : paths) {
            bytes += Files.size(p);
        }
        out.printf("wc on %d files (%.1f MB), %d reduces, %d cores%n", files.size(), bytes / 1e6, reduces,
            Runtime.getRuntime().availableProcessors());
        Sequential.run(new WordCount(), paths);
        double sequential = Double.MAX_VALUE;
        List<String> reference = null;
        for (int i = 0; i < Math.max(repeat, 2); i++) {
            long t0 = System.nanoTime();
            reference = new ArrayList<>(Sequential.run(new WordCount(), paths));
            sequential = Math.min(sequential, (System.nanoTime() - t0) / 1e9);
        }
        reference.sort(null);
        out.printf("  sequential (in-process, no Kafka)   %6.2f s%n", sequential);
        out.flush();
        List<double[]> results = new ArrayList<>();
        try (MrRun run = MrRun.start(dir.resolve("logs"))) {
            int started = 0;
            for (int workers : workerCounts) {
                run.addWorkers(workers - started, false);
                started = workers;
                double best = Double.MAX_VALUE;
                boolean equal = true;
                for (int i = 0; i < repeat; i++) {
                    Path output = Files.createDirectories(dir.resolve("out-" + workers + "-" + i));
                    long t0 = System.nanoTime();
                    MrJobStatus end = run.runJob(MrClient.newJobId("wc"), "wc", files, reduces, output,
                        Duration.ofMinutes(10), s -> { });
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    if (end.getOutcome() != MrJobOutcome.SUCCEEDED) {
                        throw new IllegalStateException("benchmark job failed: " + end.getReason());
                    }
                    equal &= merged(output).equals(reference);
                    best = Math.min(best, seconds);
                }
                results.add(new double[] {workers, best});
                out.printf("  MapReduce, %d worker%s (submit to done)  %6.2f s   %5.1fx sequential   output %s%n",
                    workers, workers == 1 ? " " : "s", best, best / sequential, equal ? "equal" : "DIFFERENT");
                out.flush();
            }
        } finally {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        if (results.size() > 1) {
            double base = results.get(0)[1];
            for (double[] r : results.subList(1, results.size())) {
                out.printf("  speed-up %d -> %d workers: %.2fx%n", (int) results.get(0)[0], (int) r[0], base / r[1]);
            }
        }
        out.flush();
        return Cli.EXIT_OK;
    }

    private static List<String> merged(Path dir) throws java.io.IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path f : list.filter(p -> p.getFileName().toString().startsWith("mr-out-")).toList()) {
                lines.addAll(Files.readAllLines(f));
            }
        }
        lines.removeIf(String::isEmpty);
        lines.sort(null);
        return lines;
    }
}
