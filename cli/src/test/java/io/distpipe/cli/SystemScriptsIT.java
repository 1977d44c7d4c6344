package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.primes.TaskMessage;
import io.distpipe.testkit.PrimesOracle;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.Test;

/**
 * The running system as an operator runs it: bin/start_system.sh starts every part as its own process, files dropped
 * into data/input become primes.txt, a worker killed with SIGKILL and restarted by hand changes nothing, and
 * bin/stop_system.sh leaves no process and no pid file behind. The replicated system is
 * {@link ReplicatedSystemScriptsIT}'s.
 */
class SystemScriptsIT extends SystemScriptsFixture {

    /** Snapshots as often as the coordinator can take them, one at a time, while the input is processed. */
    private static final String SNAPSHOT_INTERVAL = "200ms";
    private static final int MANY_SNAPSHOTS = 10;

    @Test
    void shouldStayExactAcrossAKilledAndRestartedWorkerAndStopCleanly() throws Exception {
        Map<String, String> env = systemEnv(freePortRun(2), "DISTPIPE_SNAPSHOT_INTERVAL", SNAPSHOT_INTERVAL);
        List<Long> pids = new ArrayList<>();
        try {
            startSystem(env, "simple", "2");
            pids.addAll(runningPids());
            assertThat(pids).hasSize(7);

            Path input = home.resolve("data/input");
            Path output = home.resolve("primes.txt");
            PrimesOracle oracle = new PrimesOracle(520_000);
            oracle.writeRange(home.resolve("a.tmp"), 1, 20_000);
            Files.move(home.resolve("a.tmp"), input.resolve("a.txt"));
            oracle.writeRange(home.resolve("b.tmp"), 15_000, 30_000);
            Files.move(home.resolve("b.tmp"), input.resolve("b.txt"));
            awaitOutput(output, oracle, 30_000);
            List<String> everyone = List.of("coordinator", "dedup", "membership", "worker-1", "worker-2");
            Poll.until("status --json shows the five heartbeat senders alive", Duration.ofSeconds(90), () -> {
                String status = statusJson(env);
                if (!aliveMembers(status).equals(everyone)) {
                    // The timeout carries the last status (and its error output) as its cause.
                    throw new IllegalStateException("status said: " + status);
                }
                return true;
            });

            // Files arrive one after another while the earlier ones are processed, so snapshots cut the work at
            // different points.
            for (int part = 0; part < 4; part++) {
                String name = "c" + part + ".txt";
                oracle.writeRange(home.resolve("c.tmp"), 30_001 + part * 92_500, 30_000 + (part + 1) * 92_500);
                Files.move(home.resolve("c.tmp"), input.resolve(name));
                Poll.until("the coordinator planned " + name, Duration.ofSeconds(60),
                    () -> log("coordinator").contains(name));
            }
            kill("worker-1");
            awaitOutput(output, oracle, 400_000);

            Process restarted = run(env, "bin/distpipe", "worker", "--id", "worker-1");
            Files.writeString(home.resolve("run/worker-1.pid"), Long.toString(restarted.pid()));
            pids.add(restarted.pid());
            Poll.until("the restarted worker joined", Duration.ofSeconds(60),
                () -> log("worker-1").lines().filter(l -> l.contains("started, group")).count() == 2);

            // The coordinator killed and started again by hand resumes its job, snapshots included.
            Poll.until("a consistent snapshot was written", Duration.ofSeconds(60), () -> snapshots().size() >= 1);
            long lastBeforeRestart = snapshotIds().get(snapshotIds().size() - 1);
            kill("coordinator");
            Process coordinator = run(env, "bin/distpipe", "coordinator", "--snapshot-interval", SNAPSHOT_INTERVAL);
            Files.writeString(home.resolve("run/coordinator.pid"), Long.toString(coordinator.pid()));
            pids.add(coordinator.pid());
            Poll.until("the restarted coordinator resumed the job", Duration.ofSeconds(60),
                () -> log("coordinator").contains("resumed:"));
            oracle.writeRange(home.resolve("d.tmp"), 400_001, 520_000);
            Files.move(home.resolve("d.tmp"), input.resolve("d.txt"));
            awaitOutput(output, oracle, 520_000);
            Poll.until("snapshots were taken after the coordinator's restart", Duration.ofSeconds(60),
                () -> snapshotIds().stream().anyMatch(id -> id > lastBeforeRestart));

            List<JsonNode> snapshots = snapshots();
            assertThat(snapshots).as("snapshots taken under load").hasSizeGreaterThanOrEqualTo(MANY_SNAPSHOTS);
            Map<Integer, List<Task>> tasks = committedTasks();
            for (JsonNode snapshot : snapshots) {
                assertThat(snapshot.path("invariantHolds").asBoolean()).as("invariant of %s", snapshot).isTrue();
                assertThat(snapshot.path("workers")).as("a worker state per task partition").hasSize(12);
                JsonNode atCut = snapshot.path("atCut");
                assertThat(atCut.path("tasksCompleted").asLong()).isEqualTo(atCut.path("tasksCreated").asLong());
                // Independently of the processes: the tasks in primes.tasks before the cut, tested by the oracle.
                long numbers = 0;
                long primes = 0;
                long created = 0;
                JsonNode cut = snapshot.path("cut").path(Topics.PRIMES_TASKS.name());
                for (Map.Entry<Integer, List<Task>> partition : tasks.entrySet()) {
                    long cutOffset = cut.path(Integer.toString(partition.getKey())).asLong();
                    for (Task task : partition.getValue()) {
                        if (task.offset() < cutOffset) {
                            created++;
                            numbers += task.numbers().size();
                            primes += task.numbers().stream().filter(oracle::isPrime).count();
                        }
                    }
                }
                assertThat(atCut.path("tasksCreated").asLong()).as("tasks before the cut of %s", snapshot)
                    .isEqualTo(created);
                assertThat(atCut.path("numbersTested").asLong()).as("numbers before the cut of %s", snapshot)
                    .isEqualTo(numbers);
                assertThat(atCut.path("primesReported").asLong()).as("primes before the cut of %s", snapshot)
                    .isEqualTo(primes);
            }

            // A snapshot, everything stopped, the snapshot restored, the system started again: the same output.
            Path earliest = snapshotFiles().get(0);
            JsonNode cut = new ObjectMapper().readTree(earliest.toFile()).path("cut").path("primes.tasks");
            stopSystem();
            Files.delete(output);
            Process restore = run(env, "bin/distpipe", "restore", earliest.toString());
            assertThat(restore.waitFor(2, TimeUnit.MINUTES)).isTrue();
            assertThat(restore.exitValue()).isZero();
            assertThat(home.resolve("run/restore")).exists();
            startSystem(env, "simple", "2");
            assertThat(home.resolve("run/restore")).doesNotExist();
            assertThat(Files.readString(home.resolve("run/restore.out"))).contains("Restored snapshot")
                .contains("0=" + cut.path("0").asLong() + ", 1=" + cut.path("1").asLong() + ",");
            awaitOutput(output, oracle, 520_000);
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError(e.getMessage() + logTails(), e);
        } finally {
            stopSystem();
        }
        assertNoPidFiles();
        for (long pid : pids) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                .as("process %d is gone", pid).isFalse();
        }
    }

    /** A task as committed to primes.tasks: where it is and the numbers it carries. */
    private record Task(long offset, List<BigInteger> numbers) {
    }

    /** Every committed task of primes.tasks per partition, read with read_committed through the system's registry. */
    private Map<Integer, List<Task>> committedTasks() throws IOException {
        String bootstrap = Files.readString(home.resolve("run/bootstrap")).strip();
        AvroSerdes serdes = AvroSerdes.connect(Files.readString(home.resolve("run/registry-url")).strip());
        Deserializer<TaskMessage> values = serdes.valueSerde(Topics.PRIMES_TASKS).deserializer();
        Map<Integer, List<Task>> tasks = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaClients.consumer(bootstrap, null,
            "system-it-tasks", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.PRIMES_TASKS.name()).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            Poll.until("primes.tasks read to its end", Duration.ofSeconds(60), () -> {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (values.deserialize(record.topic(), record.value()).getPayload()
                        instanceof io.distpipe.primes.Task task) {
                        tasks.computeIfAbsent(record.partition(), p -> new ArrayList<>()).add(new Task(
                            record.offset(), Numbers.all(task.getPacked(), task.getNumbers())));
                    }
                }
                return partitions.stream().allMatch(p -> consumer.position(p) >= ends.get(p));
            });
        }
        return tasks;
    }

    private List<Long> snapshotIds() {
        try {
            return snapshotFiles().stream().map(p -> Long.parseLong(p.getFileName().toString().split("_")[1]))
                .toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private List<JsonNode> snapshots() {
        List<JsonNode> result = new ArrayList<>();
        try {
            for (Path f : snapshotFiles()) {
                result.add(new ObjectMapper().readTree(f.toFile()));
            }
        } catch (IOException e) {
            return List.of();
        }
        return result;
    }

    /** Snapshot files, lowest snapshot number first. */
    private List<Path> snapshotFiles() throws IOException {
        try (Stream<Path> files = Files.list(home.resolve("snapshots"))) {
            return files.filter(p -> p.getFileName().toString().matches("snapshot_\\d+_.*\\.json"))
                .sorted(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().split("_")[1])))
                .toList();
        }
    }

    private String statusJson(Map<String, String> env) {
        try {
            Path out = home.resolve("status.json");
            Files.deleteIfExists(out);
            ProcessBuilder builder = new ProcessBuilder(PROJECT.resolve("bin/distpipe").toString(), "status", "--json")
                .directory(home.toFile()).redirectOutput(out.toFile());
            builder.environment().putAll(env);
            Path err = home.resolve("status.err");
            builder.redirectError(err.toFile());
            Process status = builder.start();
            if (!status.waitFor(60, TimeUnit.SECONDS)) {
                status.destroyForcibly();
                return "(status did not finish within 60 s) " + Files.readString(err);
            }
            return status.exitValue() == 0 ? Files.readString(out)
                : "(exit " + status.exitValue() + ") " + Files.readString(err);
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    private static List<String> aliveMembers(String json) {
        List<String> alive = new ArrayList<>();
        try {
            for (JsonNode member : new ObjectMapper().readTree(json).path("members")) {
                if (member.path("state").asText().equals("ALIVE")) {
                    alive.add(member.path("member").asText());
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        return alive;
    }

}
