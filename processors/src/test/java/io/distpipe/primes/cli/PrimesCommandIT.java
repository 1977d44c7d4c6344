package io.distpipe.primes.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.Ports;
import io.distpipe.common.command.Cli;
import io.distpipe.primes.work.PrimeWorker;
import io.distpipe.testkit.PrimesOracle;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.serde.AvroSerdes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code distpipe primes} as a user runs it: summary, exit codes, unreachable brokers. */
class PrimesCommandIT {

    private static EmbeddedKafka kafka;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;

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

    @BeforeEach
    void capture() {
        savedOut = System.out;
        savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(savedOut);
        System.setErr(savedErr);
    }

    @Test
    void shouldPrintASummaryAndExitWithOneWhenLinesWereRejectedAndFailOnRejectIsSet() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("a.txt"), "2\n3\n4\nfive\n97\n");
        Path output = dir.resolve("primes.txt");

        int code = Cli.run("primes", "--input", input.toString(), "--output", output.toString(), "--workers", "1",
            "--bootstrap-servers", kafka.bootstrapServers(), "--fail-on-reject");

        assertThat(code).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(Files.readString(output)).isEqualTo("2\n3\n97\n");
        String summary = out.toString(StandardCharsets.UTF_8);
        assertThat(summary).contains("completed in", "numbers read     4", "rejected lines   1",
            "primes (unique)  3");
        assertThat(err.toString(StandardCharsets.UTF_8))
            .contains("distpipe primes: 1 input lines were rejected (--fail-on-reject)");
    }

    @Test
    void shouldFailInOneSentenceWhenTheBrokerIsUnreachable() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("a.txt"), "7\n");
        Path output = dir.resolve("primes.txt");
        String nowhere = "127.0.0.1:" + Ports.freePort();

        int code = Cli.run("primes", "--input", input.toString(), "--output", output.toString(),
            "--bootstrap-servers", nowhere, "--registry-url", "mem://primes-command-it");

        assertThat(code).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(err.toString(StandardCharsets.UTF_8).strip())
            .startsWith("distpipe primes: Cannot reach the Kafka cluster at " + nowhere).hasLineCount(1);
        assertThat(output).doesNotExist();
    }

    /**
     * A worker on the cluster that cannot read the tasks (its registry has never heard of their schemas: poison, not
     * an outage) dead-letters the tasks it gets. The job does not wait for them for ever: it ends, writes what it has,
     * says how many records were dead-lettered and exits 1.
     */
    @Test
    void shouldEndIncompleteAndExitWithOneWhenAWorkerDeadLettersTasks() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        PrimesOracle oracle = new PrimesOracle(30_000);
        oracle.writeRange(input.resolve("a.txt"), 1, 30_000);
        Path output = dir.resolve("primes.txt");
        PrimeWorker blind = PrimeWorker.create(PrimeWorker.Config.defaults("blind-worker", kafka.bootstrapServers()),
            new AvroSerdes(new InMemorySchemaRegistry()));
        blind.start();
        ExecutorService loop = Executors.newSingleThreadExecutor();
        loop.submit(blind::run);
        try {
            int code = Cli.run("primes", "--input", input.toString(), "--output", output.toString(), "--workers",
                "1", "--chunk-size", "1000", "--bootstrap-servers", kafka.bootstrapServers());

            assertThat(blind.poisonRecords()).as("tasks the blind worker dead-lettered").isPositive();
            assertThat(code).isEqualTo(Cli.EXIT_FAILURE);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("distpipe primes: " + blind.poisonRecords()
                + " records dead-lettered, output incomplete");
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("INCOMPLETE       " + blind.poisonRecords()
                + " record(s) dead-lettered (" + blind.poisonRecords() + " task(s) on primes.tasks.dlq, 0 on "
                + "primes.found.dlq)");
            List<String> written = Files.readAllLines(output);
            assertThat(oracle.expectedLines()).containsAll(written);
            assertThat(written).hasSizeLessThan(oracle.expectedCount());
        } finally {
            blind.close();
            loop.shutdownNow();
        }
    }
}
