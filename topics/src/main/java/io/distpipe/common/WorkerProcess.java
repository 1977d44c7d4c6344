package io.distpipe.common;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.Logs;

/**
 * Processes of our CLI in child JVMs on this JVM's class path ({@code distpipe worker}, {@code distpipe replica}...),
 * launched by {@link ChildJvm}: a 256 MB heap, their log under the given directory, their output in
 * {@code <logDir>/<id>.out}, stopped when this JVM exits.
 */
public final class WorkerProcess {

    private WorkerProcess() {
    }

    /** {@code distpipe <args>} as process {@code id}, to be customised and launched; it must print READY. */
    public static ChildJvm.Spec spec(String id, Path logDir, List<String> args) {
        return ChildJvm.spec(id, Cli.class.getName(), logDir.resolve(id + ".out"))
            .withJvmOptions("-Xmx256m", "-D" + Logs.DIR_PROPERTY + "=" + logDir)
            .withArgs(args)
            .stoppedWithParent();
    }

    /** A primes worker ({@code distpipe worker}), started once it printed READY. */
    public static ChildJvm start(String id, String bootstrap, String registryUrl, Path logDir) throws IOException {
        return start(id, List.of("worker", "--id", id, "--bootstrap-servers", bootstrap, "--registry-url",
            registryUrl), logDir);
    }

    /** A child JVM running {@code distpipe <arguments>}, started once it printed READY. */
    public static ChildJvm start(String id, List<String> arguments, Path logDir) throws IOException {
        return spec(id, logDir, arguments).start();
    }
}
