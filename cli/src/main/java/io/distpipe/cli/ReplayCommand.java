package io.distpipe.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.distpipe.common.ClientProperties;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.Daemon;
import io.distpipe.topics.Topics;
import io.distpipe.topics.console.AvroJsonFormatter;
import io.distpipe.topics.registry.SchemaRegistries;
import io.distpipe.topics.registry.SchemaRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code distpipe replay}: re-reads a topic up to its current end, printing it or re-publishing it. */
@Command(name = "replay", mixinStandardHelpOptions = true, description = {
    "Re-read a topic from an offset or a time up to its current end (read_committed): print each record as one JSON "
        + "line, or re-publish the records (key, value, headers) to another topic.",
    "A copy goes to a topic outside the catalog: every catalog topic is a protocol topic with one writer, so "
        + "--to-topic refuses one (and Kafka's and Kafka Streams' internal topics) unless --allow-catalog-topic is "
        + "given. Copies get the time of the copy as their timestamp (records older than the target's retention would "
        + "be deleted at once); --keep-timestamps keeps the originals. Every write is checked: if any fails, the "
        + "command says how many and exits non-zero."})
final class ReplayCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-t", "--topic"}, required = true, paramLabel = "TOPIC", description = "Topic to read.")
    String topic;

    /** Where to start: an offset or a time, not both; the beginning when neither. */
    static final class Start {
        @Option(names = "--from-offset", paramLabel = "OFFSET",
            description = "Start at this offset in every partition.")
        Long offset;

        @Option(names = "--from-time", paramLabel = "ISO-8601",
            description = "Start at this time (2026-11-23T14:00:00Z).")
        String time;
    }

    @ArgGroup(exclusive = true)
    Start start;

    @Option(names = "--to-topic", paramLabel = "TOPIC", description = "Re-publish to this topic instead of printing.")
    String toTopic;

    @Option(names = "--allow-catalog-topic", description = "Let --to-topic be a catalog (protocol) topic: this "
        + "bypasses the topic's one writer, so only for recovery with that writer stopped.")
    boolean allowCatalogTopic;

    @Option(names = "--keep-timestamps", description = "Give copies the original records' timestamps instead of the "
        + "time of the copy; the target's retention then counts from the original times.")
    boolean keepTimestamps;

    @Option(names = "--max", paramLabel = "N", description = "Stop after N records.")
    Long max;

    /**
     * Why {@code target} may not receive a copy of {@code source}, or null if it may: the catalog's topics have one
     * writer each (a copy would be a second one, read by the live system as protocol messages) and Kafka's and
     * Kafka Streams' internal topics belong to them.
     */
    static String refusal(String source, String target, boolean allowCatalogTopic) {
        if (target.equals(source)) {
            return "--to-topic " + target + " is the topic being read; copy to another topic (nothing was written)";
        }
        if (target.startsWith("__")) {
            return "--to-topic " + target + " is an internal Kafka topic; copy to a topic of your own (nothing was "
                + "written)";
        }
        boolean protocol = Topics.byName(target).isPresent()
            || target.startsWith(Topics.MR_INTERMEDIATE.name() + ".")
            || target.endsWith("-changelog") || target.endsWith("-repartition");
        if (protocol && !allowCatalogTopic) {
            return "--to-topic " + target + " is a protocol topic of the catalog (or a Kafka Streams internal topic) "
                + "that live components read; copy to a topic outside the catalog, or add --allow-catalog-topic for a "
                + "recovery with its writer stopped (nothing was written)";
        }
        return null;
    }

    @Mixin
    ClusterOptions cluster;

    @Override
    public Integer call() throws Exception {
        Instant from = null;
        if (start != null && start.time != null) {
            try {
                from = Instant.parse(start.time);
            } catch (DateTimeParseException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--from-time must be ISO-8601 such as "
                    + "2026-11-23T14:00:00Z, not " + start.time);
            }
        }
        if (toTopic != null) {
            String refused = refusal(topic, toTopic, allowCatalogTopic);
            if (refused != null) {
                throw new CommandLine.ParameterException(spec.commandLine(), refused);
            }
        }
        Daemon.requireCluster(cluster, spec);
        PrintStream out = System.out;
        long count = 0;
        SendResults sends = new SendResults();
        try (SchemaRegistry registry = SchemaRegistries.connect(cluster.registryUrl);
             AvroJsonFormatter formatter = new AvroJsonFormatter(registry, cluster.registryUrl);
             KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaClients.consumer(
                 cluster.bootstrapServers, null, "distpipe-replay", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
             KafkaProducer<byte[], byte[]> producer = toTopic == null ? null : new KafkaProducer<>(
                 KafkaClients.producer(cluster.bootstrapServers, "distpipe-replay"))) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            if (partitions.isEmpty()) {
                throw new IllegalArgumentException("Topic " + topic + " does not exist");
            }
            if (toTopic != null && !consumer.listTopics(Duration.ofSeconds(30)).containsKey(toTopic)) {
                throw new IllegalArgumentException("Topic " + toTopic + " does not exist; create it first (nothing "
                    + "was written)");
            }
            // The lines of consume, with the same --property print.* switches.
            formatter.configure(ClientProperties.formatter());
            consumer.assign(partitions);
            Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(partitions));
            seek(consumer, partitions, end, from);
            end.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
            while (!end.isEmpty() && (max == null || count < max) && sends.failed() == 0) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    Long stop = end.get(new TopicPartition(r.topic(), r.partition()));
                    if (stop == null || r.offset() >= stop || (max != null && count >= max)) {
                        continue;
                    }
                    count++;
                    if (producer != null) {
                        producer.send(new ProducerRecord<>(toTopic, null, keepTimestamps ? r.timestamp() : null,
                            r.key(), r.value(), r.headers()), sends);
                    } else {
                        formatter.writeTo(r, out);
                    }
                }
                end.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
            }
            if (producer != null) {
                producer.flush();
            }
        }
        out.flush();
        if (sends.failed() > 0) {
            throw new IllegalStateException(sends.failed() + " of " + count + " records read from " + topic
                + " could not be written to " + toTopic + " (first error: " + Cli.sentence(sends.firstError())
                + "); the copy is incomplete");
        }
        spec.commandLine().getErr().println("replay: " + count + " records from " + topic
            + (toTopic == null ? "" : " re-published to " + toTopic) + ".");
        return Cli.EXIT_OK;
    }

    /** Counts the sends that failed, keeping the first error. */
    static final class SendResults implements Callback {
        private final AtomicLong failed = new AtomicLong();
        private final AtomicReference<Exception> first = new AtomicReference<>();

        @Override
        public void onCompletion(RecordMetadata metadata, Exception error) {
            if (error != null) {
                failed.incrementAndGet();
                first.compareAndSet(null, error);
            }
        }

        long failed() {
            return failed.get();
        }

        Exception firstError() {
            return first.get();
        }
    }

    private void seek(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions,
                      Map<TopicPartition, Long> end, Instant from) {
        if (from != null) {
            Map<TopicPartition, Long> query = new HashMap<>();
            partitions.forEach(p -> query.put(p, from.toEpochMilli()));
            Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query);
            partitions.forEach(p -> consumer.seek(p, found.get(p) == null ? end.get(p) : found.get(p).offset()));
        } else if (start != null && start.offset != null) {
            Map<TopicPartition, Long> beginning = consumer.beginningOffsets(partitions);
            partitions.forEach(p -> consumer.seek(p, Math.max(beginning.get(p), start.offset)));
        } else {
            consumer.seekToBeginning(partitions);
        }
    }
}
