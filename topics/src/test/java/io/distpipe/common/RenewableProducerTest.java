package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class RenewableProducerTest {

    private final List<MockProducer<byte[], byte[]>> made = new ArrayList<>();

    private MockProducer<byte[], byte[]> make() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
            new ByteArraySerializer());
        made.add(producer);
        return producer;
    }

    @Test
    void shouldMakeTheFirstProducerUninitializedAndEachRenewalClosedAndInitialized() {
        RenewableProducer<byte[], byte[]> tx = new RenewableProducer<>("w1", Duration.ofSeconds(4), this::make);

        assertThat(made).hasSize(1);
        assertThat(tx.producer()).isSameAs(made.get(0));
        assertThat(made.get(0).transactionInitialized()).as("the component initializes it when it starts").isFalse();
        assertThat(tx.transactionTimeout()).isEqualTo(Duration.ofSeconds(4));

        tx.renewProducer();

        assertThat(made).hasSize(2);
        assertThat(made.get(0).closed()).isTrue();
        assertThat(tx.producer()).isSameAs(made.get(1));
        assertThat(made.get(1).transactionInitialized()).isTrue();
        assertThat(made.get(1).closed()).isFalse();
    }
}
