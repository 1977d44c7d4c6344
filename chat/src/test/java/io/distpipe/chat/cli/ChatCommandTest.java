package io.distpipe.chat.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.distpipe.common.command.Cli;
import io.distpipe.testkit.ConsoleCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code distpipe chat} as a user meets it before any node starts: help, usage errors, script checking. */
class ChatCommandTest {

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @TempDir
    Path dir;

    @Test
    void shouldDescribeTheConsoleAndEveryClientOperationInHelp() {
        assertThat(Cli.run("chat", "demo", "--help")).isEqualTo(Cli.EXIT_OK);
        assertThat(console.out()).contains("status", "fail N|leader", "start N|all",
            "expect ok|fail", "--script");
        console.resetOut();
        assertThat(Cli.run("chat", "client", "--help")).isEqualTo(Cli.EXIT_OK);
        assertThat(console.out()).contains("create-account", "login", "send", "read",
            "list-users");
    }

    @Test
    void shouldRefuseABadScriptLineBeforeStartingAnyNode() throws Exception {
        Path script = Files.write(dir.resolve("bad.chat"), List.of("status", "fail 9"));

        assertThat(Cli.run("chat", "demo", "--script", script.toString(), "--dir", dir.resolve("data").toString()))
            .isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("line 2: 'fail 9' is not a command");
        assertThat(dir.resolve("data")).doesNotExist();
    }

    @Test
    void shouldRequireTheClusterAndRegistryForAClient() {
        assertThat(Cli.run("chat", "client", "list-users")).isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("--bootstrap-servers", "--registry-url");
    }

    @Test
    void shouldTakeKafkaToolsSpellingOfTheBootstrapOption() {
        assertThat(Cli.run("chat", "client", "--bootstrap-server", "127.0.0.1:1", "list-users"))
            .isEqualTo(Cli.EXIT_USAGE);
        assertThat(console.err()).contains("--registry-url").doesNotContain("'--bootstrap-servers");
    }
}
