package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class BrokerAbortsTest {

    private static final Supervisor.RestartPolicy POLICY = new Supervisor.RestartPolicy(3, Duration.ofMinutes(1),
        Duration.ofMillis(100), Duration.ofMillis(400));

    /** A producer whose next commits fail as queued, as the broker answers after its own abort or a fencing. */
    static class FailingProducer extends MockProducer<String, String> {
        final Deque<RuntimeException> commitFailures = new ArrayDeque<>();
        final Deque<RuntimeException> abortFailures = new ArrayDeque<>();
        int aborts;

        FailingProducer() {
            super(true, null, new StringSerializer(), new StringSerializer());
        }

        @Override
        public void commitTransaction() {
            RuntimeException failure = commitFailures.poll();
            if (failure != null) {
                throw failure;
            }
            super.commitTransaction();
        }

        @Override
        public void abortTransaction() {
            aborts++;
            RuntimeException failure = abortFailures.poll();
            if (failure != null) {
                throw failure;
            }
            super.abortTransaction();
        }
    }

    private final FailingProducer producer = new FailingProducer();
    private final List<Long> pauses = new ArrayList<>();
    private final BrokerAborts aborts = new BrokerAborts("w-1", POLICY, pauses::add);

    private String write() {
        producer.beginTransaction();
        producer.send(new ProducerRecord<>("t", "k", "v"));
        producer.commitTransaction();
        return "done";
    }

    @Test
    void shouldAbortAndWriteAgainATransactionTheBrokerAborted() {
        producer.initTransactions();
        producer.commitFailures.add(new InvalidProducerEpochException("Producer attempted to produce with an old "
            + "epoch"));

        assertThat(aborts.run(producer, this::write)).isEqualTo("done");

        assertThat(producer.aborts).as("the broker's abort is aborted here too").isEqualTo(1);
        assertThat(producer.commitCount()).isEqualTo(1);
        assertThat(producer.history()).as("written once, by the retried transaction").hasSize(1);
        assertThat(pauses).containsExactly(100L);
    }

    @Test
    void shouldStopAsFencedWhenTheAbortAfterAnOldEpochIsRefused() {
        producer.initTransactions();
        producer.commitFailures.add(new InvalidProducerEpochException("old epoch"));
        producer.abortFailures.add(new KafkaException("error state", new ProducerFencedException("newer producer")));

        assertThatThrownBy(() -> aborts.run(producer, this::write)).isInstanceOf(ProducerFencedException.class);
        assertThat(producer.commitCount()).isZero();
        assertThat(pauses).isEmpty();
    }

    @Test
    void shouldNeverRetryARealFencing() {
        producer.initTransactions();
        producer.commitFailures.add(new ProducerFencedException("newer producer"));

        assertThatThrownBy(() -> aborts.run(producer, this::write)).isInstanceOf(ProducerFencedException.class);
        assertThat(producer.aborts).isZero();
    }

    @Test
    void shouldStopLoudlyWhenTheBrokerAbortsTooManyTransactionsInARow() {
        producer.initTransactions();
        for (int i = 0; i < 10; i++) {
            producer.commitFailures.add(new InvalidProducerEpochException("old epoch"));
        }

        assertThatThrownBy(() -> aborts.run(producer, this::write)).isInstanceOf(KafkaException.class)
            .hasMessage("w-1: the broker aborted 4 transactions in a row (old epoch); stopping instead of retrying "
                + "them forever");
        assertThat(pauses).as("bounded, with backoff").containsExactly(100L, 200L, 400L);
    }

    @Test
    void shouldCountOnlyBrokerAbortsInARow() {
        producer.initTransactions();
        for (int round = 0; round < 3; round++) {
            producer.commitFailures.add(new InvalidProducerEpochException("old epoch"));
            producer.commitFailures.add(new InvalidProducerEpochException("old epoch"));
            aborts.run(producer, this::write);
        }
        assertThat(producer.commitCount()).isEqualTo(3);
    }

    @Test
    void shouldLeaveOtherFailuresToTheCaller() {
        producer.initTransactions();
        producer.beginTransaction();

        assertThat(aborts.abortedByBroker(producer, new TimeoutException("no broker"))).isFalse();
        assertThat(producer.aborts).isZero();
        assertThat(BrokerAborts.oldEpoch(new KafkaException("wrapped", new InvalidProducerEpochException("x"))))
            .isTrue();
        assertThat(BrokerAborts.oldEpoch(new ProducerFencedException("x"))).isFalse();
    }

    /** A writer on the test's producers; each renewal takes the next one. */
    private final class Renewing implements BrokerAborts.Writer {
        final Deque<FailingProducer> next = new ArrayDeque<>();
        FailingProducer current = producer;
        int renewals;

        @Override
        public FailingProducer producer() {
            return current;
        }

        @Override
        public Duration transactionTimeout() {
            return Duration.ofSeconds(10);
        }

        @Override
        public void renewProducer() {
            renewals++;
            current.close();
            current = next.poll();
            current.initTransactions();
        }

        String write() {
            current.beginTransaction();
            current.send(new ProducerRecord<>("t", "k", "v"));
            current.commitTransaction();
            return "done";
        }
    }

    private final AtomicLong clock = new AtomicLong();
    private final BrokerAborts clocked = new BrokerAborts("w-1", POLICY, pauses::add, clock::get);

    /** Fails the next commit of {@code p} with {@code failure} after {@code open} has passed on the clock. */
    private FailingProducer failingAfter(Duration open, RuntimeException failure) {
        FailingProducer p = new FailingProducer() {
            @Override
            public void commitTransaction() {
                if (!commitFailures.isEmpty()) {
                    clock.addAndGet(open.toNanos());
                }
                super.commitTransaction();
            }
        };
        p.commitFailures.add(failure);
        return p;
    }

    @Test
    void shouldWriteAgainOnANewProducerATransactionThatOutlivedItsTimeout() {
        Renewing writer = new Renewing();
        writer.current = failingAfter(Duration.ofSeconds(11), new InvalidTxnStateException("invalid state"));
        writer.current.initTransactions();
        writer.next.add(new FailingProducer());

        assertThat(clocked.run(writer, writer::write)).isEqualTo("done");

        assertThat(writer.renewals).isEqualTo(1);
        assertThat(writer.current.history()).as("written once, on the new producer").hasSize(1);
        assertThat(pauses).containsExactly(100L);
    }

    @Test
    void shouldTakeAFencingWithinTheTimeoutForANewerInstanceEvenWhenItCanRenew() {
        Renewing writer = new Renewing();
        writer.current = failingAfter(Duration.ofSeconds(2), new ProducerFencedException("newer producer"));
        writer.current.initTransactions();
        writer.next.add(new FailingProducer());

        assertThatThrownBy(() -> clocked.run(writer, writer::write)).isInstanceOf(ProducerFencedException.class);
        assertThat(writer.renewals).isZero();
    }

    @Test
    void shouldCountRenewalsAgainstTheBound() {
        Renewing writer = new Renewing();
        writer.current = failingAfter(Duration.ofSeconds(11), new ProducerFencedException("fenced"));
        writer.current.initTransactions();
        for (int i = 0; i < 5; i++) {
            writer.next.add(failingAfter(Duration.ofSeconds(11), new ProducerFencedException("fenced")));
        }

        assertThatThrownBy(() -> clocked.run(writer, writer::write)).isInstanceOf(KafkaException.class)
            .hasMessageStartingWith("w-1: the broker aborted 4 transactions in a row");
        assertThat(writer.renewals).isEqualTo(3);
    }

    @Test
    void shouldLeaveAFailureThatIsNoStallAnswerToTheCaller() {
        Renewing writer = new Renewing();
        writer.current = failingAfter(Duration.ofSeconds(11), new TimeoutException("no broker"));
        writer.current.initTransactions();

        assertThatThrownBy(() -> clocked.run(writer, writer::write)).isInstanceOf(TimeoutException.class);
        assertThat(writer.renewals).isZero();
    }
}
