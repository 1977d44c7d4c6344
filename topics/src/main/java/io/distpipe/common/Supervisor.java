package io.distpipe.common;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one supervisor: keeps one instance of a component running (a child JVM, an in-process worker) and starts a new
 * one when it ends on its own, at most {@link RestartPolicy#maxRestarts()} times within the policy's window and
 * after a backoff that doubles with each restart in that window, up to a cap. Every restart is logged with its
 * reason; past the bound it gives up loudly: an error line, the FAILED state and a {@link GaveUpException}.
 *
 * <pre>{@code
 * Supervisor<ChildJvm> s = Supervisor.builder("worker-2", spec::start).policy(policy).build();
 * s.start();            // the first instance, in the caller's thread
 * s.runInBackground();  // or s.run() on a thread of the caller's
 * ...
 * s.close();            // stops the current instance; no restart follows
 * }</pre>
 */
public final class Supervisor<T extends Supervisor.Instance> implements Service {

    private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);
    private static final Duration CLOSE_WAIT_DEFAULT = Duration.ofSeconds(30);

    /** One running instance of the supervised component. */
    public interface Instance {
        /** Blocks until this instance ends and says how (an in-process instance may do its work here). */
        Ending awaitEnd() throws InterruptedException;

        /** Asks it to stop for good; {@link #awaitEnd()} returns soon after. */
        void stop();
    }

    /** Starts a new instance; ready to serve when it returns. */
    @FunctionalInterface
    public interface Starter<T> {
        T start() throws Exception;
    }

    /** Waits out a backoff; injected so tests drive time by hand. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(Duration duration) throws InterruptedException;
    }

    /** How an instance ended: a sentence for the log, whether it was clean, and the failure if there was one. */
    public record Ending(String reason, boolean clean, Throwable failure) {
        public Ending {
            Objects.requireNonNull(reason, "reason");
        }

        /** A process that exited; clean with code 0. */
        public static Ending exited(long pid, int code) {
            return new Ending("pid " + pid + " exited with code " + code, code == 0, null);
        }

        /** An instance whose work returned without an error. */
        public static Ending returned(String reason) {
            return new Ending(reason, true, null);
        }

        public static Ending failed(String reason, Throwable failure) {
            return new Ending(reason, false, failure);
        }
    }

    /**
     * At most {@code maxRestarts} restarts within any {@code window}; the n-th restart of a window waits
     * {@code initialBackoff × 2^(n-1)}, at most {@code maxBackoff}. A quiet window resets both.
     */
    public record RestartPolicy(int maxRestarts, Duration window, Duration initialBackoff, Duration maxBackoff) {
        public RestartPolicy {
            if (maxRestarts < 0) {
                throw new IllegalArgumentException("maxRestarts must be at least 0, got " + maxRestarts);
            }
            if (window.isNegative() || window.isZero()) {
                throw new IllegalArgumentException("window must be positive, got " + window);
            }
            if (initialBackoff.isNegative()) {
                throw new IllegalArgumentException("initialBackoff must not be negative, got " + initialBackoff);
            }
            if (maxBackoff.compareTo(initialBackoff) < 0) {
                throw new IllegalArgumentException("maxBackoff (" + maxBackoff + ") must be at least initialBackoff ("
                    + initialBackoff + ")");
            }
        }

        /** The wait before a restart that follows {@code earlier} restarts in the current window. */
        public Duration backoff(int earlier) {
            Duration delay = initialBackoff;
            for (int i = 0; i < earlier && delay.compareTo(maxBackoff) < 0; i++) {
                delay = delay.multipliedBy(2);
            }
            return delay.compareTo(maxBackoff) > 0 ? maxBackoff : delay;
        }

        String describe() {
            return "at most " + maxRestarts + " within " + Supervisor.describe(window);
        }
    }

    /** What to do about an instance that ended. */
    public sealed interface Decision permits Restart, GiveUp {
    }

    /** Start a new instance after {@code delay}; it is restart {@code number} of the current window. */
    public record Restart(Duration delay, int number) implements Decision {
    }

    /** The window already holds {@code restarts} restarts, the bound. */
    public record GiveUp(int restarts) implements Decision {
    }

    /** The pure part of the policy: the restarts of the current window, on a clock the caller reads. */
    public static final class RestartBudget {
        private final RestartPolicy policy;
        private final Deque<Long> restarts = new ArrayDeque<>();

        public RestartBudget(RestartPolicy policy) {
            this.policy = policy;
        }

        /** Decides about an instance that ended at {@code nowNanos} (monotonic); a restart is counted at once. */
        public Decision onEnd(long nowNanos) {
            long windowStart = nowNanos - policy.window().toNanos();
            while (!restarts.isEmpty() && restarts.peekFirst() - windowStart <= 0) {
                restarts.removeFirst();
            }
            if (restarts.size() >= policy.maxRestarts()) {
                return new GiveUp(restarts.size());
            }
            Duration delay = policy.backoff(restarts.size());
            restarts.addLast(nowNanos);
            return new Restart(delay, restarts.size());
        }
    }

    /** Thrown (and logged) when an instance ends once more than the policy allows; the supervisor is FAILED. */
    public static final class GaveUpException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        GaveUpException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** How to build a supervisor; only the id and the starter are required. */
    public static final class Builder<T extends Instance> {
        private final String id;
        private final Starter<T> starter;
        private RestartPolicy policy = new RestartPolicy(5, Duration.ofMinutes(1), Duration.ofMillis(200),
            Duration.ofSeconds(5));
        private boolean finishOnCleanEnd;
        private LongSupplier clock = System::nanoTime;
        private Sleeper sleeper;
        private Duration closeWait = CLOSE_WAIT_DEFAULT;

        private Builder(String id, Starter<T> starter) {
            this.id = Objects.requireNonNull(id, "id");
            this.starter = Objects.requireNonNull(starter, "starter");
        }

        public Builder<T> policy(RestartPolicy restartPolicy) {
            this.policy = Objects.requireNonNull(restartPolicy, "policy");
            return this;
        }

        /** An instance that ends cleanly (exit code 0) has done its job: supervision ends instead of restarting it. */
        public Builder<T> finishOnCleanEnd() {
            this.finishOnCleanEnd = true;
            return this;
        }

        /** The monotonic clock in nanoseconds (default {@link System#nanoTime()}). */
        public Builder<T> clock(LongSupplier nanoClock) {
            this.clock = Objects.requireNonNull(nanoClock, "clock");
            return this;
        }

        /** Waits out backoffs (default: a wait that {@link Supervisor#close()} cuts short). */
        public Builder<T> sleeper(Sleeper backoffSleeper) {
            this.sleeper = Objects.requireNonNull(backoffSleeper, "sleeper");
            return this;
        }

        /** How long {@link Supervisor#close()} waits for the supervising loop to end. */
        public Builder<T> closeWait(Duration wait) {
            this.closeWait = Objects.requireNonNull(wait, "closeWait");
            return this;
        }

        public Supervisor<T> build() {
            return new Supervisor<>(this);
        }
    }

    private final String id;
    private final Starter<T> starter;
    private final RestartPolicy policy;
    private final RestartBudget budget;
    private final boolean finishOnCleanEnd;
    private final LongSupplier clock;
    private final Sleeper sleeper;
    private final Duration closeWait;
    private final LifeCycle life;
    private final CountDownLatch closeRequested = new CountDownLatch(1);
    private final CountDownLatch loopEnded = new CountDownLatch(1);
    private final AtomicInteger restarts = new AtomicInteger();
    private T current;
    private Thread loop;
    private volatile GaveUpException gaveUp;

    private Supervisor(Builder<T> b) {
        this.id = b.id;
        this.starter = b.starter;
        this.policy = b.policy;
        this.budget = new RestartBudget(b.policy);
        this.finishOnCleanEnd = b.finishOnCleanEnd;
        this.clock = b.clock;
        this.sleeper = b.sleeper != null ? b.sleeper
            : duration -> closeRequested.await(duration.toNanos(), TimeUnit.NANOSECONDS);
        this.closeWait = b.closeWait;
        this.life = new LifeCycle(b.id + "-supervisor");
    }

    public static <T extends Instance> Builder<T> builder(String id, Starter<T> starter) {
        return new Builder<>(id, starter);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public State state() {
        return life.state();
    }

    /** The instance running now (or the last one, once supervision ended). */
    public synchronized Optional<T> current() {
        return Optional.ofNullable(current);
    }

    /** How many times an instance was started again. */
    public int restarts() {
        return restarts.get();
    }

    /** Why it gave up, if it did. */
    public Optional<GaveUpException> failure() {
        return Optional.ofNullable(gaveUp);
    }

    /** Starts the first instance in the caller's thread; a failure to start is thrown, not retried. */
    @Override
    public void start() throws Exception {
        life.transition(State.STARTING);
        T first;
        try {
            first = starter.start();
        } catch (Exception e) {
            life.compareAndTransition(State.STARTING, State.FAILED);
            throw e;
        }
        synchronized (this) {
            current = first;
        }
        if (!life.compareAndTransition(State.STARTING, State.RUNNING)) {
            first.stop();
        }
    }

    /**
     * Supervises on the caller's thread until closed, until an instance ends cleanly with
     * {@link Builder#finishOnCleanEnd()}, or until the bound is hit ({@link GaveUpException}).
     */
    public void run() {
        synchronized (this) {
            if (loop != null) {
                throw new IllegalStateException(id + ": already supervised by " + loop.getName());
            }
            if (current == null) {
                throw new IllegalStateException(id + ": start() first");
            }
            loop = Thread.currentThread();
        }
        try {
            supervise();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            loopEnded.countDown();
        }
    }

    /** {@link #run()} on a daemon thread of its own; a give-up is logged there and leaves the state FAILED. */
    public Thread runInBackground() {
        Thread thread = new Thread(() -> {
            try {
                run();
            } catch (GaveUpException e) {
                // Logged by run(); the state says FAILED.
            }
        }, id + "-supervisor");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private void supervise() throws InterruptedException {
        while (true) {
            T instance;
            synchronized (this) {
                instance = current;
            }
            Ending end = instance.awaitEnd();
            if (closing()) {
                return;
            }
            if (end.clean() && finishOnCleanEnd) {
                LOG.info("{}: {}; its work is done, so it is not started again.", id, end.reason());
                if (life.beginClose()) {
                    life.transition(State.CLOSED);
                }
                return;
            }
            if (!restartAfter(end)) {
                return;
            }
        }
    }

    /** Starts a new instance after {@code end}, retrying failed starts within the budget; false when closing. */
    private boolean restartAfter(Ending end) throws InterruptedException {
        Ending last = end;
        while (true) {
            Decision decision = budget.onEnd(clock.getAsLong());
            if (decision instanceof GiveUp giveUp) {
                return giveUp(last, giveUp);
            }
            Restart restart = (Restart) decision;
            LOG.warn("{}: {}; starting it again in {} (restart {}, {}).", id, last.reason(),
                describe(restart.delay()), restart.number(), policy.describe());
            sleeper.sleep(restart.delay());
            if (closing()) {
                return false;
            }
            T next;
            try {
                next = starter.start();
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                last = Ending.failed("could not be started again (" + e.getMessage() + ")", e);
                continue;
            }
            restarts.incrementAndGet();
            synchronized (this) {
                if (closing()) {
                    next.stop();
                    return false;
                }
                current = next;
            }
            LOG.info("{}: started again ({} restarts so far).", id, restarts.get());
            return true;
        }
    }

    /** Moves to FAILED and throws; false (nothing to do) when closing has begun meanwhile. */
    private boolean giveUp(Ending last, GiveUp giveUp) {
        if (!life.compareAndTransition(State.RUNNING, State.FAILED)) {
            return false;
        }
        GaveUpException e = new GaveUpException(id + ": " + last.reason() + "; not starting it again: it was "
            + "restarted " + giveUp.restarts() + " times within " + describe(policy.window()) + ", the bound.",
            last.failure());
        gaveUp = e;
        LOG.error(e.getMessage(), last.failure());
        throw e;
    }

    private boolean closing() {
        State s = life.state();
        return s == State.CLOSING || s == State.CLOSED;
    }

    /** Stops the current instance and waits (bounded) for the supervising loop to end; no restart follows. */
    @Override
    public void close() {
        if (!life.beginClose()) {
            return;
        }
        closeRequested.countDown();
        T instance;
        Thread supervising;
        synchronized (this) {
            instance = current;
            supervising = loop;
        }
        if (instance != null) {
            try {
                instance.stop();
            } catch (RuntimeException e) {
                LOG.warn("{}: stopping {} failed: {}", id, instance, e.toString());
            }
        }
        if (supervising != null && supervising != Thread.currentThread()) {
            try {
                if (!loopEnded.await(closeWait.toMillis(), TimeUnit.MILLISECONDS)) {
                    LOG.warn("{}: its supervising thread {} is still busy {} after close.", id, supervising.getName(),
                        describe(closeWait));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        life.transition(State.CLOSED);
    }

    @Override
    public String toString() {
        return id;
    }

    static String describe(Duration d) {
        if (d.toMillis() < 1000 || d.toMillis() % 1000 != 0) {
            return d.toMillis() + " ms";
        }
        if (d.toSeconds() % 3600 == 0) {
            return d.toHours() + " h";
        }
        return d.toSeconds() % 60 == 0 ? d.toMinutes() + " min" : d.toSeconds() + " s";
    }
}
