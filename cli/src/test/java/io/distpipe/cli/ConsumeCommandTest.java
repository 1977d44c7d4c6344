package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code distpipe consume} as a user meets it before any broker is involved: help and usage errors. */
class ConsumeCommandTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;

    @TempDir
    Path dir;

    @BeforeEach
    void capture() {
        savedOut = System.out;
        savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        System.setProperty(Logs.DIR_PROPERTY, dir.resolve("logs").toString());
    }

    @AfterEach
    void restore() {
        System.setOut(savedOut);
        System.setErr(savedErr);
    }

    @Test
    void shouldExplainItselfInHelp() {
        assertThat(Main.run("consume", "--help")).isEqualTo(Main.EXIT_OK);
        assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("Usage: distpipe consume")
            .contains("--from-beginning", "--max", "--timeout-ms", "--print-schema-id", "--registry-url");
    }

    @Test
    void shouldRefuseAMissingTopicAndABadMaxWithExitTwo() {
        assertThat(Main.run("consume")).isEqualTo(Main.EXIT_USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("Missing required option: '--topic=TOPIC'");
        err.reset();

        assertThat(Main.run("consume", "--topic", "primes.unique", "--max", "0", "--bootstrap-servers",
            "127.0.0.1:1")).isEqualTo(Main.EXIT_USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--max must be at least 1, not 0");
    }
}
