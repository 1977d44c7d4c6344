package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.testkit.ConsoleCapture;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a user meets it: help, exit codes and one-sentence errors (no broker needed). */
class MainTest {

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @TempDir
    Path dir;

    @Test
    void shouldListEveryCommandInHelp() {
        assertThat(Main.run("--help")).isEqualTo(Cli.EXIT_OK);
        assertThat(console.out()).contains("primes", "topics", "worker", "registry");
    }

    @Test
    void shouldHaveHelpOnEverySubcommand() {
        for (String command : new String[] {"primes", "topics", "worker", "registry"}) {
            console.resetOut();
            assertThat(Main.run(command, "--help")).as(command).isEqualTo(Cli.EXIT_OK);
            assertThat(console.out()).as(command).startsWith("Usage: distpipe " + command);
        }
    }

    @Test
    void shouldOfferTheReplicatedServerCommands() {
        for (String[] command : new String[][] {{"replica"}, {"replica-manager"}, {"replica-client"},
            {"replicas", "demo"}, {"bench", "replicas"}}) {
            console.resetOut();
            assertThat(Main.run(String.join(" ", command).concat(" --help").split(" "))).isEqualTo(Cli.EXIT_OK);
            assertThat(console.out()).as(String.join(" ", command)).startsWith("Usage: distpipe " + String.join(" ", command));
        }
    }

    @Test
    void shouldRejectAnUnknownReplicationMode() {
        assertThat(Main.run("replica", "--id", "S1", "--mode", "sideways", "--bootstrap-servers", "localhost:1"))
            .isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("'sideways' is not a mode: use active or passive");
        console.resetErr();
        assertThat(Main.run("replicas", "demo")).isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("MODE");
    }

    @Test
    void shouldCheckTheMembershipTimingsBeforeLookingForACluster() {
        // No --bootstrap-servers and no running system: the options are judged first, as a usage error.
        assertThat(Main.run("membership", "--suspect-after", "5s", "--remove-after", "2s")).isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("suspect-after (5000 ms) must be shorter than remove-after (2000 ms)")
            .doesNotContain("No running system");
    }

    @Test
    void shouldPrintTheVersion() {
        assertThat(Main.run("--version")).isEqualTo(Cli.EXIT_OK);
        assertThat(console.out()).startsWith("distpipe ").contains("Kafka clients 4.3.1");
    }

    @Test
    void shouldExitWithTwoOnAUsageError() {
        assertThat(Main.run("primes", "--input", "x", "--no-such-option")).isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("Unknown option: '--no-such-option'");
        assertThat(Main.run("primes")).as("--input is required").isEqualTo(Cli.EXIT_USAGE);
    }

    @Test
    void shouldPrintTheWholeCatalog() {
        assertThat(Main.run("topics", "list")).isEqualTo(Cli.EXIT_OK);
        for (TopicSpec<?, ?> topic : Topics.ALL) {
            assertThat(console.out()).contains(topic.name());
        }
    }

    @Test
    void shouldFailInOneSentenceWhenTheInputDirectoryIsMissing() {
        int code = Main.run("primes", "--input", dir.resolve("missing").toString(), "--output",
            dir.resolve("p.txt").toString());

        assertThat(code).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(console.err().strip()).startsWith("distpipe primes: Input directory").endsWith("is not a directory.")
            .doesNotContain("Exception").hasLineCount(1);
        assertThat(dir.resolve("p.txt")).doesNotExist();
    }

    @Test
    void shouldFailInOneSentenceWhenThereAreNoInputFiles() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Files.writeString(empty.resolve(".hidden"), "7\n");

        int code = Main.run("primes", "--input", empty.toString(), "--output", dir.resolve("p.txt").toString());

        assertThat(code).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(console.err().strip()).isEqualTo("distpipe primes: Input directory " + empty + " has no input files.");
    }

    @Test
    void shouldFailInOneSentenceWhenTheOutputCannotBeWritten() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("a.txt"), "7\n");

        int code = Main.run("primes", "--input", input.toString(), "--output",
            dir.resolve("no/such/dir/p.txt").toString());

        assertThat(code).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(console.err().strip()).startsWith("distpipe primes: Cannot write the output").hasLineCount(1);
    }

    @Test
    void shouldRefuseAnOutputInsideTheInputDirectoryAndTouchNothing() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Path a = Files.writeString(input.resolve("a.txt"), "7\n11\n");
        Files.setPosixFilePermissions(a, PosixFilePermissions.fromString("rw-r--r--"));

        for (Path output : new Path[] {a, input.resolve("p.txt"), input.resolve("sub/deeper/p.txt"),
            dir.resolve("in/../in/q.txt")}) {
            console.resetErr();
            int code = Main.run("primes", "--input", input.toString(), "--output", output.toString());

            assertThat(code).as(output.toString()).isEqualTo(Cli.EXIT_FAILURE);
            assertThat(console.err().strip()).as(output.toString())
                .isEqualTo("distpipe primes: The output " + output + " is inside the input directory " + input
                    + "; choose an output outside it (nothing was written).");
        }
        assertThat(Files.readString(a)).isEqualTo("7\n11\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(a))).isEqualTo("rw-r--r--");
        try (Stream<Path> files = Files.walk(input)) {
            assertThat(files).containsExactly(input, a);
        }
    }

    @Test
    void shouldSayThatNoSystemRunsWithoutPrintingTheUsage() {
        String saved = System.getProperty(ClusterOptions.HOME_PROPERTY);
        System.setProperty(ClusterOptions.HOME_PROPERTY, dir.toString());
        try {
            for (String command : new String[] {"status", "worker --id worker-9", "consume --topic primes.unique",
                "replay --topic primes.unique"}) {
                console.resetErr();
                assertThat(Main.run(command.split(" "))).as(command).isEqualTo(Cli.EXIT_FAILURE);
                assertThat(console.err().strip()).as(command).hasLineCount(1)
                    .startsWith("distpipe " + command.split(" ")[0] + ": No running system found in " + dir.resolve("run"))
                    .doesNotContain("Usage");
            }
        } finally {
            if (saved == null) {
                System.clearProperty(ClusterOptions.HOME_PROPERTY);
            } else {
                System.setProperty(ClusterOptions.HOME_PROPERTY, saved);
            }
        }
    }

    @Test
    void shouldRefuseToReplayIntoAProtocolTopicBeforeLookingForACluster() {
        String saved = System.getProperty(ClusterOptions.HOME_PROPERTY);
        System.setProperty(ClusterOptions.HOME_PROPERTY, dir.toString());
        try {
            for (String target : new String[] {"kv.decisions", "primes.tasks", "mr.intermediate.job-7",
                "primes-dedup-seen-changelog", "__transaction_state", "my.copy"}) {
                console.resetErr();
                String source = target.equals("my.copy") ? "my.copy" : "primes.unique";
                assertThat(Main.run("replay", "--topic", source, "--to-topic", target)).as(target)
                    .isEqualTo(Cli.EXIT_USAGE);
                assertThat(console.err().lines().findFirst().orElse("")).as(target)
                    .startsWith("--to-topic " + target + " is ").endsWith("(nothing was written)");
            }
            console.resetErr();
            assertThat(Main.run("replay", "--topic", "primes.unique", "--to-topic", "kv.decisions",
                "--allow-catalog-topic")).as("allowed: it goes on to look for the cluster").isEqualTo(Cli.EXIT_FAILURE);
            assertThat(console.err()).contains("No running system found");
        } finally {
            if (saved == null) {
                System.clearProperty(ClusterOptions.HOME_PROPERTY);
            } else {
                System.setProperty(ClusterOptions.HOME_PROPERTY, saved);
            }
        }
    }

    @Test
    void shouldRefuseWorkersBelowOne() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("a.txt"), "7\n");

        assertThat(Main.run("primes", "--input", input.toString(), "--workers", "0")).isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("--workers must be at least 1");
    }

    @Test
    void shouldTakeClientPropertiesOnlyForAGivenClusterAndRefuseProtectedOnesInOneSentence() throws Exception {
        Path config = Files.writeString(dir.resolve("client.properties"), "security.protocol=SASL_PLAINTEXT\n");
        String saved = System.getProperty(ClusterOptions.HOME_PROPERTY);
        System.setProperty(ClusterOptions.HOME_PROPERTY, dir.toString());
        try {
            assertThat(Main.run("topics", "create", "--command-config", config.toString()))
                .isEqualTo(Cli.EXIT_USAGE);
            assertThat(console.err()).contains("--command-config and --property configure the clients of the "
                + "cluster given with --bootstrap-servers (or of the running system); the embedded broker takes none");
            console.resetErr();

            assertThat(Main.run("topics", "create", "-b", "localhost:1", "-r", "mem://t", "--property", "acks=1"))
                .isEqualTo(Cli.EXIT_USAGE);
            assertThat(console.err().lines().filter(l -> l.contains("cannot be set"))).as(console.err())
                .containsExactly("client property acks cannot be set: exactly once depends on it");
            console.resetErr();

            assertThat(Main.run("topics", "create", "-b", "localhost:1", "-r", "mem://t", "--command-config",
                dir.resolve("nope").toString())).isEqualTo(Cli.EXIT_USAGE);
            assertThat(console.err()).contains("cannot read the client properties file " + dir.resolve("nope"));
        } finally {
            io.distpipe.common.ClientProperties.use(null, java.util.List.of());
            if (saved == null) {
                System.clearProperty(ClusterOptions.HOME_PROPERTY);
            } else {
                System.setProperty(ClusterOptions.HOME_PROPERTY, saved);
            }
        }
    }

    @Test
    void shouldNameTheLogFileAfterTheProcess() {
        assertThat(Cli.processName(new String[] {"worker", "--id", "worker-3"})).isEqualTo("worker-3");
        assertThat(Cli.processName(new String[] {"-v", "primes", "--input", "x"})).isEqualTo("primes");
        assertThat(Cli.processName(new String[] {})).isEqualTo("distpipe");
    }
}
