package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.distpipe.common.command.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The newcomer's first hour, through {@code bin/distpipe} exactly as a user runs it (the production logging setup,
 * not the tests'): an error is one sentence printed once, a reason is never "null", an unreachable cluster reads the
 * same in every command, and a missing system is not a usage error.
 */
class CommandLineIT {

    private static final Path PROJECT = Path.of("..").toAbsolutePath().normalize();
    private static final int REACH_MS = 2000;

    @TempDir
    Path home;

    record Run(int code, String out, String err) {
    }

    private Run distpipe(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PROJECT.resolve("bin/distpipe").toString()));
        command.addAll(List.of(args));
        Path out = home.resolve("stdout");
        Path err = home.resolve("stderr");
        ProcessBuilder builder = new ProcessBuilder(command).directory(home.toFile())
            .redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().put("DISTPIPE_HOME", home.toString());
        builder.environment().put("DISTPIPE_JAVA_OPTS", "-Xmx256m -D" + "distpipe.reach.timeout.ms=" + REACH_MS);
        Process process = builder.start();
        assertThat(process.waitFor(90, TimeUnit.SECONDS)).as("distpipe " + String.join(" ", args) + " ended").isTrue();
        return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void shouldPrintAnErrorOnceAndKeepItInTheLogFile() throws Exception {
        Run run = distpipe("primes", "--input", home.resolve("missing").toString());

        assertThat(run.code()).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(run.err()).isEqualTo("distpipe primes: Input directory " + home.resolve("missing")
            + " does not exist or is not a directory.\n");
        assertThat(Files.readString(home.resolve("logs/primes.log"))).contains("Command failed: Input directory");
    }

    @Test
    void shouldSayWhyTheRegistryCannotBeReached() throws Exception {
        Path input = Files.createDirectories(home.resolve("in"));
        Files.writeString(input.resolve("a.txt"), "7\n");

        Run run = distpipe("primes", "--input", input.toString(), "--output", home.resolve("p.txt").toString(),
            "--registry-url", "http://127.0.0.1:1");

        assertThat(run.code()).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(run.err()).hasLineCount(1)
            .startsWith("distpipe primes: Schema registry at http://127.0.0.1:1 is unreachable: ")
            .doesNotContain("null").doesNotContain("Exception");
        assertThat(home.resolve("p.txt")).doesNotExist();
    }

    private static final String NO_REGISTRY_NOTE = "note: no --registry-url given, so schemas are registered in and "
        + "read from an in-process registry (mem://distpipe) that no other process sees; give the cluster's registry "
        + "with -r URL to share them.\n";

    @Test
    void shouldReportAnUnreachableClusterInOneSentenceAndOneBoundForEveryCommand() throws Exception {
        String sentence = ": Cannot reach the Kafka cluster at 127.0.0.1:1 within 2 s.\n";
        for (String command : new String[] {"topics create", "consume --topic primes.unique",
            "replay --topic primes.unique", "status", "kv get a", "mr status j"}) {
            List<String> args = new ArrayList<>(List.of(command.split(" ")));
            args.addAll(List.of("--bootstrap-servers", "127.0.0.1:1"));
            long started = System.nanoTime();
            Run run = distpipe(args.toArray(String[]::new));
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);

            String name = command.startsWith("kv ") || command.startsWith("mr ") || command.startsWith("topics ")
                ? String.join(" ", List.of(command.split(" ")).subList(0, 2)) : command.split(" ")[0];
            assertThat(run.code()).as(command).isEqualTo(Cli.EXIT_FAILURE);
            // Without -r, the note on the in-process registry comes first: it is not the error.
            assertThat(run.err()).as(command).isEqualTo(NO_REGISTRY_NOTE + "distpipe " + name + sentence);
            assertThat(seconds).as(command + " waited about the bound, not Kafka's own 60 s").isLessThan(30);
        }
    }

    @Test
    void shouldSayThatNoSystemRunsWithoutTheUsageText() throws Exception {
        Run run = distpipe("status");

        assertThat(run.code()).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(run.err()).isEqualTo("distpipe status: No running system found in " + home.resolve("run")
            + " (start one with bin/start_system.sh) and no --bootstrap-servers given, so status has no Kafka cluster "
            + "to use.\n");
    }

    @Test
    void shouldWriteTheOutputWithTheUmaskMode() throws Exception {
        Path input = Files.createDirectories(home.resolve("in"));
        Files.writeString(input.resolve("a.txt"), "7\n11\nx\n");
        Path probe = Files.createFile(home.resolve("probe"));

        Run run = distpipe("primes", "--input", input.toString(), "--output", home.resolve("p.txt").toString(),
            "--workers", "1");

        assertThat(run.code()).as(run.err()).isEqualTo(Cli.EXIT_OK);
        assertThat(Files.readString(home.resolve("p.txt"))).isEqualTo("7\n11\n");
        for (Path written : new Path[] {home.resolve("p.txt"), home.resolve("p.txt.rejected.tsv")}) {
            assertThat(Files.getPosixFilePermissions(written)).as(written.toString())
                .isEqualTo(Files.getPosixFilePermissions(probe));
        }
        try (Stream<Path> left = Files.list(home)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(name -> name.endsWith(".tmp"));
        }
    }
}
