package io.distpipe.primes.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.Ports;
import io.distpipe.common.command.Cli;
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
            "--bootstrap-servers", nowhere);

        assertThat(code).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(err.toString(StandardCharsets.UTF_8).strip())
            .startsWith("distpipe primes: Cannot reach the Kafka cluster at " + nowhere).hasLineCount(1);
        assertThat(output).doesNotExist();
    }
}
