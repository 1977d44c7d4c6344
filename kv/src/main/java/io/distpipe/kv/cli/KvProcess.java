package io.distpipe.kv.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.Logs;

/**
 * One process of the key-value store ({@code distpipe kv worker|coordinator} or a broker) in its own JVM on this
 * JVM's classpath, detached: its output goes to {@code <dir>/<name>.out}, its pid to {@code <dir>/<name>.pid}, so it
 * outlives the command that started it and {@code kv down} (or a test's SIGKILL) can stop it.
 */
final class KvProcess {

    static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

    private KvProcess() {
    }

    /** {@code distpipe <args>} as process {@code name}, to be launched (or started: launched and awaited). */
    static ChildJvm.Spec spec(String name, Path runDir, Path logDir, String heap, List<String> args) {
        return ChildJvm.spec(name, Cli.class.getName(), runDir.resolve(name + ".out"))
            .withJvmOptions("-Xmx" + heap, "-XX:+UseSerialGC", "-D" + Logs.DIR_PROPERTY + "=" + logDir,
                "-D" + Logs.PROCESS_PROPERTY + "=" + name)
            .withArgs(args)
            .withPidFile(runDir.resolve(name + ".pid"))
            .withReadyTimeout(READY_TIMEOUT);
    }
}
