package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;

class KafkaClientsTest {

    @Test
    void shouldTellFencingEvenWhenTheProducerWrapsIt() {
        assertThat(KafkaClients.fenced(new ProducerFencedException("newer producer"))).isTrue();
        assertThat(KafkaClients.fenced(new KafkaException("error state",
            new KafkaException("wrapped", new ProducerFencedException("newer producer"))))).isTrue();
    }

    @Test
    void shouldNotTakeOtherFailuresForFencing() {
        assertThat(KafkaClients.fenced(new TimeoutException("no broker"))).isFalse();
        assertThat(KafkaClients.fenced(new KafkaException("error state", new IllegalStateException("x")))).isFalse();
        assertThat(KafkaClients.fenced(null)).isFalse();
    }

    @Test
    void shouldNotTakeAnOldEpochForFencingSinceTheBrokerAnswersItForATransactionItAborted() {
        assertThat(KafkaClients.fenced(new InvalidProducerEpochException("old epoch"))).isFalse();
        assertThat(KafkaClients.fenced(new KafkaException("error state",
            new InvalidProducerEpochException("old epoch")))).isFalse();
    }
}
