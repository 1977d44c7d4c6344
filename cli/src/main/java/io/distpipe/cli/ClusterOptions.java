package io.distpipe.cli;

import picocli.CommandLine.Option;

/** Where the Kafka cluster and the schema registry are; shared by every command that talks to them. */
final class ClusterOptions {

    static final String REGISTRY_DEFAULT = "mem://distpipe";

    @Option(names = {"-b", "--bootstrap-servers"}, paramLabel = "HOST:PORT[,...]",
        description = "Kafka cluster to use. Without it, an embedded single-node broker is started (where the "
            + "command supports it).")
    String bootstrapServers;

    @Option(names = {"-r", "--registry-url"}, paramLabel = "URL", defaultValue = REGISTRY_DEFAULT,
        description = "Schema registry speaking the Confluent REST API (http://...), or mem://NAME for an in-process "
            + "one. Default: ${DEFAULT-VALUE}.")
    String registryUrl;
}
