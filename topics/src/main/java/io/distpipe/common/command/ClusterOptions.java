package io.distpipe.common.command;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.distpipe.common.ClientProperties;

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

    @Option(names = "--command-config", paramLabel = "FILE",
        description = "Client properties for every Kafka client of the command and the JVMs it starts, as Kafka's "
            + "tools take them (security.protocol, sasl.*, ssl.*, timeouts); basic.auth.user.info authenticates to "
            + "the registry. Without it, the file named by $DISTPIPE_COMMAND_CONFIG, if set.")
    public Path commandConfig;

    @Option(names = "--property", paramLabel = "KEY=VALUE",
        description = "A client property over those of --command-config; repeatable. For consume and replay, "
            + "print.key/value/timestamp/partition/offset/headers/schema.id=false|true and key.format/value.format "
            + "set the printed lines, as with Kafka's console consumer.")
    public List<String> properties = new ArrayList<>();

    /**
     * Makes {@link #commandConfig} and {@link #properties} the process's {@link ClientProperties} (none given: those
     * of the environment). They configure the clients of a given or running cluster: with neither, the command
     * would start an embedded broker, which takes none, so that is refused.
     *
     * @throws IllegalArgumentException saying what is wrong with them, in one sentence
     */
    public void useClientProperties() {
        boolean given = commandConfig != null || !properties.isEmpty();
        if (given && bootstrapServers == null && !Files.isReadable(runDirectory().resolve("bootstrap"))) {
            throw new IllegalArgumentException("--command-config and --property configure the clients of the "
                + "cluster given with --bootstrap-servers (or of the running system); the embedded broker takes none");
        }
        ClientProperties.use(commandConfig, properties);
    }

    /**
     * A note for a cluster given without a registry (and no running system's to fall back on): its schemas go to an
     * in-process registry nobody else reads. Null when there is nothing to say.
     */
    public String registryNotice() {
        if (bootstrapServers == null || !REGISTRY_DEFAULT.equals(registryUrl)
            || Files.isReadable(runDirectory().resolve("registry-url"))) {
            return null;
        }
        return "note: no --registry-url given, so schemas are registered in and read from an in-process registry ("
            + REGISTRY_DEFAULT + ") that no other process sees; give the cluster's registry with -r URL to share them";
    }

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
