package io.distpipe.cli;

import java.util.concurrent.Callable;

import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code distpipe registry}: a small in-memory schema registry over the Confluent REST API, until SIGTERM. */
@Command(name = "registry", mixinStandardHelpOptions = true,
    description = {"Serve an in-memory schema registry speaking the Confluent REST API on 127.0.0.1.",
        "For local multi-process runs and tests; its schemas are lost when it stops."})
final class RegistryCommand implements Callable<Integer> {

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", defaultValue = "8081",
        description = "Port to listen on (0 picks a free one; default ${DEFAULT-VALUE}).")
    int port;

    @Override
    public Integer call() throws Exception {
        try (Daemon daemon = Daemon.start("registry", () -> { });
             SchemaRegistryServer server = SchemaRegistryServer.start(new InMemorySchemaRegistry(), port)) {
            System.out.println("READY " + server.url());
            System.out.flush();
            daemon.awaitStop();
        }
        return Main.EXIT_OK;
    }
}
