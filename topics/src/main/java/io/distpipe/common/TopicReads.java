package io.distpipe.common;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.distpipe.topics.TopicSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;

/** Reads a topic to its current end (read_committed), from the beginning or from a point in time. */
public final class TopicReads {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private TopicReads() {
    }

    public static List<ConsumerRecord<byte[], byte[]>> readAll(String bootstrap, TopicSpec<?, ?> topic) {
        return read(bootstrap, topic, null);
    }

    /** Records appended since {@code since} (by record timestamp), up to the end as it is now. */
    public static List<ConsumerRecord<byte[], byte[]>> readSince(String bootstrap, TopicSpec<?, ?> topic, Instant since) {
        return read(bootstrap, topic, since);
    }

    private static List<ConsumerRecord<byte[], byte[]>> read(String bootstrap, TopicSpec<?, ?> topic, Instant since) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaClients.consumer(bootstrap, null,
            "distpipe-reader", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic.name(), TIMEOUT).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(partitions, TIMEOUT));
            if (since == null) {
                consumer.seekToBeginning(partitions);
            } else {
                Map<TopicPartition, Long> query = new HashMap<>();
                partitions.forEach(p -> query.put(p, since.toEpochMilli()));
                Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query, TIMEOUT);
                for (TopicPartition p : partitions) {
                    OffsetAndTimestamp at = found.get(p);
                    consumer.seek(p, at == null ? end.get(p) : at.offset());
                }
            }
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            end.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
            while (!end.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    Long stop = end.get(new TopicPartition(record.topic(), record.partition()));
                    if (stop != null && record.offset() < stop) {
                        records.add(record);
                    }
                }
                end.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
            }
        }
        return records;
    }
}
