package io.distpipe.common.command;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import picocli.CommandLine.Option;

/** Where a Kafka Streams process keeps its state, and how its internal topics are replicated. */
public final class StreamsOptions {

    @Option(names = "--state-dir", paramLabel = "DIR",
        description = "Kafka Streams state directory (default run/<command>-state).")
    public Path stateDir;

    @Option(names = "--replication", paramLabel = "N", defaultValue = "1",
        description = "Replication of its internal topics (default ${DEFAULT-VALUE}).")
    public int replication;

    /** The state directory, created if needed: the option, or run/{@code name}-state. */
    public Path stateDir(String name) throws IOException {
        Path dir = stateDir == null ? Path.of("run", name + "-state") : stateDir;
        return Files.createDirectories(dir).toAbsolutePath();
    }
}
