package io.distpipe.mapreduce.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.TopicRange;
import io.distpipe.mapreduce.MrJobOutcome;
import io.distpipe.mapreduce.MrJobState;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.mapreduce.MrTaskPhase;
import io.distpipe.mapreduce.MrTaskState;
import io.distpipe.mapreduce.MrTaskStatus;
import io.distpipe.topics.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The MIT 6.5840 lab 1 tests, against one embedded broker: in-process coordinator and workers. */
class MapReduceIT {

    private static MrTestSystem system;
    /** Map executions per job of the counting app, aborted ones included. */
    private static final Map<String, AtomicInteger> MAP_CALLS = new ConcurrentHashMap<>();
    /** Jobs whose map task 0 already failed once (the flaky app fails it the first time only). */
    private static final Set<String> FAILED_ONCE = ConcurrentHashMap.newKeySet();

    /** Where the wc-poison app wrote its garbage task status (-1 until it has). */
    private static final AtomicLong POISON_OFFSET = new AtomicLong(-1);
    private static final byte[] POISON = "\u0000\u0000\u0000\u0000garbage, no schema reads this"
        .getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    /** A record on mr.task.status that no schema reads, written while a job maps; its offset. */
    private static long writePoisonStatus() {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(KafkaClients.producer(
            system.kafka.bootstrapServers(), "poison-writer"), new ByteArraySerializer(), new ByteArraySerializer())) {
            return p.send(new ProducerRecord<>(Topics.MR_TASK_STATUS.name(), 0, "poison".getBytes(
                StandardCharsets.UTF_8), POISON)).get(30, TimeUnit.SECONDS).offset();
        } catch (Exception e) {
            throw new IllegalStateException("could not write the poison task status", e);
        }
    }

    @BeforeAll
    static void startCluster() throws Exception {
        system = new MrTestSystem();
        Apps.register("wc-counting", () -> new MapReduceApp() {
            private final WordCount wc = new WordCount();

            @Override
            public void map(String key, String value, Emitter emitter) {
                MAP_CALLS.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
                wc.map(key, value, emitter);
            }

            @Override
            public void reduce(String key, List<String> values, Emitter emitter) {
                wc.reduce(key, values, emitter);
            }

            @Override
            public boolean reduceIsCombiner() {
                return true;
            }
        });
        Apps.register("flaky", () -> new MapReduceApp() {
            private final WordCount wc = new WordCount();

            @Override
            public void map(String key, String value, Emitter emitter) {
                if (key.startsWith("flaky-") && FAILED_ONCE.add(key)) {
                    throw new IllegalStateException("flaky app fails " + key + " once");
                }
                wc.map(key, value, emitter);
            }

            @Override
            public void reduce(String key, List<String> values, Emitter emitter) {
                wc.reduce(key, values, emitter);
            }
        });
        Apps.register("wc-poison", () -> new MapReduceApp() {
            private final WordCount wc = new WordCount();

            @Override
            public void map(String key, String value, Emitter emitter) {
                if (POISON_OFFSET.get() < 0) {
                    POISON_OFFSET.set(writePoisonStatus());
                }
                wc.map(key, value, emitter);
            }

            @Override
            public void reduce(String key, List<String> values, Emitter emitter) {
                wc.reduce(key, values, emitter);
            }
        });
        Apps.register("always-fails", () -> new MapReduceApp() {
            @Override
            public void map(String key, String value, Emitter emitter) {
                throw new IllegalArgumentException("cannot map " + key);
            }

            @Override
            public void reduce(String key, List<String> values, Emitter emitter) {
            }
        });
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (system != null) {
            system.close();
        }
    }

    @AfterEach
    void stopProcesses() throws Exception {
        system.stopAll();
    }

    @Test
    void shouldMatchSequentialWordCountRunningEachMapOnceAndBothPhasesInParallel() throws Exception {
        List<Path> texts = MrTestSystem.texts();
        MAP_CALLS.clear();
        system.coordinator(s -> false);
        system.worker("worker-a");
        system.worker("worker-b");
        MrClient client = system.client("test-wc");
        String job = "wc-" + System.nanoTime();
        client.submit(job, "wc-counting", texts.stream().map(Path::toString).toList(), 10, dir);
        List<MrJobState> states = new ArrayList<>();
        MrJobStatus end = client.await(job, MrTestSystem.JOB_TIMEOUT, s -> states.add(s.getState()));

        assertThat(end.getOutcome()).as("reason: %s", end.getReason()).isEqualTo(MrJobOutcome.SUCCEEDED);
        List<MrJobState> changes = new ArrayList<>();
        states.forEach(s -> {
            if (changes.isEmpty() || changes.get(changes.size() - 1) != s) {
                changes.add(s);
            }
        });
        assertThat(changes).containsExactly(MrJobState.IDLE, MrJobState.INITIALIZING,
            MrJobState.MAPPING, MrJobState.SHUFFLING, MrJobState.REDUCING, MrJobState.FINALIZING, MrJobState.IDLE);
        assertThat(MrTestSystem.mergedOutput(dir)).isEqualTo(MrTestSystem.reference(new WordCount(), texts));
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                .as("ten output files and no temporary leftovers")
                .containsExactly("mr-out-0", "mr-out-1", "mr-out-2", "mr-out-3", "mr-out-4", "mr-out-5", "mr-out-6",
                    "mr-out-7", "mr-out-8", "mr-out-9");
        }

        List<MrTaskStatus> statuses = system.taskStatuses(job);
        assertThat(MAP_CALLS.values().stream().map(AtomicInteger::get).toList())
            .as("map executions per input file (without failures each runs exactly once)")
            .hasSize(8).containsOnly(1);
        assertThat(statuses.stream().filter(s -> s.getPhase() == MrTaskPhase.MAP).map(MrTaskStatus::getIndex))
            .containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7);
        assertThat(statuses).allMatch(s -> s.getState() == MrTaskState.DONE);
        assertThat(statuses.stream().map(MrTaskStatus::getWorkerId).collect(Collectors.toSet()))
            .containsExactlyInAnyOrder("worker-a", "worker-b");
        assertThat(MrTestSystem.overlapping(statuses, MrTaskPhase.MAP)).as("two workers mapping at the same time")
            .isTrue();
        assertThat(MrTestSystem.overlapping(statuses, MrTaskPhase.REDUCE))
            .as("two workers reducing at the same time").isTrue();
    }

    @Test
    void shouldMatchSequentialIndexerWithNoWorkerExitingBeforeTheOutputIsComplete() throws Exception {
        List<Path> texts = MrTestSystem.texts().subList(0, 4);
        List<String> reference = MrTestSystem.reference(new Indexer(), texts);
        String job = "indexer-" + System.nanoTime();
        system.coordinator(s -> false);
        List<MrTestSystem.RunningWorker> workers = new ArrayList<>();
        AtomicReference<List<String>> outputAtFirstExit = new AtomicReference<>();
        for (String id : List.of("worker-c", "worker-d")) {
            MrTestSystem.RunningWorker w = system.worker(id);
            JobWatcher watcher = new JobWatcher(system.kafka.bootstrapServers(), id + "-jobs", system.serdes);
            w.worker.stopWhen(() -> {
                watcher.poll(java.time.Duration.ZERO);
                boolean stop = watcher.latest(job).map(MrWorkerMain::pastMapReduce).orElse(false);
                if (stop) {
                    watcher.close();
                    try {
                        // What MIT's early-exit test checks: the output as it is when the first worker exits.
                        outputAtFirstExit.compareAndSet(null, MrTestSystem.mergedOutput(dir));
                    } catch (java.io.IOException e) {
                        outputAtFirstExit.compareAndSet(null, List.of("unreadable: " + e));
                    }
                }
                return stop;
            });
            workers.add(w);
        }
        MrClient client = system.client("test-indexer");
        client.submit(job, "indexer", texts.stream().map(Path::toString).toList(), 5, dir);
        MrJobStatus end = client.await(job, MrTestSystem.JOB_TIMEOUT, s -> { });

        assertThat(end.getOutcome()).as("reason: %s", end.getReason()).isEqualTo(MrJobOutcome.SUCCEEDED);
        assertThat(MrTestSystem.mergedOutput(dir)).as("output when the job is reported done").isEqualTo(reference);
        Poll.until("both workers to leave after the job", java.time.Duration.ofSeconds(30),
            () -> workers.stream().noneMatch(w -> w.thread.isAlive()));
        assertThat(outputAtFirstExit.get()).as("output when the first worker exited").isEqualTo(reference);
    }

    @Test
    void shouldRetryAFailedTaskThroughErrorAndFailAJobWhoseTasksAlwaysFail() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("flaky-a.txt"), "one two two three three three");
        Files.writeString(input.resolve("b.txt"), "two three");
        List<String> files = MrClient.inputFiles(input, "*.txt");
        system.coordinator(s -> false);
        system.worker("worker-e");
        MrClient client = system.client("test-errors");
        String flaky = "flaky-" + System.nanoTime();
        String failing = "failing-" + System.nanoTime();
        String missing = "missing-" + System.nanoTime();
        // Submitted together: they run one after the other, in submission order.
        client.submit(flaky, "flaky", files, 2, dir.resolve("flaky"));
        client.submit(failing, "always-fails", files, 2, dir.resolve("failing"));
        client.submit(missing, "wc", List.of(input.resolve("nope.txt").toString()), 2, dir.resolve("missing"));
        client.submit("bad id!", "wc", files, 2, dir.resolve("bad"));
        List<MrJobStatus> seen = Collections.synchronizedList(new ArrayList<>());
        MrJobStatus flakyEnd = client.await(flaky, MrTestSystem.JOB_TIMEOUT, seen::add);
        MrJobStatus failingEnd = client.await(failing, MrTestSystem.JOB_TIMEOUT, seen::add);
        MrJobStatus missingEnd = client.await(missing, MrTestSystem.JOB_TIMEOUT, seen::add);
        MrJobStatus badEnd = client.await("bad id!", MrTestSystem.JOB_TIMEOUT, seen::add);

        assertThat(flakyEnd.getOutcome()).isEqualTo(MrJobOutcome.SUCCEEDED);
        assertThat(MrTestSystem.mergedOutput(dir.resolve("flaky"))).containsExactly("one 1", "three 4", "two 3");
        List<MrJobState> flakyStates = client.watcher().all().isEmpty() ? List.of() : seen.stream()
            .filter(s -> s.getJobId().equals(flaky)).map(MrJobStatus::getState).distinct().toList();
        assertThat(flakyStates).containsSubsequence(MrJobState.MAPPING, MrJobState.ERROR, MrJobState.SHUFFLING);

        assertThat(failingEnd.getOutcome()).isEqualTo(MrJobOutcome.FAILED);
        assertThat(failingEnd.getReason()).contains("map task", "cannot map", "3 attempts failed");
        assertThat(missingEnd.getOutcome()).isEqualTo(MrJobOutcome.FAILED);
        assertThat(missingEnd.getReason()).contains("nope.txt", "not a readable file");
        assertThat(missingEnd.getSubmitSequence()).isGreaterThan(failingEnd.getSubmitSequence());
        assertThat(badEnd.getOutcome()).isEqualTo(MrJobOutcome.FAILED);
        assertThat(badEnd.getReason()).contains("job id must be");
        assertThat(failingEnd.getSubmittedAt()).isBeforeOrEqualTo(failingEnd.getUpdatedAt());
    }

    @Test
    void shouldFinishAJobExactlyWhenATaskStatusIsPoisonAndDeadLetterAndCountIt() throws Exception {
        List<Path> texts = MrTestSystem.texts().subList(0, 2);
        system.coordinator(s -> false);
        system.worker("worker-p");
        MrClient client = system.client("test-poison");
        String job = "poison-" + System.nanoTime();
        client.submit(job, "wc-poison", texts.stream().map(Path::toString).toList(), 2, dir);
        MrJobStatus end = client.await(job, java.time.Duration.ofSeconds(60), s -> { });

        assertThat(end.getOutcome()).as("reason: %s", end.getReason()).isEqualTo(MrJobOutcome.SUCCEEDED);
        assertThat(MrTestSystem.mergedOutput(dir)).isEqualTo(MrTestSystem.reference(new WordCount(), texts));
        long offset = POISON_OFFSET.get();
        assertThat(offset).as("the app wrote its poison record").isNotNegative();
        assertThat(end.getDeadLettered()).as("the job's result counts the dead-lettered status").containsExactly(offset);
        List<ConsumerRecord<byte[], byte[]>> dead = TopicRange.readAll(system.kafka.bootstrapServers(),
            Topics.MR_TASK_STATUS_DLQ);
        assertThat(dead).hasSize(1);
        assertThat(dead.get(0).value()).isEqualTo(POISON);
        assertThat(header(dead.get(0), ReadPolicy.HEADER_SOURCE)).isEqualTo(Topics.MR_TASK_STATUS.name() + "-0@"
            + offset);
        assertThat(header(dead.get(0), ReadPolicy.HEADER_REASON)).isNotBlank();
        assertThat(header(dead.get(0), ReadPolicy.HEADER_COMPONENT)).isEqualTo("mr-coordinator");
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        return r.headers().lastHeader(name) == null ? null
            : new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "restart in {0}")
    @EnumSource(value = MrJobState.class, names = {"INITIALIZING", "MAPPING", "ERROR", "SHUFFLING", "REDUCING",
        "FINALIZING"})
    void shouldResumeAJobWhenTheCoordinatorRestartsInEachState(MrJobState haltIn) throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("flaky-x.txt"), "alpha beta beta gamma gamma gamma");
        Files.writeString(input.resolve("y.txt"), "beta delta");
        Files.writeString(input.resolve("z.txt"), "gamma alpha epsilon");
        List<String> files = MrClient.inputFiles(input, "*.txt");
        FAILED_ONCE.remove("flaky-x.txt");
        String job = "restart-" + haltIn.name().toLowerCase() + "-" + System.nanoTime();
        MrTestSystem.RunningCoordinator first = system.coordinator(s -> s.getJobId().equals(job)
            && s.getState() == haltIn);
        system.worker("worker-f");
        system.worker("worker-g");
        MrClient client = system.client("test-restart");
        client.submit(job, "flaky", files, 3, dir.resolve("out"));
        Poll.until("the coordinator to halt in " + haltIn, MrTestSystem.JOB_TIMEOUT,
            () -> !first.thread().isAlive());
        assertThat(client.watcher().catchUp(java.time.Duration.ofSeconds(10)).stream()
            .filter(s -> s.getJobId().equals(job)).map(MrJobStatus::getState)).contains(haltIn);
        MrJobStatus last = client.watcher().latest(job).orElseThrow();
        assertThat(last.getState()).as("the job as the first coordinator left it").isEqualTo(haltIn);

        system.coordinator(s -> false);
        MrJobStatus end = client.await(job, MrTestSystem.JOB_TIMEOUT, s -> { });

        assertThat(end.getOutcome()).as("reason: %s", end.getReason()).isEqualTo(MrJobOutcome.SUCCEEDED);
        assertThat(MrTestSystem.mergedOutput(dir.resolve("out"))).containsExactly("alpha 2", "beta 3", "delta 1",
            "epsilon 1", "gamma 4");
        List<MrTaskStatus> statuses = system.taskStatuses(job);
        assertThat(statuses.stream().filter(s -> s.getPhase() == MrTaskPhase.REDUCE
            && s.getState() == MrTaskState.DONE).map(MrTaskStatus::getIndex).distinct()).hasSize(3);
    }
}
