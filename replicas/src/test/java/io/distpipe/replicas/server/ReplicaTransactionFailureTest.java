package io.distpipe.replicas.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import io.distpipe.common.BrokerAborts;
import io.distpipe.common.Supervisor;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The primary's decision after its transaction failed, on a mock producer: a transaction the broker aborted (the
 * abort then succeeds) is replayed from the checkpoint; only an abort refused as fenced makes the primary step down.
 */
class ReplicaTransactionFailureTest {

    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
        new ByteArraySerializer());
    private final BrokerAborts aborts = new BrokerAborts("R1", new Supervisor.RestartPolicy(2, Duration.ofMinutes(1),
        Duration.ZERO, Duration.ZERO));

    private KafkaException commitFailure() {
        producer.initTransactions();
        producer.beginTransaction();
        try {
            producer.commitTransaction();
        } catch (KafkaException e) {
            return e;
        }
        throw new AssertionError("the commit did not fail");
    }

    @Test
    void shouldReplayRatherThanStepDownWhenTheBrokerAbortedTheTransaction() {
        producer.commitTransactionException = new InvalidProducerEpochException("Producer attempted to produce with "
            + "an old epoch");
        KafkaException failure = commitFailure();

        assertThat(Replica.afterTransactionFailure(producer, aborts, failure)).isEqualTo(Replica.AfterFailure.REPLAY);
        assertThat(producer.transactionAborted()).as("the broker's abort is aborted here too").isTrue();
    }

    @Test
    void shouldStepDownWhenTheAbortAfterAnOldEpochIsRefusedAsFenced() {
        producer.commitTransactionException = new InvalidProducerEpochException("old epoch");
        producer.abortTransactionException = new ProducerFencedException("There is a newer producer with the same "
            + "transactionalId");
        KafkaException failure = commitFailure();

        assertThat(Replica.afterTransactionFailure(producer, aborts, failure)).isEqualTo(Replica.AfterFailure.FENCED);
    }

    @Test
    void shouldStepDownAtOnceWhenFencedAndReplayOtherFailures() {
        assertThat(Replica.afterTransactionFailure(producer, aborts, new ProducerFencedException("newer")))
            .isEqualTo(Replica.AfterFailure.FENCED);
        assertThat(Replica.afterTransactionFailure(producer, aborts, new TimeoutException("no broker")))
            .isEqualTo(Replica.AfterFailure.REPLAY);
    }

    @Test
    void shouldStopLoudlyWhenTheBrokerKeepsAbortingTheTransactions() {
        producer.commitTransactionException = new InvalidProducerEpochException("old epoch");
        KafkaException failure = commitFailure();
        Replica.afterTransactionFailure(producer, aborts, failure);
        producer.beginTransaction();
        Replica.afterTransactionFailure(producer, aborts, failure);
        producer.beginTransaction();

        assertThatThrownBy(() -> Replica.afterTransactionFailure(producer, aborts, failure))
            .isInstanceOf(KafkaException.class).hasMessageContaining("R1: the broker aborted 3 transactions in a row");
    }
}
