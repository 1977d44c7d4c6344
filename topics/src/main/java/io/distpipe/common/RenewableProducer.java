package io.distpipe.common;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

import org.apache.kafka.clients.producer.Producer;

/**
 * A transactional writer's producer that can be made again: the {@link BrokerAborts.Writer} of a component that
 * makes its producers from one supplier. The first producer is made at once and left uninitialized (the component
 * initializes its transactions when it starts); each renewal closes the current one and makes an initialized one
 * ({@link BrokerAborts#renewed}).
 */
public final class RenewableProducer<K, V> implements BrokerAborts.Writer {

    private final String component;
    private final Duration transactionTimeout;
    private final Supplier<? extends Producer<K, V>> make;
    /** Read by the component's threads (closing included), replaced by the one that writes. */
    private volatile Producer<K, V> current;

    /**
     * @param component          the member id named in log lines
     * @param transactionTimeout the {@code transaction.timeout.ms} of the producers {@code make} makes
     * @param make               makes a producer, uninitialized
     */
    public RenewableProducer(String component, Duration transactionTimeout, Supplier<? extends Producer<K, V>> make) {
        this.component = Objects.requireNonNull(component, "component");
        this.transactionTimeout = Objects.requireNonNull(transactionTimeout, "transactionTimeout");
        this.make = Objects.requireNonNull(make, "make");
        this.current = Objects.requireNonNull(make.get(), "the first producer");
    }

    @Override
    public Producer<K, V> producer() {
        return current;
    }

    @Override
    public Duration transactionTimeout() {
        return transactionTimeout;
    }

    @Override
    public void renewProducer() {
        current = BrokerAborts.renewed(component, current, make);
    }
}
