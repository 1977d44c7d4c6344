package io.distpipe.common;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Bounded polling for conditions that other threads or processes make true, used instead of bare sleeps. */
public final class Poll {

    private static final Duration DEFAULT_INTERVAL = Duration.ofMillis(100);

    private Poll() {
    }

    /**
     * Waits until {@code condition} is true.
     *
     * @param what    what is awaited, as it should read in "Timed out after 30 s waiting for {what}"
     * @throws PollTimeoutException if the condition is still false after {@code timeout}
     */
    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        untilPresent(what, timeout, () -> condition.getAsBoolean() ? Optional.of(Boolean.TRUE) : Optional.empty());
    }

    /**
     * Waits until {@code attempt} returns a value and returns it. An attempt that throws counts as "not yet" and its
     * exception is attached to the timeout exception, so the cause of a failed wait is not lost. An attempt that
     * throws {@link PollAbortedException} ends the wait at once with that exception.
     *
     * @param what    what is awaited, as it should read in "Timed out after 30 s waiting for {what}"
     * @throws PollTimeoutException if no attempt returned a value within {@code timeout}
     */
    public static <T> T untilPresent(String what, Duration timeout, Supplier<Optional<T>> attempt) {
        long deadline = System.nanoTime() + timeout.toNanos();
        RuntimeException lastFailure = null;
        while (true) {
            try {
                Optional<T> result = attempt.get();
                if (result.isPresent()) {
                    return result.get();
                }
            } catch (PollAbortedException e) {
                throw e;
            } catch (RuntimeException e) {
                lastFailure = e;
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                PollTimeoutException timedOut = new PollTimeoutException(
                        "Timed out after " + describe(timeout) + " waiting for " + what + ".");
                if (lastFailure != null) {
                    timedOut.initCause(lastFailure);
                }
                throw timedOut;
            }
            pause(Math.min(remaining, DEFAULT_INTERVAL.toNanos()));
        }
    }

    private static void pause(long nanos) {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while polling.", e);
        }
    }

    private static String describe(Duration timeout) {
        return timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + " s" : timeout.toMillis() + " ms";
    }

    /** Thrown when a bounded wait ends without its condition becoming true. */
    public static final class PollTimeoutException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        PollTimeoutException(String message) {
            super(message);
        }
    }

    /** Thrown by an attempt to say the awaited condition can never become true, so waiting longer is pointless. */
    public static class PollAbortedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public PollAbortedException(String message) {
            super(message);
        }
    }
}
