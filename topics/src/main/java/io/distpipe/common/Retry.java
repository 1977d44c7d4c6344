package io.distpipe.common;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.distpipe.topics.serde.RegistryUnavailableException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RetriableException;

/**
 * Bounded retries with backoff for calls that may fail transiently: a Kafka error marked retriable (a broker that has
 * no leader yet, "Timed out waiting for a node assignment" while a just-started broker settles) or a wait that timed
 * out. Anything else fails at once; a transient failure that outlasts the bound fails loudly with its last cause.
 * Written here rather than taken from a library because it only needs Kafka's own notion of "retriable".
 */
public final class Retry {

    static final long FIRST_BACKOFF_MS = 100;
    static final long MAX_BACKOFF_MS = 2_000;

    /** What a retry waits; {@link #SLEEP} in production, a fake in tests. */
    public interface Pause {
        void pause(long millis) throws InterruptedException;
    }

    static final Pause SLEEP = TimeUnit.MILLISECONDS::sleep;

    private Retry() {
    }

    /**
     * Calls {@code call} until it returns, retrying transient failures for at most {@code bound}.
     *
     * @param what what the call does, as it should read in "Could not {what}"
     * @throws KafkaException naming {@code what} and carrying the last failure
     */
    public static <T> T transientFailures(String what, Duration bound, Callable<T> call) {
        return transientFailures(what, bound, call, SLEEP, System::nanoTime);
    }

    static <T> T transientFailures(String what, Duration bound, Callable<T> call, Pause pause,
                                   java.util.function.LongSupplier nanoClock) {
        long deadline = nanoClock.getAsLong() + bound.toNanos();
        long backoff = FIRST_BACKOFF_MS;
        int attempts = 0;
        while (true) {
            attempts++;
            Exception failure;
            try {
                return call.call();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaException("Interrupted while trying to " + what, e);
            } catch (Exception e) {
                failure = e;
            }
            Throwable cause = failure instanceof ExecutionException && failure.getCause() != null
                ? failure.getCause() : failure;
            if (!isTransient(cause)) {
                throw new KafkaException("Could not " + what + ": " + Errors.reason(cause), cause);
            }
            long remainingMs = TimeUnit.NANOSECONDS.toMillis(deadline - nanoClock.getAsLong());
            if (remainingMs <= 0) {
                throw new KafkaException("Could not " + what + " within " + bound.toSeconds() + " s (" + attempts
                    + " attempts; last: " + Errors.reason(cause) + ")", cause);
            }
            try {
                pause.pause(Math.min(backoff, remainingMs));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaException("Interrupted while trying to " + what, e);
            }
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
    }

    /**
     * Whether a failure may go away by itself: Kafka says it is retriable, a bounded wait ran out, or the schema
     * registry did not answer; anywhere along the cause chain (a serde wraps what it met).
     */
    public static boolean isTransient(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RetriableException || t instanceof TimeoutException
                || t instanceof RegistryUnavailableException) {
                return true;
            }
        }
        return false;
    }
}
