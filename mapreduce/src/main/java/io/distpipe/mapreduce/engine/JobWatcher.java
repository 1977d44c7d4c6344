package io.distpipe.mapreduce.engine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.distpipe.common.KafkaClients;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * GetJobStatus: follows the compacted jobs-status topic from its beginning (read_committed) and keeps the latest
 * status of every job. Not thread-safe: one thread polls it.
 */
public final class JobWatcher implements AutoCloseable {

    private final Consumer<byte[], byte[]> consumer;
    private final Deserializer<MrJobStatus> statuses;
    private final TopicPartition partition = new TopicPartition(Topics.MR_JOBS.name(), 0);
    private final Map<String, MrJobStatus> latest = new LinkedHashMap<>();

    public JobWatcher(String bootstrapServers, String clientId, AvroSerdes serdes) {
        this.consumer = new KafkaConsumer<>(KafkaClients.consumer(bootstrapServers, null, clientId,
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        this.statuses = serdes.valueSerde(Topics.MR_JOBS).deserializer();
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
    }

    /** Reads what arrived (waiting at most {@code timeout} for something) and returns the new statuses in order. */
    public List<MrJobStatus> poll(Duration timeout) {
        List<MrJobStatus> fresh = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
            if (r.value() != null) {
                MrJobStatus s = statuses.deserialize(r.topic(), r.headers(), r.value());
                latest.put(s.getJobId(), s);
                fresh.add(s);
            }
        }
        return fresh;
    }

    /** Reads up to the end of the topic as it is now. */
    public List<MrJobStatus> catchUp(Duration timeout) {
        long end = consumer.endOffsets(List.of(partition), timeout).get(partition);
        long deadline = System.nanoTime() + timeout.toNanos();
        List<MrJobStatus> fresh = new ArrayList<>();
        while (consumer.position(partition, timeout) < end && System.nanoTime() < deadline) {
            fresh.addAll(poll(Duration.ofMillis(100)));
        }
        return fresh;
    }

    public Optional<MrJobStatus> latest(String jobId) {
        return Optional.ofNullable(latest.get(jobId));
    }

    public Map<String, MrJobStatus> all() {
        return latest;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(2));
    }
}
