package io.distpipe.mapreduce.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.distpipe.common.Poll;
import io.distpipe.common.Service;
import io.distpipe.mapreduce.MapTask;
import io.distpipe.mapreduce.MrTaskState;
import io.distpipe.mapreduce.MrTaskStatus;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MrWorker on mock clients: a task attempt the broker aborted is done again, the worker does not stop as fenced. */
class MrWorkerTest {

    private static final TopicPartition MAP_TASKS = new TopicPartition(Topics.MR_MAP_TASKS.name(), 0);

    @TempDir
    Path dir;

    private final AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
    /** The task record; MockConsumer hands a record out once, so a seek back to it adds it again, as a log would. */
    private ConsumerRecord<byte[], byte[]> taskRecord;
    private final MockConsumer<byte[], byte[]> tasks = new MockConsumer<>("earliest") {
        @Override
        public synchronized void seek(TopicPartition partition, long offset) {
            super.seek(partition, offset);
            if (taskRecord != null && offset == taskRecord.offset()) {
                addRecord(taskRecord);
            }
        }
    };
    private final MockConsumer<byte[], byte[]> reader = new MockConsumer<>("earliest");

    /** The broker's answer to the first commit: it aborted the attempt (outlived the transaction timeout). */
    private final AtomicInteger aborts = new AtomicInteger();
    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
        new ByteArraySerializer()) {
        private boolean failed;

        @Override
        public void commitTransaction() {
            if (!failed) {
                failed = true;
                throw new InvalidProducerEpochException("Producer attempted to produce with an old epoch");
            }
            super.commitTransaction();
        }

        @Override
        public void abortTransaction() {
            aborts.incrementAndGet();
            super.abortTransaction();
        }
    };

    private List<MrTaskStatus> statuses() {
        String topic = Topics.MR_TASK_STATUS.name();
        return producer.history().stream().filter(r -> r.topic().equals(topic))
            .map(r -> (MrTaskStatus) serdes.valueSerde(Topics.MR_TASK_STATUS).deserializer().deserialize(topic,
                r.value())).toList();
    }

    @Test
    void shouldDoAgainATaskAttemptTheBrokerAbortedInsteadOfStoppingAsFenced() throws Exception {
        Path input = Files.writeString(dir.resolve("in.txt"), "a b a", StandardCharsets.UTF_8);
        List<Producer<byte[], byte[]>> made = new ArrayList<>(List.of(producer));
        MrWorker worker = new MrWorker(MrWorker.Config.defaults("worker-1", "unused:9092"), tasks, reader,
            () -> made.remove(0), serdes);
        worker.start();
        tasks.rebalance(List.of(MAP_TASKS));
        tasks.updateBeginningOffsets(Map.of(MAP_TASKS, 0L));
        MapTask task = new MapTask("job-1", "job-1/map-0", 0, "wc", input.toString(), 1, "mr.intermediate.job-1", 0,
            Instant.EPOCH);
        taskRecord = new ConsumerRecord<>(MAP_TASKS.topic(), 0, 0, null,
            serdes.valueSerde(Topics.MR_MAP_TASKS).serializer().serialize(MAP_TASKS.topic(), task));
        tasks.addRecord(taskRecord);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loop = new Thread(() -> {
            try {
                worker.run();
            } catch (RuntimeException e) {
                failure.set(e);
            }
        }, "mr-worker-1");
        loop.start();

        Poll.until("the task done, or the worker stopped", Duration.ofSeconds(10),
            () -> !loop.isAlive() || !statuses().isEmpty());
        Service.State running = worker.state();
        worker.close();
        loop.join(10_000);

        assertThat(failure.get()).isNull();
        assertThat(running).as("an attempt the broker aborted is not fencing").isEqualTo(Service.State.RUNNING);
        assertThat(aborts).as("the broker's abort is aborted here too").hasValue(1);
        assertThat(statuses()).as("done once, by the attempt made again").singleElement()
            .satisfies(s -> assertThat(s.getState()).isEqualTo(MrTaskState.DONE));
        assertThat(worker.mapsDone()).isEqualTo(1);
    }
}
