package io.distpipe.mapreduce.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.Supervisor;
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
 * SIGKILLs from outside at random moments; dead workers are restarted with the same id by the {@link Supervisor},
 * and the output must still be exactly the sequential word count.
 */
class MapReduceCrashIT {

    private static final int WORKERS = 3;
    private static final int EXTERNAL_KILLS = 3;
    /** Generous: the crash app halts a third of the tasks; only a worker that cannot stay up at all hits it. */
    private static final Supervisor.RestartPolicy RESTARTS = new Supervisor.RestartPolicy(20, Duration.ofMinutes(2),
        Duration.ofMillis(100), Duration.ofSeconds(2));

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
        List<Supervisor<ChildJvm>> workers = new ArrayList<>();
        AtomicInteger externalKills = new AtomicInteger();
        ScheduledExecutorService chaos = Executors.newSingleThreadScheduledExecutor();
        MrJobStatus end;
        try {
            for (int i = 0; i < WORKERS; i++) {
                ChildJvm.Spec worker = worker("crash-worker-" + i, job, logs);
                // A worker exits 0 once the job is past map and reduce: then it is done, not crashed.
                Supervisor<ChildJvm> supervisor = Supervisor.builder(worker.id(), worker::launch).policy(RESTARTS)
                    .finishOnCleanEnd().build();
                workers.add(supervisor);
                supervisor.start();
                supervisor.runInBackground();
            }
            SplittableRandom random = new SplittableRandom(System.nanoTime());
            scheduleKill(chaos, random, workers, externalKills, 2000 + random.nextInt(3000));
            MrClient client = system.client("test-crash");
            client.submit(job, "crash", texts.stream().map(Path::toString).toList(), 4, dir.resolve("out"));
            end = client.await(job, MrTestSystem.JOB_TIMEOUT, s -> { });
        } finally {
            chaos.shutdownNow();
            chaos.awaitTermination(30, TimeUnit.SECONDS);
            workers.forEach(Supervisor::close);
        }

        int restarts = workers.stream().mapToInt(Supervisor::restarts).sum();
        org.slf4j.LoggerFactory.getLogger(MapReduceCrashIT.class).info("Crash test: {} worker starts, {} deaths "
            + "restarted, {} of them SIGKILLs from the test.", WORKERS + restarts, restarts, externalKills.get());
        assertThat(end.getOutcome()).as("reason: %s", end.getReason()).isEqualTo(MrJobOutcome.SUCCEEDED);
        assertThat(MrTestSystem.mergedOutput(dir.resolve("out"))).isEqualTo(reference);
        assertThat(workers).as("no supervisor gave up").allSatisfy(w -> assertThat(w.failure()).isEmpty());
        assertThat(restarts).as("workers that died (halted by the crash app or killed) and were restarted; "
            + externalKills.get() + " external kills").isPositive();
        List<MrTaskStatus> statuses = system.taskStatuses(job);
        assertThat(statuses.stream().filter(s -> s.getState() == MrTaskState.DONE && s.getPhase() == MrTaskPhase.MAP)
            .map(MrTaskStatus::getIndex).distinct()).hasSize(4);
    }

    /** SIGKILLs a random live worker after {@code delayMs}, then again now and then, {@value #EXTERNAL_KILLS} times. */
    private static void scheduleKill(ScheduledExecutorService chaos, SplittableRandom random,
                                     List<Supervisor<ChildJvm>> workers, AtomicInteger kills, long delayMs) {
        chaos.schedule(() -> {
            List<ChildJvm> alive = workers.stream().flatMap(w -> w.current().stream()).filter(ChildJvm::isAlive)
                .toList();
            if (alive.isEmpty()) {
                scheduleKill(chaos, random, workers, kills, 100);
                return;
            }
            alive.get(random.nextInt(alive.size())).kill();
            if (kills.incrementAndGet() < EXTERNAL_KILLS) {
                scheduleKill(chaos, random, workers, kills, 2000 + random.nextInt(4000));
            }
        }, delayMs, TimeUnit.MILLISECONDS);
    }

    /** A worker JVM whose crash-app tasks halt it or stall; its output appended to {@code logs/<id>.log}. */
    private static ChildJvm.Spec worker(String id, String job, Path logs) {
        return ChildJvm.spec(id, MrWorkerMain.class.getName(), logs.resolve(id + ".log")).appendingOutput()
            .withJvmOptions("-Xmx256m", "-XX:TieredStopAtLevel=1", "-D" + CrashApp.SWITCH_PROPERTY + "=true")
            .withArgs(id, system.kafka.bootstrapServers(), system.registry.url(), job)
            .stoppedWithParent();
    }
}
