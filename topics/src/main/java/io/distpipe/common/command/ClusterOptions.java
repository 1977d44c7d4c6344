package io.distpipe.common.command;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import picocli.CommandLine.Option;

/**
 * Where the Kafka cluster and the schema registry are; shared by every command that talks to them. Commands that
 * join a running system ({@link #orRunningSystem()}) find it in {@code run/} when no option is given.
 */
public final class ClusterOptions {

    public static final String REGISTRY_DEFAULT = "mem://distpipe";

    @Option(names = {"-b", "--bootstrap-servers", "--bootstrap-server"}, paramLabel = "HOST:PORT[,...]",
        description = "Kafka cluster to use (--bootstrap-server, Kafka tools' spelling, works too). Without it, an "
            + "embedded single-node broker is started (where the command supports it).")
    public String bootstrapServers;

    @Option(names = {"-r", "--registry-url"}, paramLabel = "URL", defaultValue = REGISTRY_DEFAULT,
        description = "Schema registry speaking the Confluent REST API (http://...), or mem://NAME for an in-process "
            + "one. Default: ${DEFAULT-VALUE}.")
    public String registryUrl;

    /** Overrides DISTPIPE_HOME for one JVM (tests run commands in-process). */
    public static final String HOME_PROPERTY = "distpipe.home";

    /** The run/ directory of bin/start_system.sh: under DISTPIPE_HOME, or the current directory. */
    public static Path runDirectory() {
        String home = System.getProperty(HOME_PROPERTY, System.getenv("DISTPIPE_HOME"));
        return Path.of(home == null || home.isBlank() ? "." : home, "run");
    }

    /**
     * Fills in what was not given from the system started by bin/start_system.sh ({@code run/bootstrap},
     * {@code run/registry-url} under DISTPIPE_HOME or the current directory).
     */
    public ClusterOptions orRunningSystem() throws IOException {
        Path run = runDirectory();
        if (bootstrapServers == null && Files.isReadable(run.resolve("bootstrap"))) {
            bootstrapServers = Files.readString(run.resolve("bootstrap")).strip();
        }
        if (REGISTRY_DEFAULT.equals(registryUrl) && Files.isReadable(run.resolve("registry-url"))) {
            registryUrl = Files.readString(run.resolve("registry-url")).strip();
        }
        return this;
    }
}
