package io.distpipe.primes.job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.distpipe.common.AtomicFile;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.LocalKafka;
import io.distpipe.common.Supervisor;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.primes.dedup.DedupService;
import io.distpipe.primes.output.PrimesOutput;
import io.distpipe.primes.plan.Coordinator;
import io.distpipe.primes.work.PrimeWorker;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one primes job end to end: (embedded broker,) topics, dedup processor, N workers, coordinator; waits until the
 * job is complete and the dedup processor has caught up, then writes the output and the rejected-line report.
 */
public final class PrimesJob {

    private static final Logger LOG = LoggerFactory.getLogger(PrimesJob.class);
    private static final Duration JOB_TIMEOUT = Duration.ofHours(24);
    private static final Duration CATCH_UP_TIMEOUT = Duration.ofMinutes(5);
    private static final int MAX_REPLICATION = 3;
    /**
     * Restarts of one in-process worker that stopped (fenced, or failed after its bounded retries), without which its
     * partitions would have no one to process them. Five instances per job at most.
     */
    private static final Supervisor.RestartPolicy WORKER_RESTARTS = new Supervisor.RestartPolicy(4, JOB_TIMEOUT,
        Duration.ofMillis(200), Duration.ofSeconds(5));

    /** What to run. {@code bootstrapServers} null means: start an embedded broker. */
    public record Config(Path inputDir, Path output, int workers, String bootstrapServers, String registryUrl,
                         int chunkNumbers, int maxDigits, Path workDir) {
        public Config validate() {
            // Zero in-process workers is for runs whose workers are separate processes.
            if (workers < 0 || workers > 256) {
                throw new IllegalArgumentException("--workers must be between 0 and 256, not " + workers);
            }
            return this;
        }
    }

    /**
     * What happened, for the summary.
     *
     * @param deadLetteredTasks tasks of the job a worker could not read (on primes.tasks.dlq): not in the output
     * @param foundDeadLettered records the dedup processor could not read while the job ran (on primes.found.dlq,
     *                          of any job on the cluster): primes possibly missing from the output
     */
    public record Result(String jobId, JobStatus status, long uniquePrimes, long probablePrimes, Path output,
                         Path rejectedReport, Duration elapsed, Set<String> deadLetteredTasks,
                         long foundDeadLettered) {
        public long duplicatesRemoved() {
            return status.getPrimesFound() - uniquePrimes;
        }

        /** Records dead-lettered during the job; when not zero, the output is incomplete. */
        public long deadLettered() {
            return deadLetteredTasks.size() + foundDeadLettered;
        }
    }

    /** Progress callbacks for whoever shows them. */
    public interface Observer extends Coordinator.Listener {
        default void phase(String text) {
        }

        /** The output is in place (before the job's processes are stopped). */
        default void written(Path output) {
        }
    }

    private final Config config;
    private final Observer observer;

    public PrimesJob(Config config, Observer observer) {
        this.config = config.validate();
        this.observer = observer;
    }

    public static String newJobId() {
        return "primes-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-"
            + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
    }

    /**
     * The id of the job's n-th in-process worker, and so of its transactional id: unique to the job, because a job run
     * with {@code --bootstrap-servers} against the running system shares the cluster with that system's own
     * {@code worker-1..N}, and equal ids would fence each other's producers. A restarted instance of the same slot
     * keeps the id, so a zombie of it is still fenced.
     */
    static String workerId(String jobId, int n) {
        return jobId + "-worker-" + n;
    }

    public Result run() throws Exception {
        long started = System.nanoTime();
        List<Path> files = Coordinator.inputFiles(config.inputDir());
        if (files.isEmpty()) {
            throw new IOException("Input directory " + config.inputDir() + " has no input files");
        }
        Coordinator.requireOutsideInput(config.inputDir(), config.output());
        Path output = config.output().toAbsolutePath();
        if (!Files.isDirectory(output.getParent()) || !Files.isWritable(output.getParent())) {
            throw new IOException("Cannot write the output " + output + ": its directory is missing or read-only");
        }
        String jobId = newJobId();
        KafkaCluster embedded = null;
        List<AutoCloseable> toClose = new ArrayList<>();
        ExecutorService threads = Executors.newCachedThreadPool();
        try {
            // The registry first: it fails in a second, where a broker takes seconds to start.
            AvroSerdes serdes = AvroSerdes.connect(config.registryUrl());
            serdes.registry().subjects();
            String bootstrap = config.bootstrapServers();
            if (bootstrap == null) {
                observer.phase("starting embedded Kafka broker");
                embedded = LocalKafka.get().startEmbedded();
                bootstrap = embedded.bootstrapServers();
            }
            Admin admin = KafkaClients.reachableAdmin(bootstrap, "primes-job-admin");
            toClose.add(admin);
            observer.phase("creating topics");
            List<TopicAdmin.Outcome> topics = TopicAdmin.ensureTopics(admin, Topics.external(), MAX_REPLICATION);
            int replication = topics.stream().mapToInt(TopicAdmin.Outcome::replication).max().orElse(1);
            TopicAdmin.registerSchemas(serdes.registry(), Topics.ALL);
            Map<TopicPartition, Long> uniqueStart = PrimesOutput.highWatermarks(admin, Topics.PRIMES_UNIQUE);
            Map<TopicPartition, Long> foundDlqStart = PrimesOutput.highWatermarks(admin, Topics.PRIMES_FOUND_DLQ);

            observer.phase("starting dedup processor and " + config.workers() + " workers");
            DedupService dedup = new DedupService("dedup", bootstrap, replication,
                config.workDir().resolve("dedup-state"), serdes);
            toClose.add(dedup);
            dedup.start();
            List<Future<?>> running = new ArrayList<>();
            String brokers = bootstrap;
            for (int i = 1; i <= config.workers(); i++) {
                String thread = "worker-" + i;
                String id = workerId(jobId, i);
                Supervisor<WorkerInstance> slot = Supervisor.builder(id, () -> WorkerInstance.start(id, brokers,
                    serdes)).policy(WORKER_RESTARTS).build();
                toClose.add(0, slot);
                slot.start();
                running.add(threads.submit(() -> {
                    Thread.currentThread().setName(thread);
                    slot.run();
                }));
            }
            Supplier<String> workersGone = () -> config.workers() > 0 && running.stream().allMatch(Future::isDone)
                ? "every in-process worker has stopped (see the log)" : null;

            Path rejectedReport = output.resolveSibling(output.getFileName() + ".rejected.tsv");
            JobStatus status;
            Set<String> deadLetteredTasks;
            try (RejectionReport report = new RejectionReport(rejectedReport);
                 Coordinator coordinator = Coordinator.create(new Coordinator.Config("coordinator", jobId,
                     config.inputDir(), config.chunkNumbers(), Coordinator.CHUNK_BYTES_DEFAULT, config.maxDigits()),
                     bootstrap, serdes, report.wrap(observer))) {
                coordinator.start();
                observer.phase("reading input");
                coordinator.plan();
                observer.phase("testing numbers");
                status = coordinator.awaitCompletion(JOB_TIMEOUT, workersGone);
                deadLetteredTasks = coordinator.deadLetteredTasks();
                report.commit(status.getRejectedLines() > 0);
            }

            observer.phase("waiting for the dedup processor to catch up");
            dedup.awaitRunning(CATCH_UP_TIMEOUT);
            Map<TopicPartition, Long> foundEnd = PrimesOutput.highWatermarks(admin, Topics.PRIMES_FOUND);
            try (KafkaConsumer<byte[], byte[]> probe = new KafkaConsumer<>(KafkaClients.consumer(bootstrap, null,
                "primes-job-probe", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
                PrimesOutput.awaitDedupCaughtUp(admin, probe, foundEnd, CATCH_UP_TIMEOUT);
                Map<TopicPartition, Long> uniqueEnd = PrimesOutput.highWatermarks(admin, Topics.PRIMES_UNIQUE);
                observer.phase("writing " + output.getFileName());
                PrimesOutput.Result primes = PrimesOutput.collect(probe, serdes, jobId, uniqueStart, uniqueEnd,
                    CATCH_UP_TIMEOUT);
                PrimesOutput.writeAtomically(output, primes.primes());
                observer.written(output);
                for (Future<?> f : running) {
                    if (f.isDone()) {
                        f.get();
                    }
                }
                Map<TopicPartition, Long> foundDlqEnd = PrimesOutput.highWatermarks(admin, Topics.PRIMES_FOUND_DLQ);
                long foundDeadLettered = PrimesOutput.committedRecords(probe, foundDlqStart, foundDlqEnd,
                    CATCH_UP_TIMEOUT);
                return new Result(jobId, status, primes.primes().size(), primes.probable(), output,
                    status.getRejectedLines() > 0 ? rejectedReport : null,
                    Duration.ofNanos(System.nanoTime() - started), deadLetteredTasks, foundDeadLettered);
            }
        } finally {
            for (AutoCloseable c : toClose) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("Closing {} failed: {}", c, e.toString());
                }
            }
            threads.shutdown();
            if (!threads.awaitTermination(15, TimeUnit.SECONDS)) {
                LOG.warn("Some workers did not stop within 15 s.");
            }
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    /** One instance of an in-process worker for its supervisor; it does its work in {@link #awaitEnd()}. */
    private record WorkerInstance(PrimeWorker worker) implements Supervisor.Instance {
        static WorkerInstance start(String id, String bootstrap, AvroSerdes serdes) {
            PrimeWorker worker = PrimeWorker.create(PrimeWorker.Config.defaults(id, bootstrap), serdes);
            worker.start();
            return new WorkerInstance(worker);
        }

        @Override
        public Supervisor.Ending awaitEnd() {
            try {
                worker.run();
            } catch (RuntimeException e) {
                return Supervisor.Ending.failed("stopped on its own (" + e + ")", e);
            }
            return Supervisor.Ending.returned("stopped on its own (" + worker.state() + ")");
        }

        @Override
        public void stop() {
            worker.close();
        }

        @Override
        public String toString() {
            return worker.id();
        }
    }

    /** The rejected-line report: a TSV written to a temporary file and moved into place when the job completes. */
    static final class RejectionReport implements AutoCloseable {
        private final Path target;
        private final AtomicFile report;
        private final Writer writer;

        RejectionReport(Path target) throws IOException {
            this.target = target;
            this.report = AtomicFile.create(target, StandardCharsets.UTF_8);
            this.writer = report.writer();
            writer.write("file\tline\ttext\treason\n");
        }

        Observer wrap(Observer observer) {
            return new Observer() {
                @Override
                public void rejected(String file, long line, String text, String reason) {
                    try {
                        writer.write(tsv(file) + "\t" + line + "\t" + tsv(text) + "\t" + tsv(reason) + "\n");
                    } catch (IOException e) {
                        throw new UncheckedIOException("Cannot write the rejected-line report " + report.temporary(), e);
                    }
                    observer.rejected(file, line, text, reason);
                }

                @Override
                public void planned(JobStatus status) {
                    observer.planned(status);
                }

                @Override
                public void progress(JobStatus status) {
                    observer.progress(status);
                }

                @Override
                public void completed(TaskCompleted done) {
                    observer.completed(done);
                }
            };
        }

        /** Moves the report into place if there is anything in it, else removes any stale one. */
        void commit(boolean anything) throws IOException {
            if (anything) {
                report.commit();
            } else {
                Files.deleteIfExists(target);
            }
        }

        private static String tsv(String text) {
            return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
        }

        @Override
        public void close() throws IOException {
            report.close();
        }
    }
}
