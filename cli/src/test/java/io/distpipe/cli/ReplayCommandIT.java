package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.testkit.ConsoleCapture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code distpipe replay} on the records of a real primes job: JSON lines, and a copy to another topic. */
class ReplayCommandIT {

    private static EmbeddedKafka kafka;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @TempDir
    Path dir;

    @BeforeAll
    static void startKafka() {
        kafka = EmbeddedKafka.startTemporary();
    }

    @AfterAll
    static void stopKafka() {
        kafka.close();
    }

    @Test
    void shouldReplayATopicAsJsonLinesAndRepublishItUnchanged() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("r.txt"), "5\nfive\n0x5\n");
        assertThat(Cli.run("primes", "--input", input.toString(), "--output", dir.resolve("p.txt").toString(),
            "--workers", "1", "--bootstrap-servers", kafka.bootstrapServers())).isEqualTo(Cli.EXIT_OK);
        console.resetOut();

        int code = Cli.run("replay", "--topic", "primes.rejected", "--bootstrap-servers", kafka.bootstrapServers());

        assertThat(code).isEqualTo(Cli.EXIT_OK);
        List<String> lines = console.out().lines()
            .filter(l -> l.contains("r.txt")).toList();
        // The lines of consume (AvroJsonFormatter).
        assertThat(lines).hasSize(2).allSatisfy(l -> {
            JsonNode json = JSON.readTree(l);
            assertThat(json.get("topic").asText()).isEqualTo("primes.rejected");
            assertThat(json.get("key").asText()).isEqualTo("r.txt");
            assertThat(json.get("value").get("reason").asText()).isNotBlank();
        });
        JsonNode first = JSON.readTree(lines.get(0)).get("value");
        assertThat(first.get("text").asText()).isEqualTo("five");
        assertThat(first.get("location").asText()).isEqualTo("line 2");

        String copy = "replay-copy-" + System.nanoTime();
        try (Admin admin = Admin.create(KafkaClients.common(kafka.bootstrapServers(), "it-admin"))) {
            admin.createTopics(List.of(new NewTopic(copy, 1, (short) 1))).all().get();
        }
        assertThat(Cli.run("replay", "--topic", "primes.rejected", "--to-topic", copy, "--bootstrap-servers",
            kafka.bootstrapServers())).isEqualTo(Cli.EXIT_OK);
        console.resetOut();
        assertThat(Cli.run("replay", "--topic", copy, "--bootstrap-servers", kafka.bootstrapServers()))
            .isEqualTo(Cli.EXIT_OK);
        assertThat(console.out().lines().filter(l -> l.contains("r.txt")).map(ReplayCommandIT::keyAndValue)
            .toList()).as("the copy decodes to the same keys and values")
            .isEqualTo(lines.stream().map(ReplayCommandIT::keyAndValue).toList());

        // consume prints the same line for a record; --partition and --offset pick it, print.* switches trim it.
        JsonNode original = JSON.readTree(lines.get(0));
        console.resetOut();
        assertThat(Cli.run("consume", "--topic", "primes.rejected", "--partition", original.get("partition")
            .asText(), "--offset", original.get("offset").asText(), "--max-messages", "1", "--bootstrap-servers",
            kafka.bootstrapServers())).isEqualTo(Cli.EXIT_OK);
        assertThat(console.out().strip()).isEqualTo(lines.get(0));
        console.resetOut();
        assertThat(Cli.run("consume", "--topic", "primes.rejected", "--partition", original.get("partition")
            .asText(), "--offset", original.get("offset").asText(), "--max-messages", "1", "--property",
            "print.timestamp=false", "--property", "print.key=false", "--bootstrap-servers",
            kafka.bootstrapServers())).isEqualTo(Cli.EXIT_OK);
        JsonNode trimmed = JSON.readTree(console.out().strip());
        assertThat(trimmed.has("timestamp") || trimmed.has("key")).isFalse();
        assertThat(trimmed.get("value")).isEqualTo(original.get("value"));
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private static String keyAndValue(String line) {
        try {
            JsonNode json = JSON.readTree(line);
            return json.get("key") + " " + json.get("value");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void shouldStampCopiesWithTheTimeOfTheCopyUnlessAskedToKeepTheOriginalTimes() throws Exception {
        String source = topic("replay-old");
        String copy = topic("replay-now");
        String kept = topic("replay-kept");
        long old = Instant.parse("2020-01-01T00:00:00Z").toEpochMilli();
        try (Producer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClients.producer(kafka.bootstrapServers(),
            "it-old"))) {
            producer.send(new ProducerRecord<>(source, 0, old, bytes("k"), bytes("v"))).get();
        }
        long before = System.currentTimeMillis();

        assertThat(Cli.run("replay", "--topic", source, "--to-topic", copy, "--bootstrap-servers",
            kafka.bootstrapServers())).isEqualTo(Cli.EXIT_OK);
        assertThat(timestamps(copy)).as("a copy of a 2020 record is not older than the copy")
            .singleElement().satisfies(t -> assertThat(t).isGreaterThanOrEqualTo(before));

        assertThat(Cli.run("replay", "--topic", source, "--to-topic", kept, "--keep-timestamps",
            "--bootstrap-servers", kafka.bootstrapServers())).isEqualTo(Cli.EXIT_OK);
        assertThat(timestamps(kept)).containsExactly(old);
    }

    @Test
    void shouldFailWithTheCountWhenTheTargetRefusesRecords() throws Exception {
        String source = topic("replay-big");
        String small = "replay-small-" + System.nanoTime();
        try (Admin admin = Admin.create(KafkaClients.common(kafka.bootstrapServers(), "it-admin"))) {
            admin.createTopics(List.of(new NewTopic(small, 1, (short) 1)
                .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "2000")))).all().get();
        }
        try (Producer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClients.producer(kafka.bootstrapServers(),
            "it-big"))) {
            // Random bytes: the producer compresses, and 10 kB of zeros would fit the target's 2,000 bytes.
            byte[] big = new byte[10_000];
            new Random(18).nextBytes(big);
            producer.send(new ProducerRecord<>(source, bytes("k"), big)).get();
        }
        console.resetErr();

        int code = Cli.run("replay", "--topic", source, "--to-topic", small, "--bootstrap-servers",
            kafka.bootstrapServers());

        assertThat(code).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(console.err()).contains("1 of 1 records read from " + source + " could not be written to " + small)
            .contains("the copy is incomplete");
        assertThat(timestamps(small)).isEmpty();
    }

    private static String topic(String prefix) throws Exception {
        String name = prefix + "-" + System.nanoTime();
        try (Admin admin = Admin.create(KafkaClients.common(kafka.bootstrapServers(), "it-admin"))) {
            admin.createTopics(List.of(new NewTopic(name, 1, (short) 1))).all().get();
        }
        return name;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The timestamps of every record of a one-partition topic, read to its end. */
    private static List<Long> timestamps(String topic) {
        TopicPartition partition = new TopicPartition(topic, 0);
        List<Long> result = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaClients.consumer(
            kafka.bootstrapServers(), null, "it-timestamps", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (consumer.position(partition) < end) {
                assertThat(System.nanoTime()).as("read " + topic + " to offset " + end + " within 30 s")
                    .isLessThan(deadline);
                consumer.poll(Duration.ofMillis(200)).forEach(r -> result.add(r.timestamp()));
            }
        }
        return result;
    }
}
