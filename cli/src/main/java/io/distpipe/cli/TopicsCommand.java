package io.distpipe.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code distpipe topics list|create}: the topic catalog, printed or created on a cluster. */
@Command(name = "topics", mixinStandardHelpOptions = true, description = "The topic catalog.",
    subcommands = {TopicsCommand.ListTopics.class, TopicsCommand.CreateTopics.class})
final class TopicsCommand {

    @Command(name = "list", mixinStandardHelpOptions = true,
        description = "Print every topic of the catalog: layout, key and value types, writer.")
    static final class ListTopics implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            String format = "%-30s %4s %4s %6s %-8s %-13s %-18s %s%n";
            out.printf(format, "TOPIC", "PART", "REPL", "MINISR", "CLEANUP", "KEY", "VALUE", "WRITER");
            for (TopicSpec<?, ?> t : Topics.ALL) {
                out.printf(format, t.name() + (t.internal() ? " *" : ""), t.partitions(), t.replicationFactor(),
                    t.minInsyncReplicas(), t.cleanup().policy(), typeName(t.keyType()), typeName(t.valueType()),
                    t.writer());
            }
            out.println("* not created by topics create: Kafka Streams creates its changelogs, the MapReduce "
                + "coordinator one mr.intermediate.<job> per job. Replication and min ISR are capped to the brokers "
                + "available.");
            out.flush();
            return Cli.EXIT_OK;
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
        description = "Create the catalog's topics on a cluster (existing ones are left alone) and register schemas.")
    static final class CreateTopics implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        ClusterOptions cluster;

        @Option(names = "--replication", paramLabel = "N", defaultValue = "3",
            description = "Highest replication factor to use (capped to the brokers; default ${DEFAULT-VALUE}).")
        int replication;

        @Option(names = "--no-schemas", description = "Only create the topics; register the schemas later (used "
            + "before a registry that keeps its storage in a topic is started).")
        boolean noSchemas;

        @Override
        public Integer call() {
            if (cluster.bootstrapServers == null) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                    "topics create needs --bootstrap-servers");
            }
            try (Admin admin = KafkaClients.reachableAdmin(cluster.bootstrapServers, "distpipe-topics")) {
                List<TopicAdmin.Outcome> outcomes = TopicAdmin.ensureTopics(admin, Topics.external(), replication);
                if (!noSchemas) {
                    TopicAdmin.registerSchemas(AvroSerdes.connect(cluster.registryUrl).registry(), Topics.ALL);
                }
                PrintWriter out = spec.commandLine().getOut();
                for (TopicAdmin.Outcome o : outcomes) {
                    out.printf("%-8s %-30s partitions %d, replication %d%s%n",
                        o.created() ? "created" : o.aligned().isEmpty() ? "exists" : "aligned", o.spec().name(),
                        o.partitions(), o.replication(), o.aligned().isEmpty() ? "" : "; set " + o.aligned());
                }
                out.flush();
            }
            return Cli.EXIT_OK;
        }
    }

    private static final Map<Class<?>, String> PRIMITIVES = Map.of(String.class, "string", Long.class, "long",
        byte[].class, "raw bytes");

    static String typeName(Class<?> type) {
        return PRIMITIVES.getOrDefault(type, type.getSimpleName());
    }

}
