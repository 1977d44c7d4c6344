package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.distpipe.common.Supervisor.Decision;
import io.distpipe.common.Supervisor.Ending;
import io.distpipe.common.Supervisor.GiveUp;
import io.distpipe.common.Supervisor.Restart;
import io.distpipe.common.Supervisor.RestartBudget;
import io.distpipe.common.Supervisor.RestartPolicy;
import org.junit.jupiter.api.Test;

/** The restart policy and the supervising loop on a clock the test moves; the sleeper only moves that clock. */
class SupervisorTest {

    private static final RestartPolicy THREE_A_MINUTE = new RestartPolicy(3, Duration.ofMinutes(1),
        Duration.ofMillis(100), Duration.ofSeconds(1));

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final List<Duration> slept = new ArrayList<>();
    private final AtomicInteger starts = new AtomicInteger();

    /** One scripted instance: it "runs" for {@code runsFor} on the fake clock, then ends as {@code ending}. */
    private final class Scripted implements Supervisor.Instance {
        private final Ending ending;
        private final Duration runsFor;
        private final CountDownLatch stopped = new CountDownLatch(1);
        private final boolean blocks;

        Scripted(Ending ending, Duration runsFor, boolean blocks) {
            this.ending = ending;
            this.runsFor = runsFor;
            this.blocks = blocks;
        }

        @Override
        public Ending awaitEnd() throws InterruptedException {
            if (blocks) {
                stopped.await();
                return Ending.returned("stopped");
            }
            now.addAndGet(runsFor.toNanos());
            return ending;
        }

        @Override
        public void stop() {
            stopped.countDown();
        }

        boolean wasStopped() {
            return stopped.getCount() == 0;
        }
    }

    private Scripted ends(Ending ending) {
        return new Scripted(ending, Duration.ZERO, false);
    }

    private Supervisor.Builder<Scripted> supervisor(Deque<Object> script) {
        return Supervisor.<Scripted>builder("worker-2", () -> {
            starts.incrementAndGet();
            Object next = script.removeFirst();
            if (next instanceof Exception e) {
                throw e;
            }
            return (Scripted) next;
        }).policy(THREE_A_MINUTE).clock(now::get).sleeper(d -> {
            slept.add(d);
            now.addAndGet(d.toNanos());
        });
    }

    private static Deque<Object> script(Object... steps) {
        return new ArrayDeque<>(List.of(steps));
    }

    // ---- the policy

    @Test
    void shouldDoubleTheBackoffUpToItsCap() {
        assertThat(List.of(0, 1, 2, 3, 4, 5, 100).stream().map(THREE_A_MINUTE::backoff).map(Duration::toMillis))
            .containsExactly(100L, 200L, 400L, 800L, 1000L, 1000L, 1000L);
    }

    @Test
    void shouldRejectAPolicyThatCannotWorkNamingTheField() {
        assertThatThrownBy(() -> new RestartPolicy(-1, Duration.ofMinutes(1), Duration.ZERO, Duration.ZERO))
            .hasMessageContaining("maxRestarts");
        assertThatThrownBy(() -> new RestartPolicy(1, Duration.ZERO, Duration.ZERO, Duration.ZERO))
            .hasMessageContaining("window");
        assertThatThrownBy(() -> new RestartPolicy(1, Duration.ofMinutes(1), Duration.ofSeconds(2),
            Duration.ofSeconds(1))).hasMessageContaining("maxBackoff").hasMessageContaining("initialBackoff");
    }

    @Test
    void shouldGiveUpOnceTheWindowHoldsTheMaximumOfRestarts() {
        RestartBudget budget = new RestartBudget(THREE_A_MINUTE);
        long t = 0;

        List<Decision> decisions = List.of(budget.onEnd(t), budget.onEnd(t + sec(1)), budget.onEnd(t + sec(2)),
            budget.onEnd(t + sec(3)));

        assertThat(decisions).containsExactly(new Restart(Duration.ofMillis(100), 1),
            new Restart(Duration.ofMillis(200), 2), new Restart(Duration.ofMillis(400), 3), new GiveUp(3));
    }

    @Test
    void shouldForgetRestartsOlderThanTheWindowAndResetTheBackoffAfterAQuietWindow() {
        RestartBudget budget = new RestartBudget(THREE_A_MINUTE);
        budget.onEnd(0);
        budget.onEnd(sec(1));
        budget.onEnd(sec(2));

        assertThat(budget.onEnd(sec(61))).as("the restarts at 0 s and 1 s are out of the window")
            .isEqualTo(new Restart(Duration.ofMillis(200), 2));
        assertThat(budget.onEnd(sec(200))).as("a quiet window").isEqualTo(new Restart(Duration.ofMillis(100), 1));
    }

    // ---- the loop

    @Test
    void shouldRestartWithBackoffAndGiveUpLoudlyWhenTheBoundIsHit() throws Exception {
        Ending fenced = Ending.returned("stopped on its own (FENCED)");
        Supervisor<Scripted> s = supervisor(script(ends(fenced), ends(fenced), ends(fenced), ends(fenced))).build();
        s.start();

        assertThatThrownBy(s::run).isInstanceOf(Supervisor.GaveUpException.class)
            .hasMessage("worker-2: stopped on its own (FENCED); not starting it again: it was restarted 3 times "
                + "within 1 min, the bound.");

        assertThat(s.state()).isEqualTo(Service.State.FAILED);
        assertThat(s.failure()).isPresent();
        assertThat(slept).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400));
        assertThat(starts).hasValue(4);
        assertThat(s.restarts()).isEqualTo(3);
        s.close();
        assertThat(s.state()).isEqualTo(Service.State.CLOSED);
    }

    @Test
    void shouldKeepRestartingAnInstanceThatFailsLessOftenThanTheBoundAllows() throws Exception {
        Deque<Object> script = new ArrayDeque<>();
        for (int i = 0; i < 10; i++) {
            script.add(new Scripted(Ending.exited(100 + i, 137), Duration.ofSeconds(40), false));
        }
        script.add(ends(Ending.exited(200, 0)));
        Supervisor<Scripted> s = supervisor(script).finishOnCleanEnd().build();
        s.start();

        s.run();

        assertThat(s.failure()).isEmpty();
        assertThat(s.restarts()).isEqualTo(10);
        assertThat(slept).as("never more than one earlier restart in the window").allMatch(d -> d.toMillis() <= 200);
        assertThat(s.state()).isEqualTo(Service.State.CLOSED);
    }

    @Test
    void shouldEndSupervisionWithoutARestartWhenACleanExitMeansTheWorkIsDone() throws Exception {
        Supervisor<Scripted> s = supervisor(script(ends(Ending.exited(42, 0)))).finishOnCleanEnd().build();
        s.start();

        s.run();

        assertThat(starts).hasValue(1);
        assertThat(slept).isEmpty();
        assertThat(s.state()).isEqualTo(Service.State.CLOSED);
    }

    @Test
    void shouldCountAFailedStartAsARestartAndTryAgain() throws Exception {
        Supervisor<Scripted> s = supervisor(script(ends(Ending.exited(1, 99)), new IOException("no READY in 120 s"),
            ends(Ending.exited(3, 0)))).finishOnCleanEnd().build();
        s.start();

        s.run();

        assertThat(starts).hasValue(3);
        assertThat(slept).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200));
        assertThat(s.restarts()).as("started again successfully").isEqualTo(1);
        assertThat(s.failure()).isEmpty();
    }

    @Test
    void shouldFailTheStartWhenTheFirstInstanceCannotStart() {
        Supervisor<Scripted> s = supervisor(script(new IOException("exited with code 2 before it printed READY")))
            .build();

        assertThatThrownBy(s::start).hasMessageContaining("code 2");
        assertThat(s.state()).isEqualTo(Service.State.FAILED);
    }

    @Test
    void shouldStopTheCurrentInstanceAndNotRestartItWhenClosed() throws Exception {
        Scripted running = new Scripted(null, Duration.ZERO, true);
        Supervisor<Scripted> s = supervisor(script(running)).build();
        s.start();
        Thread loop = s.runInBackground();
        Poll.until("the supervising loop to wait on the instance", Duration.ofSeconds(10),
            () -> loop.getState() == Thread.State.WAITING);

        s.close();

        assertThat(running.wasStopped()).isTrue();
        loop.join(Duration.ofSeconds(10).toMillis());
        assertThat(loop.isAlive()).as("the loop ended with close").isFalse();
        assertThat(starts).hasValue(1);
        assertThat(slept).isEmpty();
        assertThat(s.state()).isEqualTo(Service.State.CLOSED);
    }

    @Test
    void shouldNotStartAnInstanceWhenClosedDuringTheBackoff() throws Exception {
        Deque<Object> script = script(ends(Ending.exited(7, 137)), ends(Ending.exited(8, 137)));
        List<Supervisor<Scripted>> self = new ArrayList<>();
        Supervisor<Scripted> s = supervisor(script).sleeper(d -> self.get(0).close()).build();
        self.add(s);
        s.start();

        s.run();

        assertThat(starts).hasValue(1);
        assertThat(s.state()).isEqualTo(Service.State.CLOSED);
    }

    private static long sec(int seconds) {
        return Duration.ofSeconds(seconds).toNanos();
    }
}
