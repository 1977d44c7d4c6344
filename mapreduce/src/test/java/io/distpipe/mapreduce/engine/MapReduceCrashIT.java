package io.distpipe.mapreduce.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.distpipe.mapreduce.MrJobOutcome;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.mapreduce.MrTaskPhase;
import io.distpipe.mapreduce.MrTaskState;
import io.distpipe.mapreduce.MrTaskStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MIT 6.5840's crash test: worker JVMs whose tasks halt the process or stall at random (the {@code crash} app), plus
 * SIGKILLs from outside at random moments; dead workers are restarted (with the same id, as a supervisor would), and
 * the output must still be exactly the sequential word count.
 */
class MapReduceCrashIT {

    private static final int WORKERS = 3;
    private static final int EXTERNAL_KILLS = 3;

    private static MrTestSystem system;

    @TempDir
    Path dir;

    @BeforeAll
    static void startCluster() throws Exception {
        system = new MrTestSystem();
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (system != null) {
            system.close();
        }
    }

    @Test
    void shouldProduceExactWordCountWhileWorkersCrashStallAndAreKilled() throws Exception {
        List<Path> texts = MrTestSystem.texts().subList(0, 4);
        List<String> reference = MrTestSystem.reference(new WordCount(), texts);
        String job = "crash-" + System.nanoTime();
        system.coordinator(s -> false);
        Path logs = Files.createDirectories(dir.resolve("logs"));
        Map<String, Process> processes = new ConcurrentHashMap<>();
        AtomicInteger starts = new AtomicInteger();
        AtomicInteger externalKills = new AtomicInteger();
        AtomicInteger crashes = new AtomicInteger();
        AtomicBoolean done = new AtomicBoolean();
        for (int i = 0; i < WORKERS; i++) {
            String id = "crash-worker-" + i;
            processes.put(id, launch(id, job, logs));
            starts.incrementAndGet();
        }
        // The supervisor: restarts a worker that died (exit code other than 0) and now and then SIGKILLs one.
        Thread supervisor = new Thread(() -> {
            SplittableRandom random = new SplittableRandom(System.nanoTime());
            long nextKill = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2000 + random.nextInt(3000));
            while (!done.get()) {
                try {
                    for (Map.Entry<String, Process> e : processes.entrySet()) {
                        Process p = e.getValue();
                        if (!p.isAlive() && p.exitValue() != 0) {
                            crashes.incrementAndGet();
                            processes.put(e.getKey(), launch(e.getKey(), job, logs));
                            starts.incrementAndGet();
                        }
                    }
                    if (System.nanoTime() > nextKill && externalKills.get() < EXTERNAL_KILLS) {
                        List<Process> alive = processes.values().stream().filter(Process::isAlive).toList();
                        if (!alive.isEmpty()) {
                            alive.get(random.nextInt(alive.size())).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                            externalKills.incrementAndGet();
                        }
                        nextKill = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2000 + random.nextInt(4000));
                    }
                    TimeUnit.MILLISECONDS.sleep(100);
                } catch (InterruptedException e) {
                    return;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        }, "supervisor");
        supervisor.start();
        MrClient client = system.client("test-crash");
        MrJobStatus end;
        try {
            client.submit(job, "crash", texts.stream().map(Path::toString).toList(), 4, dir.resolve("out"));
            end = client.await(job, MrTestSystem.JOB_TIMEOUT, s -> { });
        } finally {
            done.set(true);
            supervisor.join(10_000);
            for (Process p : processes.values()) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }

        org.slf4j.LoggerFactory.getLogger(MapReduceCrashIT.class).info("Crash test: {} worker starts, {} deaths "
            + "restarted, {} of them SIGKILLs from the test.", starts.get(), crashes.get(), externalKills.get());
        assertThat(end.getOutcome()).as("reason: %s", end.getReason()).isEqualTo(MrJobOutcome.SUCCEEDED);
        assertThat(MrTestSystem.mergedOutput(dir.resolve("out"))).isEqualTo(reference);
        assertThat(crashes.get()).as("workers that died (halted by the crash app or killed) and were restarted; "
            + starts.get() + " starts, " + externalKills.get() + " external kills").isPositive();
        List<MrTaskStatus> statuses = system.taskStatuses(job);
        assertThat(statuses.stream().filter(s -> s.getState() == MrTaskState.DONE && s.getPhase() == MrTaskPhase.MAP)
            .map(MrTaskStatus::getIndex).distinct()).hasSize(4);
    }

    private static Process launch(String id, String job, Path logs) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.distpipe",
            "-D" + CrashApp.SWITCH_PROPERTY + "=true", "-cp", System.getProperty("java.class.path"),
            MrWorkerMain.class.getName(), id, system.kafka.bootstrapServers(), system.registry.url(), job));
        return new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve(id + ".log").toFile())).start();
    }
}
