package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.testkit.ConsoleCapture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
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
        assertThat(lines).hasSize(2).allSatisfy(l -> assertThat(l).startsWith("{\"topic\": \"primes.rejected\"")
            .contains("\"key\": \"r.txt\"").contains("\"reason\": \""));
        assertThat(lines.get(0)).contains("\"text\": \"five\"", "\"location\": \"line 2\"");

        String copy = "replay-copy-" + System.nanoTime();
        try (Admin admin = Admin.create(KafkaClients.common(kafka.bootstrapServers(), "it-admin"))) {
            admin.createTopics(List.of(new NewTopic(copy, 1, (short) 1))).all().get();
        }
        assertThat(Cli.run("replay", "--topic", "primes.rejected", "--to-topic", copy, "--bootstrap-servers",
            kafka.bootstrapServers())).isEqualTo(Cli.EXIT_OK);
        console.resetOut();
        assertThat(Cli.run("replay", "--topic", copy, "--bootstrap-servers", kafka.bootstrapServers()))
            .isEqualTo(Cli.EXIT_OK);
        assertThat(console.out().lines().filter(l -> l.contains("r.txt"))
            .map(l -> l.substring(l.indexOf("\"key\""))).toList())
            .as("the copy decodes to the same keys and values")
            .isEqualTo(lines.stream().map(l -> l.substring(l.indexOf("\"key\""))).toList());
    }
}
