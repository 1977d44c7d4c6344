package io.distpipe.primes.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import io.distpipe.common.RejectedRecord;
import io.distpipe.primes.JobState;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.PlannedFile;
import io.distpipe.primes.Task;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CoordinatorTest {

    private static final String JOB = "job-1";
    private static final String COMPLETED = Topics.PRIMES_COMPLETED.name();
    /** Where primes.completed ends when the coordinator starts: completions of this job come after it. */
    private static final long COMPLETIONS_END = 10;

    @TempDir
    Path input;

    private final AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
        new ByteArraySerializer());
    private final MockConsumer<byte[], byte[]> completions = new MockConsumer<>("earliest");
    private final List<String> rejected = new ArrayList<>();
    private final List<JobStatus> progress = new ArrayList<>();
    private final Coordinator.Listener listener = new Coordinator.Listener() {
        @Override
        public void rejected(String file, long line, String text, String reason) {
            rejected.add(file + ":" + line + " " + text + " (" + reason + ")");
        }

        @Override
        public void progress(JobStatus status) {
            progress.add(status);
        }
    };

    @BeforeEach
    void completionsTopic() {
        List<PartitionInfo> partitions = IntStream.range(0, 3)
            .mapToObj(p -> new PartitionInfo(COMPLETED, p, null, null, null)).toList();
        completions.updatePartitions(COMPLETED, partitions);
        completions.updateEndOffsets(Map.of(partition(0), COMPLETIONS_END, partition(1), COMPLETIONS_END,
            partition(2), COMPLETIONS_END, TASKS_DLQ_0, DLQ_END));
        completions.updateBeginningOffsets(Map.of(TASKS_DLQ_0, 0L));
    }

    private static final TopicPartition TASKS_DLQ_0 = new TopicPartition(Topics.PRIMES_TASKS_DLQ.name(), 0);
    private static final long DLQ_END = 7;

    @Test
    void shouldEndTheJobIncompleteWhenAWorkerDeadLettersOneOfItsTasks() throws IOException {
        write("a.txt", "2\n3\n4\n");
        Coordinator coordinator = started(2);
        coordinator.plan();
        completions.addRecord(completion(0, COMPLETIONS_END, "job-1/a.txt#0", JOB, 2, 2));
        // What a worker writes for a task it cannot read: the record as it was (its key is the task id).
        byte[] taskKey = serdes.keySerde(Topics.PRIMES_TASKS).serializer().serialize(Topics.PRIMES_TASKS.name(),
            "job-1/a.txt#1");
        completions.addRecord(new ConsumerRecord<>(TASKS_DLQ_0.topic(), 0, DLQ_END, taskKey, new byte[] {0, 0, 0, 0, 9}));
        byte[] otherJob = serdes.keySerde(Topics.PRIMES_TASKS).serializer().serialize(Topics.PRIMES_TASKS.name(),
            "job-2/a.txt#0");
        completions.addRecord(new ConsumerRecord<>(TASKS_DLQ_0.topic(), 0, DLQ_END + 1, otherJob, new byte[] {1}));

        JobStatus done = coordinator.awaitCompletion(Duration.ofSeconds(10));

        assertThat(done.getState()).isEqualTo(JobState.COMPLETED);
        assertThat(done.getTasksCompleted()).isEqualTo(1);
        assertThat(coordinator.deadLetteredTasks()).containsExactly("job-1/a.txt#1");
        assertThat(done.getReason()).isEqualTo("output incomplete: 1 task(s) dead-lettered (see primes.tasks.dlq)");
        assertThat(statuses()).last().satisfies(s -> assertThat(s.getReason()).isEqualTo(done.getReason()));
    }

    @Test
    void shouldCutFilesIntoTasksOfAtMostChunkSizeNumbers() throws IOException {
        write("a.txt", "2\n3\n5\n\n7\n11\n13\n17\n");
        write("b.txt", "-4\n0\n1000000000000000000000000\n");
        Coordinator coordinator = started(3);

        JobStatus planned = coordinator.plan();

        List<Task> tasks = tasks();
        assertThat(tasks).extracting(Task::getTaskId)
            .containsExactly("job-1/a.txt#0", "job-1/a.txt#1", "job-1/a.txt#2", "job-1/b.txt#0");
        assertThat(tasks).extracting(Task::getFile).containsExactly("a.txt", "a.txt", "a.txt", "b.txt");
        assertThat(tasks).extracting(Task::getChunk).containsExactly(0, 1, 2, 0);
        assertThat(tasks).extracting(t -> t.getFirstLine() + "-" + t.getLastLine())
            .as("line ranges; line 4 of a.txt is blank").containsExactly("1-3", "5-7", "8-8", "1-3");
        assertThat(tasks).allSatisfy(t -> assertThat(Numbers.all(t.getPacked(), t.getNumbers())).hasSizeBetween(1, 3));
        assertThat(tasks).allSatisfy(t -> assertThat(t.getJobId()).isEqualTo(JOB));
        assertThat(tasks.stream().flatMap(t -> Numbers.all(t.getPacked(), t.getNumbers()).stream()))
            .containsExactly(big(2), big(3), big(5), big(7), big(11), big(13), big(17), big(-4), big(0),
                new BigInteger("1000000000000000000000000"));
        assertThat(keys(Topics.PRIMES_TASKS.name())).as("tasks are keyed by task id")
            .containsExactlyElementsOf(tasks.stream().map(Task::getTaskId).toList());
        assertThat(planned.getState()).isEqualTo(JobState.RUNNING);
        assertThat(List.of(planned.getFiles(), planned.getTasksTotal(), planned.getNumbersTotal()))
            .containsExactly(2, 4L, 10L);
        assertThat(statuses()).extracting(JobStatus::getTasksTotal).containsExactly(4L);
        assertThat(producer.transactionCommitted()).isTrue();
    }

    @Test
    void shouldReportRejectedLinesToTheListenerAndTheRejectedTopic() throws IOException {
        write("x.txt", "7\nabc\n1.5\n11\n");
        Coordinator coordinator = started(100);

        JobStatus planned = coordinator.plan();

        assertThat(rejected).containsExactly("x.txt:2 abc (" + NumberParser.NOT_AN_INTEGER + ")",
            "x.txt:3 1.5 (" + NumberParser.DECIMAL_POINT + ")");
        String topic = Topics.PRIMES_REJECTED.name();
        List<RejectedRecord> records = sentTo(topic).stream()
            .map(r -> serdes.valueSerde(Topics.PRIMES_REJECTED).deserializer().deserialize(topic, r.value())).toList();
        assertThat(records).extracting(RejectedRecord::getLocation).containsExactly("line 2", "line 3");
        assertThat(records).extracting(RejectedRecord::getText).containsExactly("abc", "1.5");
        assertThat(records).extracting(RejectedRecord::getReason)
            .containsExactly(NumberParser.NOT_AN_INTEGER, NumberParser.DECIMAL_POINT);
        assertThat(records).allSatisfy(r -> {
            assertThat(r.getSource()).isEqualTo("x.txt");
            assertThat(r.getJobId()).isEqualTo(JOB);
            assertThat(r.getComponent()).isEqualTo(coordinator.id());
        });
        assertThat(keys(topic)).containsOnly("x.txt");
        assertThat(List.of(planned.getRejectedLines(), planned.getNumbersTotal())).containsExactly(2L, 2L);
        assertThat(tasks()).singleElement()
            .satisfies(t -> assertThat(Numbers.all(t.getPacked(), t.getNumbers())).hasSize(2));
    }

    @Test
    void shouldIgnoreHiddenFilesAndDirectoriesAndSortByName() throws IOException {
        write("b.txt", "1\n");
        write("a.txt", "1\n");
        write("9.txt", "1\n");
        write("10.txt", "1\n");
        write(".hidden.txt", "1\n");
        Files.createDirectories(input.resolve("sub"));
        Files.writeString(input.resolve("sub").resolve("c.txt"), "1\n");
        Files.createDirectories(input.resolve(".git"));

        List<Path> files = Coordinator.inputFiles(input);

        assertThat(files).extracting(f -> f.getFileName().toString()).as("by name, character by character")
            .containsExactly("10.txt", "9.txt", "a.txt", "b.txt");
    }

    @Test
    void shouldFailClearlyOnAMissingOrEmptyInputDirectory() throws IOException {
        Path missing = input.resolve("missing");
        assertThatThrownBy(() -> Coordinator.inputFiles(missing)).isInstanceOf(IOException.class)
            .hasMessageContaining(missing.toString()).hasMessageContaining("does not exist");

        Path file = write("numbers.txt", "1\n");
        assertThatThrownBy(() -> Coordinator.inputFiles(file)).isInstanceOf(IOException.class)
            .hasMessageContaining("not a directory");

        Path empty = Files.createDirectories(input.resolve("empty"));
        Files.writeString(empty.resolve(".only-hidden"), "1\n");
        Coordinator coordinator = new Coordinator(config(empty, 10), producer, completions, serdes, listener);
        coordinator.start();
        assertThatThrownBy(coordinator::plan).isInstanceOf(IOException.class)
            .hasMessageContaining(empty.toString()).hasMessageContaining("has no input files");
        assertThat(producer.history()).as("nothing published for a job without input").isEmpty();
    }

    @Test
    void shouldCountEachTaskOnceWhenItsCompletionIsReportedTwice() throws IOException {
        write("a.txt", "2\n3\n4\n5\n");
        Coordinator coordinator = started(2);
        coordinator.plan();
        completions.addRecord(completion(0, COMPLETIONS_END, "job-1/a.txt#0", JOB, 2, 2));
        completions.addRecord(completion(1, COMPLETIONS_END, "job-1/a.txt#0", JOB, 2, 2));

        coordinator.pollCompletions(Duration.ZERO);
        completions.addRecord(completion(2, COMPLETIONS_END, "job-1/a.txt#0", JOB, 2, 2));
        coordinator.pollCompletions(Duration.ZERO);

        JobStatus status = coordinator.status();
        assertThat(List.of(status.getTasksCompleted(), status.getNumbersTested(), status.getPrimesFound()))
            .containsExactly(1L, 2L, 2L);
        assertThat(progress).as("progress reports").singleElement()
            .satisfies(s -> assertThat(s.getTasksCompleted()).isEqualTo(1));
    }

    @Test
    void shouldIgnoreCompletionsOfOtherJobsUnreadableOnesAndOnesFromBeforeItStarted() throws IOException {
        write("a.txt", "2\n3\n");
        Coordinator coordinator = started(1);
        coordinator.plan();
        completions.addRecord(completion(0, COMPLETIONS_END - 1, "job-1/a.txt#0", JOB, 1, 1));
        completions.addRecord(completion(0, COMPLETIONS_END, "job-2/a.txt#0", "job-2", 1, 1));
        completions.addRecord(new ConsumerRecord<>(COMPLETED, 0, COMPLETIONS_END + 1, null,
            "garbage".getBytes(StandardCharsets.UTF_8)));
        completions.addRecord(completion(0, COMPLETIONS_END + 2, "job-1/a.txt#1", JOB, 1, 1));

        coordinator.pollCompletions(Duration.ZERO);

        assertThat(coordinator.status().getTasksCompleted()).isEqualTo(1);
    }

    @Test
    void shouldCompleteWhenEveryTaskIsDone() throws IOException {
        write("a.txt", "2\n3\n4\n");
        Coordinator coordinator = started(2);
        coordinator.plan();
        completions.addRecord(completion(0, COMPLETIONS_END, "job-1/a.txt#0", JOB, 2, 2));
        completions.addRecord(completion(2, COMPLETIONS_END, "job-1/a.txt#1", JOB, 1, 0));

        JobStatus done = coordinator.awaitCompletion(Duration.ofSeconds(10));

        assertThat(done.getState()).isEqualTo(JobState.COMPLETED);
        assertThat(List.of(done.getTasksCompleted(), done.getTasksTotal(), done.getNumbersTested(),
            done.getPrimesFound())).containsExactly(2L, 2L, 3L, 2L);
        assertThat(statuses()).extracting(JobStatus::getState).containsExactly(JobState.RUNNING, JobState.COMPLETED);
        assertThat(producer.commitCount()).isEqualTo(2);
    }

    @Test
    void shouldNameDoneAndTotalTasksWhenTheJobDoesNotCompleteInTime() throws IOException {
        write("a.txt", "2\n3\n4\n");
        Coordinator coordinator = started(2);
        coordinator.plan();
        completions.addRecord(completion(1, COMPLETIONS_END, "job-1/a.txt#1", JOB, 1, 0));

        assertThatThrownBy(() -> coordinator.awaitCompletion(Duration.ofMillis(300)))
            .isInstanceOf(IllegalStateException.class).hasMessageContaining(JOB)
            .hasMessageContaining("1 of 2 tasks done");
        assertThat(statuses()).extracting(JobStatus::getState).containsExactly(JobState.RUNNING);
    }

    @Test
    void shouldNotEndAResumedJobOnCompletionsOfTasksOfAnInterruptedPlan() throws IOException {
        Coordinator coordinator = resumedWithPlanOfA();
        // b.txt's plan was interrupted by a kill: two of its tasks were committed, its plan record never was.
        completions.addRecord(completion(0, 0, "job-1/a.txt#0", JOB, 1, 1));
        completions.addRecord(completion(0, 1, "job-1/b.txt#0", JOB, 1, 1));
        completions.addRecord(completion(0, 2, "job-1/b.txt#1", JOB, 1, 1));

        coordinator.pollCompletions(Duration.ZERO);

        assertThat(coordinator.isComplete()).as("a.txt#1 is not done: the job is not complete").isFalse();
        assertThat(coordinator.status().getTasksCompleted()).isEqualTo(1);
        completions.addRecord(completion(0, 3, "job-1/a.txt#1", JOB, 1, 1));
        coordinator.pollCompletions(Duration.ZERO);
        assertThat(coordinator.isComplete()).isTrue();
        assertThat(coordinator.status().getTasksCompleted()).isEqualTo(2);
    }

    @Test
    void shouldCountTheCompletionsOfAnInterruptedPlanOnceItsFileIsPlannedAgain() throws IOException {
        Coordinator coordinator = resumedWithPlanOfA();
        completions.addRecord(completion(0, 0, "job-1/b.txt#0", JOB, 1, 1));
        completions.addRecord(completion(0, 1, "job-1/b.txt#5", JOB, 1, 1));
        coordinator.pollCompletions(Duration.ZERO);

        JobStatus planned = coordinator.planFiles(List.of(write("b.txt", "2\n3\n")));

        assertThat(planned.getPlans()).extracting(p -> p.getName() + ":" + p.getTasks() + ":" + p.getSizeBytes())
            .containsExactly("a.txt:2:4", "b.txt:2:4");
        assertThat(coordinator.status().getTasksCompleted()).as("b.txt#0 counts; b.txt#5 is beyond b.txt's plan")
            .isEqualTo(1);
        completions.addRecord(completion(0, 2, "job-1/a.txt#0", JOB, 1, 1));
        completions.addRecord(completion(0, 3, "job-1/a.txt#1", JOB, 1, 1));
        completions.addRecord(completion(0, 4, "job-1/b.txt#1", JOB, 1, 1));
        coordinator.pollCompletions(Duration.ZERO);
        assertThat(coordinator.isComplete()).isTrue();
        assertThat(coordinator.status().getTasksCompleted()).isEqualTo(4);
    }

    @Test
    void shouldMarkTheJobIncompleteWhenAPlannedFileChanges() throws IOException {
        write("a.txt", "2\n3\n");
        Coordinator coordinator = started(1);
        coordinator.plan();

        coordinator.fileChanged(new InputWatch.Changed("a.txt", 4, 5_000, new InputWatch.Seen("a.txt", 9, 6_000)));

        JobStatus last = statuses().get(statuses().size() - 1);
        assertThat(last.getChangedFiles()).containsExactly("a.txt");
        assertThat(last.getReason()).startsWith("output incomplete: 1 input file(s) changed").contains("a.txt");
    }

    /** A coordinator resuming a job whose plan record lists a.txt with two tasks. */
    private Coordinator resumedWithPlanOfA() {
        String tasksTopic = Topics.PRIMES_TASKS.name();
        completions.updatePartitions(tasksTopic, List.of(new PartitionInfo(tasksTopic, 0, null, null, null)));
        completions.updateEndOffsets(Map.of(new TopicPartition(tasksTopic, 0), 0L));
        completions.updateBeginningOffsets(Map.of(new TopicPartition(tasksTopic, 0), 0L, partition(0), 0L,
            partition(1), 0L, partition(2), 0L));
        JobStatus previous = JobStatus.newBuilder().setJobId(JOB).setState(JobState.RUNNING).setFiles(1)
            .setTasksTotal(2).setTasksCompleted(0).setNumbersTotal(2).setNumbersTested(0).setPrimesFound(0)
            .setRejectedLines(0).setReason(null).setUpdatedAt(Instant.now()).setPlannedFiles(List.of("a.txt"))
            .setPlans(List.of(new PlannedFile("a.txt", 4L, Instant.ofEpochMilli(5_000), 2L))).build();
        Coordinator coordinator = new Coordinator(config(input, 1), producer, completions, serdes, listener);
        coordinator.resume(previous);
        coordinator.start();
        return coordinator;
    }

    private Coordinator started(int chunkNumbers) {
        Coordinator coordinator = new Coordinator(config(input, chunkNumbers), producer, completions, serdes,
            listener);
        coordinator.start();
        return coordinator;
    }

    private static Coordinator.Config config(Path dir, int chunkNumbers) {
        return new Coordinator.Config("coordinator-1", JOB, dir, chunkNumbers, Coordinator.CHUNK_BYTES_DEFAULT,
            NumberParser.DEFAULT_MAX_DIGITS);
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(input.resolve(name), content, StandardCharsets.US_ASCII);
    }

    private List<ProducerRecord<byte[], byte[]>> sentTo(String topic) {
        return producer.history().stream().filter(r -> r.topic().equals(topic)).toList();
    }

    private List<String> keys(String topic) {
        return sentTo(topic).stream()
            .map(r -> serdes.keySerde(Topics.PRIMES_TASKS).deserializer().deserialize(topic, r.key())).toList();
    }

    private List<Task> tasks() {
        String topic = Topics.PRIMES_TASKS.name();
        return sentTo(topic).stream()
            .map(r -> serdes.valueSerde(Topics.PRIMES_TASKS).deserializer().deserialize(topic, r.value()))
            .map(message -> (Task) message.getPayload()).toList();
    }

    private List<JobStatus> statuses() {
        String topic = Topics.PRIMES_JOBS.name();
        return sentTo(topic).stream()
            .map(r -> serdes.valueSerde(Topics.PRIMES_JOBS).deserializer().deserialize(topic, r.value())).toList();
    }

    private ConsumerRecord<byte[], byte[]> completion(int partition, long offset, String taskId, String jobId,
                                                      long numbers, long primes) {
        TaskCompleted done = TaskCompleted.newBuilder().setTaskId(taskId).setJobId(jobId).setWorkerId("worker-1")
            .setNumbersTested(numbers).setPrimesFound(primes).setProbablePrimes(0).setTaskPartition(0)
            .setTaskOffset(0).setCompletedAt(Instant.now()).build();
        return new ConsumerRecord<>(COMPLETED, partition, offset,
            serdes.keySerde(Topics.PRIMES_COMPLETED).serializer().serialize(COMPLETED, taskId),
            serdes.valueSerde(Topics.PRIMES_COMPLETED).serializer().serialize(COMPLETED, done));
    }

    private static TopicPartition partition(int p) {
        return new TopicPartition(COMPLETED, p);
    }

    private static BigInteger big(long n) {
        return BigInteger.valueOf(n);
    }

    @Test
    void shouldWeighNumbersByTheCostOfTestingThem() {
        assertThat(Coordinator.cost(BigInteger.valueOf(Long.MAX_VALUE))).isEqualTo(1);
        assertThat(Coordinator.cost(BigInteger.ONE.shiftLeft(64))).as("two 64-bit words").isEqualTo(8);
        assertThat(Coordinator.cost(BigInteger.TEN.pow(999))).as("a 1000-digit number, 52 words")
            .isEqualTo(52L * 52 * 52).isGreaterThan(Coordinator.CHUNK_NUMBERS_DEFAULT);
    }
}
