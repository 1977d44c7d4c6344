package io.distpipe.common;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.distpipe.topics.TopicSpec;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

/**
 * The one way to read a stretch of a topic that ends: from a start (the log start where none is given) to an end fixed
 * before reading, every record handed over in partition order. A reader that does not reach its end within the bound
 * throws, naming the partitions still open: a read never returns part of a topic as if it were all of it.
 *
 * <p>Under read_committed the end is the last stable offset, and records of aborted transactions and transaction
 * markers are not handed over (so a count of what was handed over is not a difference of offsets).
 */
public final class TopicRange {

    private static final Duration POLL = Duration.ofMillis(50);
    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private TopicRange() {
    }

    /**
     * Hands {@code each} every record {@code consumer} sees from {@code start} (the log start where a partition has
     * no entry) up to {@code end}, exclusive, per partition of {@code end}.
     *
     * @throws IllegalStateException if the ends are not reached within {@code timeout}
     */
    public static void read(Consumer<byte[], byte[]> consumer, Map<TopicPartition, Long> start,
                            Map<TopicPartition, Long> end, Duration timeout,
                            java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
        Map<TopicPartition, Long> remaining = new HashMap<>(end);
        remaining.entrySet().removeIf(e -> e.getValue() <= start.getOrDefault(e.getKey(), 0L));
        consumer.assign(remaining.keySet());
        List<TopicPartition> fromLogStart = new ArrayList<>();
        remaining.keySet().forEach(p -> {
            Long from = start.get(p);
            if (from == null) {
                fromLogStart.add(p);
            } else {
                consumer.seek(p, from);
            }
        });
        consumer.seekToBeginning(fromLogStart);
        long deadline = System.nanoTime() + timeout.toNanos();
        remaining.entrySet().removeIf(e -> consumer.position(e.getKey(), timeout) >= e.getValue());
        while (!remaining.isEmpty()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("Could not read " + remaining.keySet() + " to its end within "
                    + timeout.toSeconds() + " s (ends still to reach: " + remaining + ")");
            }
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
                Long stop = remaining.get(new TopicPartition(record.topic(), record.partition()));
                if (stop != null && record.offset() < stop) {
                    each.accept(record);
                }
            }
            remaining.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
            consumer.assign(remaining.keySet());
        }
    }

    /** Every committed record of {@code topic}, from its start to its end as it is now (30 s bound). */
    public static List<ConsumerRecord<byte[], byte[]>> readAll(String bootstrap, TopicSpec<?, ?> topic) {
        return readToEnd(bootstrap, topic.name(), true, null, DEFAULT_TIMEOUT);
    }

    /** Committed records of {@code topic} appended since {@code since} (by timestamp), to its end as it is now. */
    public static List<ConsumerRecord<byte[], byte[]>> readSince(String bootstrap, TopicSpec<?, ?> topic,
                                                                 Instant since) {
        return readToEnd(bootstrap, topic.name(), true, since, DEFAULT_TIMEOUT);
    }

    /**
     * Every record of {@code topic} at {@code bootstrap} from its start, or from the first record at or after
     * {@code since} (by timestamp) when it is not null, to its end as it is now.
     *
     * @param committed read_committed (the last stable offset, no aborted records) or read_uncommitted (the whole log)
     * @throws IllegalStateException if the topic cannot be read to that end within {@code timeout}
     */
    public static List<ConsumerRecord<byte[], byte[]>> readToEnd(String bootstrap, String topic, boolean committed,
                                                                 Instant since, Duration timeout) {
        Map<String, Object> props = KafkaClients.consumer(bootstrap, null, "distpipe-reader",
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            (committed ? IsolationLevel.READ_COMMITTED : IsolationLevel.READ_UNCOMMITTED).toString()
                .toLowerCase(Locale.ROOT));
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            Map<TopicPartition, Long> start = new HashMap<>();
            if (since != null) {
                Map<TopicPartition, Long> query = new HashMap<>();
                partitions.forEach(p -> query.put(p, since.toEpochMilli()));
                Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query, timeout);
                partitions.forEach(p -> {
                    OffsetAndTimestamp at = found.get(p);
                    start.put(p, at == null ? end.get(p) : at.offset());
                });
            }
            read(consumer, start, end, timeout, records::add);
        }
        return records;
    }
}
