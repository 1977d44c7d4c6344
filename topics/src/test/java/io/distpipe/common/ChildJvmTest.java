package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher against tiny child mains of this test class, run in real child JVMs. */
class ChildJvmTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    /** Says a few lines, then READY, then serves until its stdin closes (so it never outlives the test JVM). */
    public static final class ReadyChild {
        public static void main(String[] args) throws IOException {
            System.out.println("loading the config");
            ChildJvm.announceReady("child at 127.0.0.1:4711");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("stopping cleanly")));
            while (System.in.read() >= 0) {
                System.out.println("still serving");
            }
        }
    }

    /** Fails during start-up, as a bad configuration would. */
    public static final class FailingChild {
        public static void main(String[] args) {
            System.out.println("loading the config");
            System.err.println("bad config: no value for key 'port'");
            System.exit(3);
        }
    }

    /** Starts and never says READY. */
    public static final class SilentChild {
        public static void main(String[] args) throws IOException {
            System.out.println("waiting for a broker that never answers");
            while (System.in.read() >= 0) {
                System.out.println("still waiting");
            }
        }
    }

    /** READY, and then a shutdown hook that never finishes, so only SIGKILL ends it. */
    public static final class StubbornChild {
        public static void main(String[] args) throws IOException {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    new CountDownLatch(1).await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            ChildJvm.announceReady("stubborn");
            while (System.in.read() >= 0) {
                System.out.println("still here");
            }
        }
    }

    /** READY, then a numbered tick every 20 ms until its stdin closes: its output shows whether it makes progress. */
    public static final class TickingChild {
        public static void main(String[] args) throws Exception {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("stopping cleanly")));
            Thread stdin = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) {
                        continue;
                    }
                } catch (IOException e) {
                    // the parent is gone
                }
                System.exit(0);
            });
            stdin.setDaemon(true);
            stdin.start();
            ChildJvm.announceReady("ticking");
            AtomicLong tick = new AtomicLong();
            Executors.newSingleThreadScheduledExecutor().scheduleAtFixedRate(
                () -> System.out.println("tick " + tick.incrementAndGet()), 0, 20, TimeUnit.MILLISECONDS);
            stdin.join();
        }
    }

    private ChildJvm.Spec spec(String id, Class<?> main) {
        return ChildJvm.spec(id, main.getName(), dir.resolve(id + ".out"))
            .withJvmOptions("-Xmx64m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
            .withReadyTimeout(WAIT)
            .stoppedWithParent();
    }

    @Test
    void shouldBuildTheCommandFromThisJavaWithTheAvroPackagesAndTheClassPath() {
        ChildJvm.Spec spec = ChildJvm.spec("c", "a.Main", dir.resolve("c.out")).withJvmOptions("-Xmx64m")
            .withClassPath("x.jar:y.jar").withArgs("--id", "c").withArgs(List.of("--verbose"));

        assertThat(spec.command(Map.of())).containsExactly(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m",
            "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.distpipe", "-cp", "x.jar:y.jar", "a.Main", "--id", "c",
            "--verbose");
    }

    @Test
    void shouldPutTheOptionsOfTheEnvironmentBeforeTheSpecsOwnSoThatItsOwnWin() {
        ChildJvm.Spec spec = ChildJvm.spec("c", "a.Main", dir.resolve("c.out")).withJvmOptions("-Xmx64m")
            .withClassPath("x.jar");

        assertThat(spec.command(Map.of(ChildJvm.EXTRA_OPTIONS_ENV, " -XX:TieredStopAtLevel=1 \t -Xmx1g ")))
            .containsSequence("-XX:TieredStopAtLevel=1", "-Xmx1g", "-Xmx64m");
        assertThat(spec.command(Map.of(ChildJvm.EXTRA_OPTIONS_ENV, "  "))).hasSize(spec.command(Map.of()).size());
    }

    @Test
    void shouldRecogniseOnlyTheReadyWordAtTheStartOfALine() {
        assertThat(ChildJvm.readyLine("worker-1")).isEqualTo("READY worker-1");
        assertThat(ChildJvm.isReadyLine("READY worker-1")).isTrue();
        assertThat(ChildJvm.isReadyLine("READY")).isTrue();
        assertThat(ChildJvm.isReadyLine("READYING")).isFalse();
        assertThat(ChildJvm.isReadyLine("replica S1 confirmed READY")).isFalse();
    }

    @Test
    void shouldReturnTheReadyTextAndWriteThePidFileThenStopCleanlyOnSigterm() throws Exception {
        Path pidFile = dir.resolve("run/ready.pid");
        ChildJvm child = spec("ready", ReadyChild.class).withPidFile(pidFile).launch();
        try {
            assertThat(child.awaitReady()).isEqualTo("child at 127.0.0.1:4711");
            assertThat(child.isReady()).isTrue();
            assertThat(child.readyText()).isEqualTo("child at 127.0.0.1:4711");
            assertThat(Files.readString(pidFile).strip()).isEqualTo(Long.toString(child.pid()));

            assertThat(child.stop(WAIT)).as("it was running").isTrue();

            assertThat(child.isAlive()).isFalse();
            assertThat(child.isReady()).isFalse();
            assertThat(pidFile).doesNotExist();
            assertThat(child.tail(5)).as("its shutdown hook ran").contains("stopping cleanly");
            assertThat(child.stop(WAIT)).as("stopping it again").isFalse();
        } finally {
            child.kill();
        }
    }

    @Test
    void shouldFailTheStartWithTheLastLinesWhenTheChildExitsBeforeReady() throws Exception {
        ChildJvm.Spec spec = spec("failing", FailingChild.class);

        assertThatThrownBy(spec::start).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("failing (pid ")
            .hasMessageContaining("exited with code 3 before it printed READY")
            .hasMessageContaining("loading the config")
            .hasMessageContaining("bad config: no value for key 'port'");
    }

    @Test
    void shouldKillAChildThatIsNotReadyInTimeAndShowItsLastLines() throws Exception {
        ChildJvm child = spec("silent", SilentChild.class).withReadyTimeout(Duration.ofSeconds(3)).launch();

        assertThatThrownBy(child::awaitReady).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("Timed out after 3 s waiting for silent (pid " + child.pid() + ") to print READY")
            .hasMessageContaining("waiting for a broker that never answers");
        assertThat(child.isAlive()).as("killed at the deadline").isFalse();
    }

    @Test
    void shouldIgnoreTheReadyLineOfAnEarlierLaunchWhenAppending() throws Exception {
        Path output = dir.resolve("appended.out");
        Files.writeString(output, "READY from the launch before\n");
        ChildJvm child = spec("appended", SilentChild.class).appendingOutput()
            .withReadyTimeout(Duration.ofSeconds(3)).launch();

        assertThatThrownBy(child::awaitReady).hasMessageContaining("Timed out");
        assertThat(Files.readAllLines(output)).first().isEqualTo("READY from the launch before");
        assertThat(child.tail(10)).doesNotContain("READY from the launch before")
            .contains("waiting for a broker that never answers");
    }

    @Test
    void shouldHandEveryLineToTheConsumerAndKeepThemInTheOutputFile() throws Exception {
        List<String> lines = new CopyOnWriteArrayList<>();
        try (ChildJvm child = spec("followed", ReadyChild.class).withLines(lines::add).start()) {
            Poll.until("the consumer to get the READY line", WAIT, () -> lines.size() >= 2);
            assertThat(lines).containsExactly("loading the config", "READY child at 127.0.0.1:4711");
            assertThat(Files.readAllLines(child.output())).startsWith("loading the config",
                "READY child at 127.0.0.1:4711");
        }
    }

    @Test
    void shouldKillAChildThatIgnoresSigtermOnceTheStopWaitIsOver() throws Exception {
        ChildJvm child = spec("stubborn", StubbornChild.class).start();

        assertThat(child.stop(Duration.ofSeconds(1))).isTrue();

        assertThat(child.isAlive()).isFalse();
        assertThat(child.exitCode()).hasValue(137);
    }

    @Test
    void shouldReportTheExitToASupervisor() throws Exception {
        ChildJvm child = spec("ended", FailingChild.class).launch();

        Supervisor.Ending end = child.awaitEnd();

        assertThat(end.clean()).isFalse();
        assertThat(end.reason()).isEqualTo("pid " + child.pid() + " exited with code 3");
    }

    @Test
    void shouldMakeNoProgressWhilePausedAndGoOnOnceResumed() throws Exception {
        // Without a lines consumer the child writes its output file itself: once stopped, the file cannot grow.
        try (ChildJvm child = spec("ticking", TickingChild.class).start()) {
            Poll.until("the child to tick", WAIT, () -> ticks(child) >= 5);

            child.pause();

            assertThat(child.paused()).isTrue();
            Poll.until("the kernel to report pid " + child.pid() + " stopped", WAIT, () -> procState(child) == 'T');
            long frozen = Files.size(child.output());
            long ticksFrozen = ticks(child);
            long since = System.nanoTime();
            // Fifty tick intervals: a running child would have written about fifty lines by then.
            Poll.until("one second to pass while paused", WAIT, () -> {
                assertThat(size(child.output())).as("output of the paused child").isEqualTo(frozen);
                return System.nanoTime() - since > Duration.ofSeconds(1).toNanos();
            });
            assertThat(procState(child)).as("still stopped").isEqualTo('T');

            child.resume();

            assertThat(child.paused()).isFalse();
            Poll.until("the resumed child to tick again", WAIT, () -> ticks(child) >= ticksFrozen + 5);
            assertThat(procState(child)).as("running or sleeping, not stopped").isNotEqualTo('T');
        }
    }

    @Test
    void shouldResumeAPausedChildSoThatCloseStopsItCleanly() throws Exception {
        ChildJvm child = spec("paused", TickingChild.class).start();
        try {
            child.pause();
            Poll.until("pid " + child.pid() + " to be stopped", WAIT, () -> procState(child) == 'T');
            long t0 = System.nanoTime();

            child.close();

            assertThat(child.isAlive()).isFalse();
            assertThat(child.paused()).isFalse();
            assertThat(Files.readAllLines(child.output())).as("its shutdown hook ran: SIGTERM, not SIGKILL after the stop wait")
                .contains("stopping cleanly");
            assertThat(child.exitCode()).as("killed by SIGTERM").hasValue(143);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(ChildJvm.STOP_TIMEOUT_DEFAULT);
        } finally {
            child.kill();
        }
    }

    @Test
    void shouldRefuseLoudlyToPauseAChildThatIsNotRunning() throws Exception {
        ChildJvm child = spec("gone", FailingChild.class).launch();
        child.awaitEnd();

        assertThatThrownBy(child::pause).isInstanceOf(IllegalStateException.class)
            .hasMessage("gone (pid " + child.pid() + ") is not running: cannot send it SIGSTOP.");
        assertThatThrownBy(child::resume).hasMessageContaining("cannot send it SIGCONT");
        assertThat(child.paused()).isFalse();
    }

    /** Lines "tick n" in its output so far. */
    private static long ticks(ChildJvm child) {
        try (var lines = Files.lines(child.output())) {
            return lines.filter(l -> l.startsWith("tick ")).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The state letter of /proc/<pid>/stat ('R', 'S', 'T' for stopped...): after the ')' closing its name. */
    private static char procState(ChildJvm child) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(child.pid()), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
