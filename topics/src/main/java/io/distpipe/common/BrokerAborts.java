package io.distpipe.common;

import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one decision of every transactional writer after its transaction failed with the broker's "old epoch" answer.
 * The broker gives that answer both when it aborted the transaction for its timeout (a stalled process: it bumped the
 * epoch) and when a newer instance with the same transactional id fenced this one; only in the first case does
 * {@code abortTransaction()} then succeed (measured on Kafka 4.3.1). So the transaction is aborted: if the abort
 * succeeds it is retried, bounded and with backoff; if the abort fails with {@link ProducerFencedException}, that
 * exception is thrown and the writer stops as fenced. A real {@link ProducerFencedException} is never retried.
 *
 * <p>What the producer answers after the broker aborted its transaction depends on the call that meets the abort
 * (measured on Kafka 4.3.1, {@code BrokerAbortsIT}): a {@code send} gets the old epoch (the abort then succeeds); {@code
 * sendOffsetsToTransaction} gets {@link ProducerFencedException} and {@code commitTransaction} {@link
 * InvalidTxnStateException}, both fatal: the producer refuses everything after them, an abort included. A writer that
 * can make its producer again ({@link #run(Writer, Supplier)}) is therefore told by its own monotonic clock: a
 * transaction that failed after being open longer than its timeout was aborted by the broker whatever the answer says,
 * and is written again on a new producer (whose {@code initTransactions} fences the old one); a younger transaction
 * answered {@link ProducerFencedException} was fenced by a newer instance. (Should a newer instance really have taken
 * over while this one stalled, the new producer fences it in turn, and it stops as fenced at its next transaction; the
 * bound below ends any back and forth.)
 */
public final class BrokerAborts {

    /** Transactions the broker aborted in a row that are written again before the writer stops loudly. */
    public static final Supervisor.RestartPolicy POLICY_DEFAULT = new Supervisor.RestartPolicy(5,
        Duration.ofMinutes(1), Duration.ofMillis(100), Duration.ofSeconds(2));

    private static final Logger LOG = LoggerFactory.getLogger(BrokerAborts.class);

    private final String component;
    private final Supervisor.RestartPolicy policy;
    private final Retry.Pause pause;
    private final LongSupplier nanoClock;
    private int inARow;

    /**
     * A transactional writer whose producer can be made again: the broker's abort of a stalled transaction can leave
     * a producer that refuses every call.
     */
    public interface Writer {
        /** The producer the next transaction uses. */
        Producer<?, ?> producer();

        /** The transactional timeout of that producer. */
        Duration transactionTimeout();

        /** Closes the current producer at once and makes a new one with the same transactional id, initialized. */
        void renewProducer();
    }

    /** @param component the member id named in log lines and errors */
    public BrokerAborts(String component) {
        this(component, POLICY_DEFAULT, Retry.SLEEP);
    }

    public BrokerAborts(String component, Supervisor.RestartPolicy policy) {
        this(component, policy, Retry.SLEEP);
    }

    BrokerAborts(String component, Supervisor.RestartPolicy policy, Retry.Pause pause) {
        this(component, policy, pause, System::nanoTime);
    }

    /** For tests: the backoff and the clock that measures how long a transaction was open. */
    public BrokerAborts(String component, Supervisor.RestartPolicy policy, Retry.Pause pause, LongSupplier nanoClock) {
        this.component = Objects.requireNonNull(component, "component");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.pause = Objects.requireNonNull(pause, "pause");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    }

    /**
     * Whether a failure, or any of its causes, is the broker's old-epoch answer (it aborted the transaction, or a newer
     * instance fenced this one: {@link #abortedByBroker} tells which) and not fencing itself.
     */
    public static boolean oldEpoch(Throwable e) {
        if (KafkaClients.fenced(e)) {
            return false;
        }
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof InvalidProducerEpochException || t instanceof TransactionAbortedException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs {@code transaction} (which begins, writes and commits one transaction, and may run again: it must write the
     * same thing each time) until it commits. A transaction the broker aborted is aborted and run again, at most
     * {@link Supervisor.RestartPolicy#maxRestarts()} times in a row with the policy's backoff; any other failure is
     * thrown as it came.
     *
     * @throws ProducerFencedException if a newer instance fenced this one (the abort said so)
     * @throws KafkaException          if the broker aborted more transactions in a row than the policy allows
     */
    public <T> T run(Producer<?, ?> producer, Supplier<T> transaction) {
        while (true) {
            try {
                T result = transaction.get();
                committed();
                return result;
            } catch (KafkaException e) {
                if (!abortedByBroker(producer, e)) {
                    throw e;
                }
            }
        }
    }

    /**
     * Runs {@code transaction} on {@code writer}'s producer until it commits, as {@link #run(Producer, Supplier)}, and
     * in addition: a transaction that fails after it has been open for longer than the writer's transaction timeout
     * (the process stalled: the broker has aborted it) with any of the answers the producer gives then (an old epoch,
     * {@link ProducerFencedException}, {@link InvalidTxnStateException}, also as the cause of "in an error state") is
     * written again on a new producer. Renewals and broker aborts count together against the policy's bound.
     *
     * @throws ProducerFencedException if a newer instance fenced this one within the transaction timeout
     * @throws KafkaException          if the broker aborted more transactions in a row than the policy allows
     */
    public <T> T run(Writer writer, Supplier<T> transaction) {
        while (true) {
            long began = now();
            try {
                T result = transaction.get();
                committed();
                return result;
            } catch (KafkaException e) {
                if (!recover(writer, e, began)) {
                    throw e;
                }
            }
        }
    }

    /**
     * After {@code failure} ended a transaction that began at {@code beganNanos} ({@link #now()}): whether the broker
     * had aborted it, in which case the producer has been renewed (the transaction outlived its timeout) or the
     * transaction aborted here too, the backoff waited, and the caller writes it again. False for any other failure,
     * a {@link ProducerFencedException} within the timeout included (the caller stops as fenced).
     *
     * @throws ProducerFencedException if an abort says a newer instance fenced this one
     * @throws KafkaException          if the broker aborted more transactions in a row than the policy allows
     */
    public boolean recover(Writer writer, KafkaException failure, long beganNanos) {
        long openMs = Duration.ofNanos(now() - beganNanos).toMillis();
        long timeoutMs = writer.transactionTimeout().toMillis();
        if (openMs < timeoutMs || !stallAnswer(failure)) {
            return abortedByBroker(writer.producer(), failure);
        }
        count(failure);
        LOG.warn("{}: the transaction was open for {} ms, past its {} ms timeout (the process stalled), so the broker "
            + "has aborted it and this producer refuses it ({}); writing it again on a new producer ({} of {}).",
            component, openMs, timeoutMs, Errors.reason(failure), inARow, policy.maxRestarts());
        writer.renewProducer();
        backoff();
        return true;
    }

    /**
     * What a {@link Writer#renewProducer()} does: closes {@code refused} at once (a failure to close is only logged)
     * and returns a new producer from {@code make}, its transactions initialized (which fences the old epoch).
     */
    public static <P extends Producer<?, ?>> P renewed(String component, Producer<?, ?> refused, Supplier<P> make) {
        if (refused != null) {
            try {
                refused.close(Duration.ZERO);
            } catch (RuntimeException e) {
                LOG.debug("{}: closing the refused producer: {}", component, e.toString());
            }
        }
        P producer = make.get();
        producer.initTransactions();
        return producer;
    }

    /** The monotonic clock the age of a transaction is measured on, in nanoseconds. */
    public long now() {
        return nanoClock.getAsLong();
    }

    /** Whether a failure is one of the producer's answers to a transaction the broker aborted (or to fencing). */
    public static boolean stallAnswer(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof InvalidProducerEpochException || t instanceof TransactionAbortedException
                || t instanceof ProducerFencedException || t instanceof InvalidTxnStateException) {
                return true;
            }
        }
        return false;
    }

    /**
     * After {@code failure} ended a transaction: whether the broker had aborted it, in which case the transaction has
     * been aborted here too, the backoff waited, and the caller writes it again. False for any failure that is not an
     * old epoch (the caller handles it as before).
     *
     * @throws ProducerFencedException if the abort says a newer instance fenced this one
     * @throws KafkaException          if the broker aborted more transactions in a row than the policy allows
     */
    public boolean abortedByBroker(Producer<?, ?> producer, KafkaException failure) {
        if (!oldEpoch(failure)) {
            return false;
        }
        try {
            producer.abortTransaction();
        } catch (KafkaException abortFailed) {
            ProducerFencedException fenced = KafkaClients.fencing(abortFailed);
            if (fenced != null) {
                LOG.warn("{}: fenced by a newer instance with the same transactional id (the abort after '{}' was "
                    + "refused).", component, Errors.reason(failure));
                throw fenced;
            }
            abortFailed.addSuppressed(failure);
            throw abortFailed;
        }
        count(failure);
        LOG.warn("{}: the broker aborted the transaction ({}); aborted it too, writing it again in {} ms ({} of {}).",
            component, Errors.reason(failure), policy.backoff(inARow - 1).toMillis(), inARow, policy.maxRestarts());
        backoff();
        return true;
    }

    /** One more transaction the broker aborted in a row; past the bound, the writer stops loudly. */
    private void count(KafkaException failure) {
        inARow++;
        if (inARow > policy.maxRestarts()) {
            throw new KafkaException(component + ": the broker aborted " + inARow + " transactions in a row ("
                + Errors.reason(failure) + "); stopping instead of retrying them forever", failure);
        }
    }

    private void backoff() {
        try {
            pause.pause(policy.backoff(inARow - 1).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptException(e);
        }
    }

    /** A transaction committed: the count of broker aborts in a row starts again. */
    public void committed() {
        inARow = 0;
    }
}
