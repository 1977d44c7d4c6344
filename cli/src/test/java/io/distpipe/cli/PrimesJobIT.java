package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.cluster.MultiNodeCluster;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.RejectedRecord;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.NumberParser;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The primes job end to end on real brokers, checked against an independent oracle. */
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
    void shouldStayExactWhenAWorkerProcessIsKilledMidRun() throws Exception {
        Path input = Files.createDirectories(dir.resolve("input"));
        PrimesOracle oracle = new PrimesOracle(10);
        for (int f = 0; f < 4; f++) {
            oracle.writeRandom(input.resolve("random-" + f + ".txt"), 15_000, 80, f);
        }
        List<WorkerProcess> workers = new ArrayList<>();
        AtomicBoolean killed = new AtomicBoolean();
        AtomicLong tasksWhenKilled = new AtomicLong();
        try {
            for (int i = 1; i <= 3; i++) {
                workers.add(WorkerProcess.start("worker-" + i, kafka.bootstrapServers(), registry.url(),
                    dir.resolve("logs")));
            }
            WorkerProcess victim = workers.get(0);
            Path output = dir.resolve("primes.txt");
            PrimesJob.Result result = run(input, output, 0, kafka.bootstrapServers(), 250, new PrimesJob.Observer() {
                @Override
                public void progress(JobStatus s) {
                    if (s.getTasksCompleted() >= 10 && killed.compareAndSet(false, true)) {
                        tasksWhenKilled.set(s.getTasksCompleted());
                        CompletableFuture.runAsync(() -> {
                            try {
                                victim.kill();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        });
                    }
                }
            });

            assertThat(killed).as("a worker was killed").isTrue();
            assertThat(tasksWhenKilled.get()).as("killed before the job ended")
                .isLessThan(result.status().getTasksTotal());
            assertThat(victim.isAlive()).isFalse();
            assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
            assertThat(result.status().getNumbersTested()).as("no task counted twice").isEqualTo(60_000);
        } finally {
            for (WorkerProcess w : workers) {
                w.close();
            }
        }
    }

    @Test
    void shouldStayExactWhenABrokerOfThreeStopsMidRun() throws Exception {
        Path input = Files.createDirectories(dir.resolve("input"));
        PrimesOracle oracle = new PrimesOracle(200_000);
        oracle.writeRange(input.resolve("a.txt"), 0, 120_000);
        oracle.writeRange(input.resolve("b.txt"), 100_000, 200_000);
        try (MultiNodeCluster cluster = MultiNodeCluster.start(3)) {
            int victim = cluster.runningBrokers().stream().max(Integer::compare).orElseThrow();
            AtomicBoolean stopped = new AtomicBoolean();
            AtomicLong tasksWhenStopped = new AtomicLong();
            Path output = dir.resolve("primes.txt");
            PrimesJob.Result result = run(input, output, 2, cluster.bootstrapServers(), 2_000,
                new PrimesJob.Observer() {
                    @Override
                    public void progress(JobStatus s) {
                        if (s.getTasksCompleted() >= 5 && stopped.compareAndSet(false, true)) {
                            tasksWhenStopped.set(s.getTasksCompleted());
                            CompletableFuture.runAsync(() -> cluster.stopBroker(victim));
                        }
                    }
                });

            assertThat(stopped).isTrue();
            assertThat(tasksWhenStopped.get()).isLessThan(result.status().getTasksTotal());
            assertThat(cluster.runningBrokers()).doesNotContain(victim);
            assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
        }
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
