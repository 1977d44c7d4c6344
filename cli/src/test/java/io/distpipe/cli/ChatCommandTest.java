package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code distpipe chat} as a user meets it before any node starts: help, usage errors, script checking. */
class ChatCommandTest {

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
    void shouldDescribeTheConsoleAndEveryClientOperationInHelp() {
        assertThat(Main.run("chat", "demo", "--help")).isEqualTo(Main.EXIT_OK);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("status", "fail N|leader", "start N|all",
            "expect ok|fail", "--script");
        out.reset();
        assertThat(Main.run("chat", "client", "--help")).isEqualTo(Main.EXIT_OK);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("create-account", "login", "send", "read",
            "list-users");
    }

    @Test
    void shouldRefuseABadScriptLineBeforeStartingAnyNode() throws Exception {
        Path script = Files.write(dir.resolve("bad.chat"), List.of("status", "fail 9"));

        assertThat(Main.run("chat", "demo", "--script", script.toString(), "--dir", dir.resolve("data").toString()))
            .isEqualTo(Main.EXIT_USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("line 2: 'fail 9' is not a command");
        assertThat(dir.resolve("data")).doesNotExist();
    }

    @Test
    void shouldRequireTheClusterAndRegistryForAClient() {
        assertThat(Main.run("chat", "client", "list-users")).isEqualTo(Main.EXIT_USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--bootstrap-servers", "--registry-url");
    }
}
