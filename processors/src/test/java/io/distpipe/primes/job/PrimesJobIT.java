package io.distpipe.primes.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.common.RejectedRecord;
import io.distpipe.common.Service;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.Task;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.primes.TaskMessage;
import io.distpipe.primes.plan.NumberParser;
import io.distpipe.primes.work.MillerRabin;
import io.distpipe.primes.work.PrimeWorker;
import io.distpipe.testkit.PrimesOracle;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The primes job end to end on a real broker, checked against an independent oracle. The fault scenarios (a worker
 * killed, a broker stopped) are in {@link PrimesScenarios}, run on in-process nodes and on containers.
 */
class PrimesJobIT {

    private static EmbeddedKafka kafka;
    private static SchemaRegistryServer registry;

    @TempDir
    Path dir;

    @BeforeAll
    static void startCluster() throws Exception {
        kafka = EmbeddedKafka.startTemporary();
        registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
    }

    @AfterAll
    static void stopCluster() {
        registry.close();
        kafka.close();
    }

    private PrimesJob.Result run(Path input, Path output, int workers, String bootstrap, int chunk,
                                 PrimesJob.Observer observer) throws Exception {
        Files.createDirectories(dir.resolve("work"));
        return new PrimesJob(new PrimesJob.Config(input, output, workers, bootstrap, registry.url(), chunk,
            NumberParser.DEFAULT_MAX_DIGITS, dir.resolve("work")), observer).run();
    }

    @Test
    void shouldWriteExactlyTheSievePrimesOfOverlappingFilesAndReportBadLines() throws Exception {
        Path input = Files.createDirectories(dir.resolve("input"));
        PrimesOracle oracle = new PrimesOracle(100_000);
        oracle.writeRange(input.resolve("a.txt"), 0, 40_000);
        oracle.writeRange(input.resolve("b.txt"), 30_000, 70_000);
        oracle.writeRange(input.resolve("c.txt"), 69_990, 70_010);
        Files.writeString(input.resolve("d.txt"), "\uFEFF7\r\nseven\r\n\r\n 11 \r\n3.5\r\n-13\r\n0x1F\r\n");
        Files.writeString(input.resolve(".hidden"), "not read\n");

        Path output = dir.resolve("primes.txt");
        PrimesJob.Result result = run(input, output, 2, kafka.bootstrapServers(), 1_000, new PrimesJob.Observer() {
        });

        assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
        assertThat(result.uniquePrimes()).isEqualTo(oracle.expectedCount());
        JobStatus status = result.status();
        assertThat(status.getFiles()).isEqualTo(4);
        assertThat(status.getRejectedLines()).isEqualTo(3);
        assertThat(status.getNumbersTotal()).isEqualTo(40_001 + 40_001 + 21 + 3);
        assertThat(status.getNumbersTested()).isEqualTo(status.getNumbersTotal());
        assertThat(result.duplicatesRemoved()).as("primes of 30000..40000 and 69990..70000 counted twice")
            .isEqualTo(status.getPrimesFound() - oracle.expectedCount()).isPositive();
        assertThat(Files.readAllLines(result.rejectedReport())).containsExactly(
            "file\tline\ttext\treason",
            "d.txt\t2\tseven\tnot a decimal integer",
            "d.txt\t5\t3.5\tdecimal point: only integers are accepted",
            "d.txt\t7\t0x1F\thexadecimal is not accepted");
        assertThat(deadLetters(result.jobId())).extracting(RejectedRecord::getLocation)
            .containsExactly("line 2", "line 5", "line 7");

        byte[] first = Files.readAllBytes(output);
        run(input, output, 1, kafka.bootstrapServers(), 5_000, new PrimesJob.Observer() {
        });
        assertThat(Files.readAllBytes(output)).as("a re-run gives the same bytes").isEqualTo(first);
    }

    @Test
    void shouldCompleteExactlyWithoutAWorkerStoppingWhenEveryTaskTakesLongerThanTheTransactionTimeout()
        throws Exception {
        Path input = Files.createDirectories(dir.resolve("input"));
        PrimesOracle oracle = new PrimesOracle(100);
        oracle.writeRange(input.resolve("slow.txt"), 0, 79);
        // 150 ms a number, 20 numbers a task: 3 s of testing per task, three times the workers' transaction timeout
        // and more than the broker needs to abort a transaction that lives that long (it looks every second).
        PrimeWorker.PrimeTester slow = new PrimeWorker.PrimeTester() {
            @Override
            public boolean isPrime(long n) {
                // Stands for a slow computation without spending the shared cores on it.
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(150));
                return MillerRabin.isPrime(n);
            }

            @Override
            public MillerRabin.Verdict test(BigInteger n) {
                return MillerRabin.test(n);
            }
        };
        AvroSerdes serdes = AvroSerdes.connect(registry.url());
        List<PrimeWorker> workers = new ArrayList<>();
        List<CompletableFuture<Void>> loops = new ArrayList<>();
        ExecutorService threads = Executors.newCachedThreadPool(daemons());
        try {
            for (int i = 1; i <= 2; i++) {
                PrimeWorker worker = PrimeWorker.create(new PrimeWorker.Config("slow-worker-" + i,
                    kafka.bootstrapServers(), KafkaClients.SESSION_TIMEOUT_MS_DEFAULT, 1_000,
                    PrimeWorker.MAX_POLL_RECORDS_DEFAULT), serdes, new PrimeWorker.Hooks(slow, System::nanoTime,
                    PrimeWorker.Hooks.NONE.sleeper()));
                worker.start();
                workers.add(worker);
                loops.add(CompletableFuture.runAsync(worker::run, threads));
            }
            Path output = dir.resolve("primes.txt");
            Future<PrimesJob.Result> job = threads.submit(() -> run(input, output, 0, kafka.bootstrapServers(), 20,
                new PrimesJob.Observer() {
                }));
            PrimesJob.Result result = Poll.untilPresent("the job with slow tasks to complete", Duration.ofSeconds(90),
                () -> {
                    for (PrimeWorker w : workers) {
                        if (w.state() != Service.State.RUNNING) {
                            throw new Poll.PollAbortedException(w.id() + " stopped (" + w.state() + ")");
                        }
                    }
                    return job.isDone() ? Optional.of(getNow(job)) : Optional.empty();
                });

            assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
            assertThat(result.status().getTasksTotal()).isEqualTo(4);
            assertThat(workers).as("no worker stopped").allSatisfy(w ->
                assertThat(w.state()).isEqualTo(Service.State.RUNNING));
            assertThat(workers.stream().mapToLong(PrimeWorker::tasksCompleted).sum()).isEqualTo(4);
            Map<String, Long> completions = committed(Topics.PRIMES_COMPLETED, serdes).stream()
                .filter(done -> done.getJobId().equals(result.jobId()))
                .collect(Collectors.groupingBy(TaskCompleted::getTaskId, Collectors.counting()));
            assertThat(completions).as("committed completions per task").hasSize(4)
                .allSatisfy((task, count) -> assertThat(count).isOne());
            assertThat(committed(Topics.PRIMES_FOUND, serdes).stream()
                .filter(found -> found.getJobId().equals(result.jobId()))
                .map(found -> Numbers.fromBytes(found.getNumber()).toString()))
                .as("each prime committed once").containsExactlyInAnyOrderElementsOf(oracle.expectedLines());
        } finally {
            workers.forEach(PrimeWorker::close);
            threads.shutdownNow();
        }
    }

    @Test
    void shouldNotFenceTheRunningSystemsWorkerOfTheSameNameWhileAJobRunsOnItsCluster() throws Exception {
        AvroSerdes serdes = AvroSerdes.connect(registry.url());
        // What bin/start_system.sh runs as its first worker.
        PrimeWorker system = PrimeWorker.create(PrimeWorker.Config.defaults("worker-1", kafka.bootstrapServers()),
            serdes);
        system.start();
        ExecutorService threads = Executors.newCachedThreadPool(daemons());
        CompletableFuture<Void> loop = CompletableFuture.runAsync(system::run, threads);
        try {
            Path input = Files.createDirectories(dir.resolve("input"));
            PrimesOracle oracle = new PrimesOracle(30_000);
            oracle.writeRange(input.resolve("a.txt"), 0, 30_000);
            Path output = dir.resolve("primes.txt");

            run(input, output, 1, kafka.bootstrapServers(), 1_000, new PrimesJob.Observer() {
            });

            assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
            assertThat(system.state()).as("the system's worker-1 after the job").isEqualTo(Service.State.RUNNING);
            String taskId = "it-after-job/a.txt#0";
            publishTask(serdes, Task.newBuilder().setTaskId(taskId).setJobId("it-after-job").setFile("a.txt")
                .setChunk(0).setFirstLine(1).setLastLine(4)
                .setNumbers(List.of(2, 3, 4, 5).stream().map(n -> Numbers.toBytes(BigInteger.valueOf(n))).toList())
                .setCreatedAt(Instant.now()).build());
            TaskCompleted done = Poll.untilPresent("the system's worker-1 to complete " + taskId,
                Duration.ofSeconds(30), () -> committed(Topics.PRIMES_COMPLETED, serdes).stream()
                    .filter(c -> c.getTaskId().equals(taskId)).findFirst());
            assertThat(done.getWorkerId()).isEqualTo("worker-1");
            assertThat(done.getPrimesFound()).isEqualTo(3);
            assertThat(system.state()).isEqualTo(Service.State.RUNNING);
            assertThat(loop).isNotDone();
        } finally {
            system.close();
            threads.shutdownNow();
        }
    }

    private static void publishTask(AvroSerdes serdes, Task task) throws Exception {
        String topic = Topics.PRIMES_TASKS.name();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClients.producer(
            kafka.bootstrapServers(), "it-task-publisher"))) {
            producer.send(new ProducerRecord<>(topic, serdes.keySerde(Topics.PRIMES_TASKS).serializer()
                .serialize(topic, task.getTaskId()), serdes.valueSerde(Topics.PRIMES_TASKS).serializer()
                .serialize(topic, TaskMessage.newBuilder().setPayload(task).build()))).get(30, TimeUnit.SECONDS);
        }
    }

    /** Every committed value of a topic (read_committed, all partitions, up to the end offsets taken first). */
    private static <V> List<V> committed(TopicSpec<String, V> spec, AvroSerdes serdes) {
        Deserializer<V> values = serdes.valueSerde(spec).deserializer();
        List<V> result = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaClients.consumer(
            kafka.bootstrapServers(), null, "it-auditor", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            List<TopicPartition> partitions = consumer.partitionsFor(spec.name()).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            Poll.until("reading " + spec.name() + " up to " + end, Duration.ofSeconds(30), () -> {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    result.add(values.deserialize(r.topic(), r.value()));
                }
                return partitions.stream().allMatch(p -> consumer.position(p) >= end.get(p));
            });
        }
        return result;
    }

    private static <T> T getNow(Future<T> future) {
        try {
            return future.get();
        } catch (ExecutionException e) {
            throw new Poll.PollAbortedException("the job failed: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static ThreadFactory daemons() {
        return r -> {
            Thread t = new Thread(r);
            t.setDaemon(true);
            return t;
        };
    }

    private static List<RejectedRecord> deadLetters(String jobId) {
        AvroSerdes serdes = AvroSerdes.connect(registry.url());
        List<RejectedRecord> result = new ArrayList<>();
        TopicPartition partition = new TopicPartition(Topics.PRIMES_REJECTED.name(), 0);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaClients.consumer(
            kafka.bootstrapServers(), null, "it-dlq-reader", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (consumer.position(partition) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    RejectedRecord rejected = serdes.valueSerde(Topics.PRIMES_REJECTED).deserializer()
                        .deserialize(r.topic(), r.value());
                    if (jobId.equals(rejected.getJobId())) {
                        result.add(rejected);
                    }
                }
            }
        }
        return result;
    }
}
