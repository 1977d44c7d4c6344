package io.distpipe.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

import io.distpipe.common.ClientProperties;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.Daemon;
import io.distpipe.topics.console.AvroJsonFormatter;
import io.distpipe.topics.registry.SchemaRegistries;
import io.distpipe.topics.registry.SchemaRegistry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code distpipe consume}: Kafka's console consumer for people without a Kafka install, printing records with the
 * same {@link AvroJsonFormatter} that {@code kafka-console-consumer.sh --formatter} uses.
 */
@Command(name = "consume", mixinStandardHelpOptions = true, description = {
    "Print the records of a topic as one JSON object per line (topic, partition, offset, timestamp, key, value), "
        + "Avro decoded through the schema registry; raw bytes (dead-letter topics) as base64. Reads committed "
        + "records only, joins no consumer group and commits nothing. Runs until --max, --timeout-ms or Ctrl-C.",
    "Kafka's console consumer options work too: --max-messages, --partition, --offset, and --property "
        + "print.key=false (also print.value, print.timestamp, print.partition, print.offset, print.headers)."})
final class ConsumeCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-t", "--topic"}, required = true, paramLabel = "TOPIC", description = "Topic to read.")
    String topic;

    @Option(names = "--from-beginning", description = "Start at the oldest record (default: only new records).")
    boolean fromBeginning;

    @Option(names = {"--max", "--max-messages"}, paramLabel = "N",
        description = "Stop after N records (--max-messages, the console consumer's spelling, works too).")
    Long max;

    @Option(names = "--partition", paramLabel = "P", description = "Read only this partition.")
    Integer partition;

    @Option(names = "--offset", paramLabel = "OFFSET",
        description = "Where to start in --partition: a non-negative offset, earliest or latest (default: latest, "
            + "or earliest with --from-beginning).")
    String offset;

    @Option(names = "--timeout-ms", paramLabel = "MS",
        description = "Stop when no record arrived for this long (default: wait for more until Ctrl-C).")
    Long timeoutMs;

    @Option(names = "--print-schema-id", description = "Add keySchemaId and valueSchemaId to every line.")
    boolean printSchemaId;

    @Mixin
    ClusterOptions cluster;

    private static final long EARLIEST = -2;
    private static final long LATEST = -1;

    /** The checked --offset: a non-negative offset, {@link #EARLIEST}, {@link #LATEST}, or null when not given. */
    private Long startOffset() {
        if (offset == null) {
            return null;
        }
        if (partition == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--offset needs --partition");
        }
        if (fromBeginning) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--offset and --from-beginning both say where to start: give one");
        }
        switch (offset.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "earliest":
                return EARLIEST;
            case "latest":
                return LATEST;
            default:
                try {
                    long n = Long.parseLong(offset.strip());
                    if (n >= 0) {
                        return n;
                    }
                } catch (NumberFormatException e) {
                    // said below
                }
                throw new CommandLine.ParameterException(spec.commandLine(), "--offset is a non-negative offset, "
                    + "earliest or latest, not '" + offset + "'");
        }
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> config = KafkaClients.consumer(cluster.bootstrapServers, null, "distpipe-consume",
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT);
        // Asking for a topic that does not exist must not create it.
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        return config;
    }

    @Override
    public Integer call() throws Exception {
        if (max != null && max < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--max must be at least 1, not " + max);
        }
        if (timeoutMs != null && timeoutMs < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--timeout-ms must be at least 1");
        }
        Long startOffset = startOffset();
        Daemon.requireCluster(cluster, spec);
        PrintStream out = System.out;
        AtomicReference<KafkaConsumer<byte[], byte[]>> running = new AtomicReference<>();
        long count = 0;
        String stoppedBy;
        try (Daemon daemon = Daemon.start("consume", () -> {
                KafkaConsumer<byte[], byte[]> c = running.get();
                if (c != null) {
                    c.wakeup();
                }
            });
             SchemaRegistry registry = SchemaRegistries.connect(cluster.registryUrl);
             AvroJsonFormatter formatter = new AvroJsonFormatter(registry, cluster.registryUrl);
             KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerConfig())) {
            Map<String, String> format = new HashMap<>(ClientProperties.formatter());
            if (printSchemaId) {
                format.put(AvroJsonFormatter.PRINT_SCHEMA_ID_CONFIG, "true");
            }
            formatter.configure(format);
            running.set(consumer);
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            if (partitions.isEmpty()) {
                throw new IllegalArgumentException("Topic " + topic + " does not exist on " + cluster.bootstrapServers);
            }
            if (partition != null) {
                TopicPartition only = new TopicPartition(topic, partition);
                if (!partitions.contains(only)) {
                    throw new IllegalArgumentException("Topic " + topic + " has no partition " + partition + " (it has "
                        + partitions.size() + ")");
                }
                partitions = List.of(only);
            }
            consumer.assign(partitions);
            if (startOffset != null && startOffset >= 0) {
                consumer.seek(partitions.get(0), startOffset);
            } else if (fromBeginning || startOffset != null && startOffset == EARLIEST) {
                consumer.seekToBeginning(partitions);
            } else {
                consumer.seekToEnd(partitions);
            }
            Map<TopicPartition, Long> positions = new HashMap<>();
            partitions.forEach(p -> positions.put(p, consumer.position(p)));
            long lastRecord = System.nanoTime();
            stoppedBy = "Ctrl-C";
            try {
                while (true) {
                    if (max != null && count >= max) {
                        stoppedBy = "--max " + max;
                        break;
                    }
                    if (timeoutMs != null && System.nanoTime() - lastRecord > timeoutMs * 1_000_000) {
                        stoppedBy = "--timeout-ms " + timeoutMs + " without a record";
                        break;
                    }
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        if (max != null && count >= max) {
                            break;
                        }
                        formatter.writeTo(r, out);
                        count++;
                        lastRecord = System.nanoTime();
                    }
                    out.flush();
                }
            } catch (WakeupException e) {
                stoppedBy = "a stop signal";
            }
            running.set(null);
        }
        out.flush();
        spec.commandLine().getErr().println("consume: " + count + " records from " + topic + " (stopped by "
            + stoppedBy + ").");
        spec.commandLine().getErr().flush();
        return Cli.EXIT_OK;
    }
}
