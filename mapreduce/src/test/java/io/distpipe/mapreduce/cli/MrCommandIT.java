package io.distpipe.mapreduce.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.common.Service;
import io.distpipe.common.command.Cli;
import io.distpipe.mapreduce.engine.Indexer;
import io.distpipe.mapreduce.engine.MrCoordinator;
import io.distpipe.mapreduce.engine.MrWorker;
import io.distpipe.mapreduce.engine.Sequential;
import io.distpipe.testkit.ConsoleCapture;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code distpipe mr} as a user runs it: an embedded run, a run on a cluster, status, and refusals. */
class MrCommandIT {

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @TempDir
    Path dir;

    private Path input() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("a.txt"), "The cat sat on the mat. The end.");
        Files.writeString(input.resolve("b.txt"), "A cat, a hat; the cat's hat!");
        Files.writeString(input.resolve("c.txt"), "Über Straße, the end");
        Files.writeString(input.resolve(".hidden"), "ignored");
        return input;
    }

    private static List<String> merged(Path output) throws Exception {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.list(output)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("mr-out-")).toList()) {
                lines.addAll(Files.readAllLines(f));
            }
        }
        lines.sort(null);
        return lines;
    }

    @Test
    void shouldRunAnIndexerJobOnAnEmbeddedBrokerAndRefuseToOverwriteItsOutput() throws Exception {
        Path input = input();
        Path output = dir.resolve("out");

        int code = Cli.run("mr", "submit", "--app", "indexer", "--input", input.toString(), "--reduces", "3",
            "--output", output.toString(), "--workers", "2");

        String printed = console.out();
        assertThat(code).as(printed + console.err()).isEqualTo(Cli.EXIT_OK);
        assertThat(printed).contains("INITIALIZING", "MAPPING", "SHUFFLING", "REDUCING", "FINALIZING",
            "IDLE         SUCCEEDED", "SUCCEEDED in", "3 map tasks, 3 reduce tasks");
        List<String> expected = new ArrayList<>(Sequential.run(new Indexer(), List.of(input.resolve("a.txt"),
            input.resolve("b.txt"), input.resolve("c.txt"))));
        expected.sort(null);
        assertThat(merged(output)).isEqualTo(expected).contains("cat 2 a.txt,b.txt", "Straße 1 c.txt");

        console.resetErr();
        int again = Cli.run("mr", "submit", "--app", "wc", "--input", input.toString(), "--output",
            output.toString());
        assertThat(again).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(console.err().strip()).startsWith("distpipe mr submit: Output directory")
            .contains("--overwrite").hasLineCount(1);
        assertThat(merged(output)).as("the earlier output is untouched").isEqualTo(expected);
    }

    @Test
    void shouldSubmitToARunningClusterAndShowTheJobsStatusPerWorker() throws Exception {
        Path input = input();
        String registry = "mem://mr-command-it";
        AvroSerdes serdes = AvroSerdes.connect(registry);
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary()) {
            MrCoordinator coordinator = new MrCoordinator(new MrCoordinator.Config("mr-coordinator",
                kafka.bootstrapServers(), 2, 1), serdes);
            coordinator.start();
            Thread c = new Thread(coordinator::run);
            c.start();
            MrWorker worker = MrWorker.create(MrWorker.Config.defaults("worker-x", kafka.bootstrapServers()), serdes);
            worker.start();
            Thread w = new Thread(worker::run);
            w.start();
            try {
                int code = Cli.run("mr", "submit", "--app", "wc", "--input", input.toString(), "--output",
                    dir.resolve("out").toString(), "--reduces", "2", "-b", kafka.bootstrapServers(), "-r", registry);
                String printed = console.out();
                assertThat(code).as(printed + console.err()).isEqualTo(Cli.EXIT_OK);
                String job = printed.lines().filter(l -> l.startsWith("Job ")).findFirst().orElseThrow()
                    .split("[ :]")[1];
                assertThat(merged(dir.resolve("out"))).contains("cat 3", "the 3", "The 2", "hat 2", "Über 1");

                console.resetOut();
                assertThat(Cli.run("mr", "status", "-b", kafka.bootstrapServers(), "-r", registry))
                    .isEqualTo(Cli.EXIT_OK);
                assertThat(console.out()).contains(job, "wc", "IDLE", "SUCCEEDED", "3/3",
                    "2/2");

                console.resetOut();
                assertThat(Cli.run("mr", "status", job, "-b", kafka.bootstrapServers(), "-r", registry))
                    .isEqualTo(Cli.EXIT_OK);
                assertThat(console.out()).contains("outcome    SUCCEEDED", "maps       3/3",
                    "worker-x", "    3       2");

                console.resetErr();
                assertThat(Cli.run("mr", "status", "no-such-job", "-b", kafka.bootstrapServers(), "-r", registry))
                    .isEqualTo(Cli.EXIT_FAILURE);
                assertThat(console.err()).contains("no job no-such-job");

                // A command no schema reads: dead-lettered with its reason, its job FAILED, and mr status says so.
                try (KafkaProducer<byte[], byte[]> raw = new KafkaProducer<>(KafkaClients.producer(
                    kafka.bootstrapServers(), "mr-command-it-raw"))) {
                    raw.send(new ProducerRecord<>(Topics.MR_COMMANDS.name(), serdes.keySerde(Topics.MR_COMMANDS)
                        .serializer().serialize(Topics.MR_COMMANDS.name(), "garbled-1"),
                        "not a command".getBytes(StandardCharsets.UTF_8))).get();
                }
                Poll.until("mr status to show the unreadable command dead-lettered", Duration.ofSeconds(30), () -> {
                    console.resetOut();
                    Cli.run("mr", "status", "-b", kafka.bootstrapServers(), "-r", registry);
                    return console.out().contains("1 unreadable job command dead-lettered to mr.jobs.commands.dlq");
                });
                assertThat(console.out()).containsPattern("garbled-1 +IDLE +FAILED");
                console.resetOut();
                assertThat(Cli.run("mr", "status", "garbled-1", "-b", kafka.bootstrapServers(), "-r", registry))
                    .isEqualTo(Cli.EXIT_OK);
                assertThat(console.out()).contains("outcome    FAILED",
                    "reason     the submit command mr.jobs.commands-0@", "it was sent to mr.jobs.commands.dlq");
                assertThat(coordinator.deadLetteredCommands()).isEqualTo(1);
                assertThat(coordinator.state()).isEqualTo(Service.State.RUNNING);
            } finally {
                worker.close();
                coordinator.close();
                w.join(30_000);
                c.join(30_000);
            }
        }
    }

    @Test
    void shouldRefuseAnUnknownAppAsAUsageError() throws Exception {
        assertThat(Cli.run("mr", "submit", "--app", "grep", "--input", input().toString())).isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("unknown --app grep");
    }
}
