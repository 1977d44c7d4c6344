package io.distpipe.primes.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.RejectedRecord;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.plan.NumberParser;
import io.distpipe.testkit.PrimesOracle;
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
