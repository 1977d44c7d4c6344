package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import io.distpipe.common.command.Cli;
import io.distpipe.testkit.ConsoleCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code distpipe consume} as a user meets it before any broker is involved: help and usage errors. */
class ConsumeCommandTest {

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @TempDir
    Path dir;

    @Test
    void shouldExplainItselfInHelp() {
        assertThat(Main.run("consume", "--help")).isEqualTo(Cli.EXIT_OK);
        assertThat(console.out()).startsWith("Usage: distpipe consume")
            .contains("--from-beginning", "--max", "--timeout-ms", "--print-schema-id", "--registry-url");
    }

    @Test
    void shouldRefuseAMissingTopicAndABadMaxWithExitTwo() {
        assertThat(Main.run("consume")).isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("Missing required option: '--topic=TOPIC'");
        console.resetErr();

        assertThat(Main.run("consume", "--topic", "primes.unique", "--max", "0", "--bootstrap-servers",
            "127.0.0.1:1")).isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("--max must be at least 1, not 0");
    }

    @Test
    void shouldTakeTheConsoleConsumersOffsetOnlyWithAPartitionAndSayWhatIsWrong() {
        String[] cluster = {"--bootstrap-servers", "127.0.0.1:1", "--registry-url", "mem://c"};
        for (String[] wrong : new String[][] {{"--offset", "5"}, {"--partition", "0", "--offset", "-3"},
            {"--partition", "0", "--offset", "soon"}, {"--partition", "0", "--offset", "0", "--from-beginning"}}) {
            console.resetErr();
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("consume", "--topic", "t"));
            args.addAll(java.util.List.of(wrong));
            args.addAll(java.util.List.of(cluster));
            assertThat(Main.run(args.toArray(String[]::new))).as(String.join(" ", wrong)).isEqualTo(Cli.EXIT_USAGE);
        }
        assertThat(console.err()).contains("--offset and --from-beginning both say where to start: give one");
        console.resetErr();
        Main.run("consume", "--topic", "t", "--offset", "5", "--bootstrap-servers", "127.0.0.1:1");
        assertThat(console.err()).contains("--offset needs --partition");
        console.resetErr();
        Main.run("consume", "--topic", "t", "--partition", "0", "--offset", "soon", "--bootstrap-servers",
            "127.0.0.1:1");
        assertThat(console.err()).contains("--offset is a non-negative offset, earliest or latest, not 'soon'");
        assertThat(Main.run("consume", "--help")).isEqualTo(Cli.EXIT_OK);
        assertThat(console.out()).contains("--max-messages", "--partition", "--offset", "--property");
    }
}
