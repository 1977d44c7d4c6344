package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.distpipe.testkit.Tools;
import org.junit.jupiter.api.Test;

/** The shell scripts pass shellcheck (skipped, and said so, where shellcheck is not installed; required in CI). */
class ScriptsLintTest {

    private static final Path PROJECT = Path.of(System.getProperty("user.dir")).getParent();

    @Test
    void shouldPassShellcheck() throws IOException, InterruptedException {
        Tools.require(Files.isExecutable(Path.of("/usr/bin/shellcheck")), "shellcheck is not installed (apt-get install "
            + "shellcheck)");
        List<String> command = List.of("/usr/bin/shellcheck", "bin/distpipe", "bin/start_system.sh",
            "bin/stop_system.sh", ".ci/run", "docker/distpipe");
        Process shellcheck = new ProcessBuilder(command).directory(PROJECT.toFile()).redirectErrorStream(true).start();
        String output = new String(shellcheck.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(shellcheck.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(shellcheck.exitValue()).as(output).isZero();
    }
}
