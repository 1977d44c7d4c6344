package io.distpipe.primes.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.LocalKafka;
import io.distpipe.common.WorkerProcess;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.primes.job.PrimesJob;
import io.distpipe.primes.plan.Coordinator;
import io.distpipe.primes.plan.NumberFileReader;
import io.distpipe.primes.plan.NumberParser;
import io.distpipe.primes.work.MillerRabin;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code distpipe primes bench} (also {@code distpipe bench primes}): measures the pipeline against a baseline run
 * in the same process.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = {
    "Generate random numbers, run the primes pipeline on an embedded broker and, in the same run, a plain "
        + "parallel Miller-Rabin loop over the same numbers; print both rates and their ratio (goal >= 0.7; the "
        + "pipeline from its first task published to primes.txt written),",
    "the CPU-seconds of both and where the pipeline's went, the time for a killed worker's tasks to resume "
        + "(goal <= 3 s), the wall time of a 1,000-number job including broker start (goal <= 10 s) and the "
        + "peak RSS."})
public final class PrimesBench implements Callable<Integer> {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--numbers", paramLabel = "N", defaultValue = "10000000",
        description = "Numbers to generate (default ${DEFAULT-VALUE}).")
    int numbers;

    @Option(names = {"-w", "--workers"}, paramLabel = "N", description = "Workers (default: number of cores).")
    Integer workers;

    @Option(names = "--bits", paramLabel = "B", defaultValue = "40",
        description = "Size of the random numbers in bits, 2 to 3000 (default ${DEFAULT-VALUE}); beyond 81 bits "
            + "each test is a BigInteger probable-prime test, far costlier.")
    int bits;

    @Option(names = "--chunk-size", paramLabel = "N", defaultValue = "" + Coordinator.CHUNK_NUMBERS_DEFAULT,
        description = "Numbers per task in the throughput run (default ${DEFAULT-VALUE}).")
    int chunkSize;

    @Option(names = "--skip-failover", description = "Skip the killed-worker measurement.")
    boolean skipFailover;

    private PrintWriter out;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        if (bits < 2 || bits > 3000) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--bits must be between 2 and 3000");
        }
        int workerCount = workers == null ? Runtime.getRuntime().availableProcessors() : workers;
        Path dir = Files.createTempDirectory("distpipe-bench-");
        try {
            Path input = Files.createDirectories(dir.resolve("input"));
            say("Generating %,d random %d-bit numbers in 8 files...", numbers, bits);
            generate(input, numbers, bits, 8);

            say("Baseline: parse and test the same files with %d threads in this process...", workerCount);
            Rate baseline = baseline(input, workerCount);
            say("  baseline   %,12.0f numbers/s, %.1f CPU-seconds", baseline.perSecond(), baseline.cpuSeconds());

            say("Pipeline: embedded broker, %d workers, dedup, output...", workerCount);
            PipelineRate pipeline = pipeline(input, dir.resolve("primes.txt"), workerCount, dir);
            say("  pipeline   %,12.0f numbers/s from the first task published to primes.txt written, "
                + "%.1f CPU-seconds", pipeline.endToEnd().perSecond(), pipeline.endToEnd().cpuSeconds());
            say("             %,12.0f numbers/s from the first task published to the last task completed",
                pipeline.toLastTaskPerSecond());

            Path small = Files.createDirectories(dir.resolve("small"));
            generate(small, 1_000, bits, 1);
            long t0 = System.nanoTime();
            runJob(small, dir.resolve("small.txt"), workerCount, null, ClusterOptions.REGISTRY_DEFAULT, dir,
                new PrimesJob.Observer() {
                });
            double smallSeconds = (System.nanoTime() - t0) / 1e9;

            Double resume = skipFailover ? null : failover(dir);

            say("");
            say("Results (%d cores, %d workers, %,d numbers of %d bits):", Runtime.getRuntime()
                .availableProcessors(), workerCount, numbers, bits);
            say("  pipeline / baseline throughput  %.2f  (goal >= 0.7; to the last task completed: %.2f)",
                pipeline.endToEnd().perSecond() / baseline.perSecond(),
                pipeline.toLastTaskPerSecond() / baseline.perSecond());
            say("  CPU-seconds, baseline/pipeline  %.2f  (the ratio a CPU-bound pipeline could reach here)",
                baseline.cpuSeconds() / pipeline.endToEnd().cpuSeconds());
            say("  1,000-number job incl. broker   %.1f s  (goal <= 10 s)", smallSeconds);
            if (resume != null) {
                say("  killed worker's tasks resumed   %.2f s  (goal <= 3 s)", resume);
            }
            say("  peak RSS of this process        %s", peakRss());
            return Cli.EXIT_OK;
        } finally {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private void say(String format, Object... args) {
        out.println(String.format(format, args));
        out.flush();
    }

    /** {@code count} random numbers below 2^bits, spread over {@code files} files, the same in every run. */
    private static void generate(Path dir, int count, int bits, int files) throws IOException {
        SplittableRandom random = new SplittableRandom(42);
        Random big = new Random(42);
        long bound = 1L << Math.min(bits, 62);
        for (int f = 0; f < files; f++) {
            try (BufferedWriter w = Files.newBufferedWriter(dir.resolve(String.format("numbers-%02d.txt", f)),
                StandardCharsets.US_ASCII)) {
                for (int i = f; i < count; i += files) {
                    w.write(bits <= 62 ? Long.toString(random.nextLong(bound)) : new BigInteger(bits, big)
                        .toString());
                    w.write('\n');
                }
            }
        }
    }

    /** Numbers per second and the CPU time this process spent meanwhile (every thread, the broker's too). */
    record Rate(double perSecond, double cpuSeconds) {
    }

    /** The pipeline end to end, and its numbers per second up to the last task completed. */
    record PipelineRate(Rate endToEnd, double toLastTaskPerSecond) {
    }

    /** A point in a run: wall clock, the process's CPU time and each live thread's (all in nanoseconds). */
    record Moment(long at, long cpu, Map<Long, Map.Entry<String, Long>> threads) {
        static Moment now() {
            return new Moment(System.nanoTime(), cpuNanos(), threadCpu());
        }
    }

    /** CPU nanoseconds of every live thread, by thread id, with the thread's name. */
    private static Map<Long, Map.Entry<String, Long>> threadCpu() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Map<Long, Map.Entry<String, Long>> cpu = new HashMap<>();
        for (ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (info != null) {
                long ns = mx.getThreadCpuTime(info.getThreadId());
                if (ns > 0) {
                    cpu.put(info.getThreadId(), Map.entry(info.getThreadName(), ns));
                }
            }
        }
        return cpu;
    }

    /** Where the CPU went between two {@link #threadCpu()} snapshots, by kind of thread, largest first. */
    private static String cpuByRole(Map<Long, Map.Entry<String, Long>> before,
                                    Map<Long, Map.Entry<String, Long>> after, double processSeconds) {
        Map<String, Double> byRole = new TreeMap<>();
        double threads = 0;
        for (Map.Entry<Long, Map.Entry<String, Long>> e : after.entrySet()) {
            Map.Entry<String, Long> earlier = before.get(e.getKey());
            double seconds = (e.getValue().getValue() - (earlier == null ? 0 : earlier.getValue())) / 1e9;
            byRole.merge(role(e.getValue().getKey()), seconds, Double::sum);
            threads += seconds;
        }
        byRole.merge("other (JIT, GC, threads that ended)", Math.max(0, processSeconds - threads), Double::sum);
        StringBuilder text = new StringBuilder();
        byRole.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed())
            .filter(e -> e.getValue() >= 0.05)
            .forEach(e -> text.append(String.format("%n    %-40s %5.1f", e.getKey(), e.getValue())));
        return text.toString();
    }

    private static String role(String thread) {
        if (thread.startsWith("dedup")) {
            return "dedup (Kafka Streams)";
        } else if (thread.startsWith("worker-") || thread.contains("primes-worker")) {
            return "workers";
        } else if (thread.equals("main") || thread.contains("primes-coordinator")) {
            return "coordinator and output (main thread)";
        } else if (thread.startsWith("data-plane") || thread.startsWith("kafka-") && !thread.contains("|")
            || thread.startsWith("Txn") || thread.startsWith("AddPartitions") || thread.startsWith("group-")
            || thread.startsWith("quorum") || thread.startsWith("broker-")) {
            return "broker";
        }
        return "other threads";
    }

    /** CPU time of this process so far, every thread included. */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
    }

    /** The same work without Kafka: read each file, parse each line, test each number, count the primes. */
    private static Rate baseline(Path input, int threads) throws Exception {
        List<Path> files;
        try (Stream<Path> list = Files.list(input)) {
            files = list.sorted().toList();
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicLong tested = new AtomicLong();
        Map<BigInteger, Boolean> primes = new ConcurrentHashMap<>();
        long cpu = cpuNanos();
        long start = System.nanoTime();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (Path file : files) {
                futures.add(pool.submit(() -> {
                    NumberFileReader.read(file, new NumberParser(), new NumberFileReader.LineSink() {
                        @Override
                        public void value(long line, BigInteger n) {
                            tested.incrementAndGet();
                            if (MillerRabin.test(n) != MillerRabin.Verdict.COMPOSITE) {
                                primes.put(n, Boolean.TRUE);
                            }
                        }

                        @Override
                        public void rejected(long line, String text, String reason) {
                        }
                    });
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        return new Rate(tested.get() / ((System.nanoTime() - start) / 1e9), (cpuNanos() - cpu) / 1e9);
    }

    /** End to end (first task published to primes.txt written) and to the last task completed. */
    private PipelineRate pipeline(Path input, Path output, int workers, Path dir) throws Exception {
        AtomicReference<Moment> published = new AtomicReference<>();
        AtomicLong planned = new AtomicLong();
        AtomicLong finished = new AtomicLong();
        AtomicReference<Moment> written = new AtomicReference<>();
        PrimesJob.Result result = runJob(input, output, workers, null, ClusterOptions.REGISTRY_DEFAULT, dir,
            chunkSize, new PrimesJob.Observer() {
                @Override
                public void phase(String text) {
                    if (text.startsWith("reading")) {
                        published.set(Moment.now());
                    } else if (text.startsWith("testing")) {
                        planned.set(System.nanoTime());
                    }
                }

                @Override
                public void progress(JobStatus s) {
                    finished.set(System.nanoTime());
                }

                @Override
                public void written(Path output) {
                    written.set(Moment.now());
                }
            });
        long start = published.get().at();
        long end = written.get().at();
        double cpu = (written.get().cpu() - published.get().cpu()) / 1e9;
        say("  %,d unique primes; reading and publishing the input took %.1f s, testing ended %.1f s later, "
            + "primes.txt %.1f s after that; %.1f s in all with broker start", result.uniquePrimes(),
            (planned.get() - start) / 1e9, (finished.get() - planned.get()) / 1e9, (end - finished.get()) / 1e9,
            result.elapsed().toMillis() / 1e3);
        say("  CPU-seconds of the pipeline by thread:%s", cpuByRole(published.get().threads(),
            written.get().threads(), cpu));
        long numbers = result.status().getNumbersTested();
        return new PipelineRate(new Rate(numbers / ((end - start) / 1e9), cpu),
            numbers / ((finished.get() - start) / 1e9));
    }

    /**
     * Two worker JVMs; one is killed with SIGKILL once both have completed tasks. Resume time: from the kill to
     * the commit, by the survivor, of the first task from a partition the victim had been completing.
     */
    private Double failover(Path dir) throws Exception {
        say("Failover: embedded broker, 2 worker JVMs, SIGKILL one mid-run...");
        Path input = Files.createDirectories(dir.resolve("failover"));
        generate(input, 3_000_000, 62, 8);
        try (KafkaCluster kafka = LocalKafka.get().startEmbedded();
             SchemaRegistryServer registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
             ChildJvm a = WorkerProcess.start("worker-a", kafka.bootstrapServers(), registry.url(),
                 dir.resolve("logs"));
             ChildJvm b = WorkerProcess.start("worker-b", kafka.bootstrapServers(), registry.url(),
                 dir.resolve("logs"))) {
            Map<Integer, String> lastWorkerOfPartition = new ConcurrentHashMap<>();
            // Wall-clock millis: the kill and the workers' completedAt stamps are taken on this one machine.
            AtomicLong killedAt = new AtomicLong();
            AtomicReference<Double> resumed = new AtomicReference<>();
            runJob(input, dir.resolve("failover.txt"), 0, kafka.bootstrapServers(), registry.url(), dir,
                new PrimesJob.Observer() {
                    @Override
                    public void completed(TaskCompleted done) {
                        String previous = lastWorkerOfPartition.put(done.getTaskPartition(), done.getWorkerId());
                        long now = System.currentTimeMillis();
                        if (killedAt.get() == 0 && lastWorkerOfPartition.containsValue("worker-a")
                            && lastWorkerOfPartition.containsValue("worker-b")
                            && lastWorkerOfPartition.size() >= 12) {
                            killedAt.set(now);
                            a.kill();
                        } else if (killedAt.get() != 0 && resumed.get() == null && "worker-a".equals(previous)
                            && done.getWorkerId().equals("worker-b")) {
                            resumed.set((done.getCompletedAt().toEpochMilli() - killedAt.get()) / 1e3);
                        }
                    }
                });
            if (resumed.get() == null) {
                say("  the job ended before a killed worker's partition was resumed; no figure");
            }
            return resumed.get();
        }
    }

    private static PrimesJob.Result runJob(Path input, Path output, int workers, String bootstrap,
                                           String registryUrl, Path dir, PrimesJob.Observer observer)
        throws Exception {
        return runJob(input, output, workers, bootstrap, registryUrl, dir, Coordinator.CHUNK_NUMBERS_DEFAULT,
            observer);
    }

    private static PrimesJob.Result runJob(Path input, Path output, int workers, String bootstrap,
                                           String registryUrl, Path dir, int chunkSize,
                                           PrimesJob.Observer observer) throws Exception {
        Path work = Files.createTempDirectory(dir, "work-");
        return new PrimesJob(new PrimesJob.Config(input, output, workers, bootstrap, registryUrl, chunkSize,
            NumberParser.DEFAULT_MAX_DIGITS, work), observer).run();
    }

    private static String peakRss() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("VmHWM:")).map(l -> l.substring(6).strip()).findFirst()
                .orElse("unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
