package io.distpipe.common;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.LongSupplier;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The one policy of distpipe's consumer loops for a record they cannot read. A <em>transient</em> failure (as
 * {@link Retry#isTransient} says: the schema registry or a broker does not answer, a timeout) is retried by
 * {@link Retry} within a bound, then ends the component with {@link GaveUpException}: never skipped, never
 * dead-lettered. Anything else the decoder throws (bytes no schema reads, a schema id the registry answers "not found"
 * for, a value the topic does not promise) is <em>poison</em>: {@link PoisonRecordException}, which the caller sends
 * to its dead-letter topic with {@link #deadLetter} and counts.
 */
public final class ReadPolicy {

    /** Header of a dead-lettered record: why it could not be read. */
    public static final String HEADER_REASON = "distpipe.dlq.reason";
    /** Header of a dead-lettered record: {@code <topic>-<partition>@<offset>} it was read from. */
    public static final String HEADER_SOURCE = "distpipe.dlq.source";
    /** Header of a dead-lettered record: the member id of the component that could not read it. */
    public static final String HEADER_COMPONENT = "distpipe.dlq.component";

    /** How long a record that cannot be read for now is retried before the component stops. */
    public static final Duration BOUND_DEFAULT = Duration.ofSeconds(15);

    /** What a read failure is. */
    public enum Kind { TRANSIENT, POISON }

    private final String component;
    private final Duration bound;
    private final Retry.Pause pause;
    private final LongSupplier nanoClock;

    /**
     * @param component the member id named in messages and dead-letter headers
     * @param bound     how long a transient failure is retried (zero: tried once)
     */
    public ReadPolicy(String component, Duration bound) {
        this(component, bound, Retry.SLEEP, System::nanoTime);
    }

    ReadPolicy(String component, Duration bound, Retry.Pause pause, LongSupplier nanoClock) {
        this.component = Objects.requireNonNull(component, "component");
        this.bound = Objects.requireNonNull(bound, "bound");
        this.pause = pause;
        this.nanoClock = nanoClock;
    }

    /** The default bound, waiting for real. */
    public static ReadPolicy of(String component) {
        return new ReadPolicy(component, BOUND_DEFAULT);
    }

    public String component() {
        return component;
    }

    /** What {@code e}, thrown while decoding a record, is. */
    public static Kind classify(Throwable e) {
        return Retry.isTransient(e) ? Kind.TRANSIENT : Kind.POISON;
    }

    /**
     * Decodes {@code record}: retries a transient failure (bounded, with backoff), and turns poison into a
     * {@link PoisonRecordException}. A wakeup passes through untouched.
     *
     * @throws GaveUpException       if the failure was still transient at the end of the bound
     * @throws PoisonRecordException if no attempt can ever read the record
     */
    public <T> T read(ConsumerRecord<byte[], byte[]> record, Function<ConsumerRecord<byte[], byte[]>, T> decode) {
        String where = where(record);
        try {
            return Retry.transientFailures("read " + where, bound, () -> decode.apply(record), pause, nanoClock);
        } catch (KafkaException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            if (cause instanceof WakeupException wakeup) {
                throw wakeup;
            }
            if (classify(cause) == Kind.TRANSIENT) {
                throw new GaveUpException(component + ": gave up: " + e.getMessage(), cause);
            }
            throw new PoisonRecordException(record, Errors.reason(cause), cause);
        }
    }

    /**
     * The dead-letter record of a poison record: its key and value bytes unchanged, its headers kept, plus where it
     * was read, why it is poison and who could not read it.
     */
    public ProducerRecord<byte[], byte[]> deadLetter(String deadLetterTopic, PoisonRecordException poison) {
        ConsumerRecord<byte[], byte[]> record = poison.record();
        Headers headers = new RecordHeaders(record.headers().toArray());
        headers.add(HEADER_SOURCE, where(record).getBytes(StandardCharsets.UTF_8));
        headers.add(HEADER_REASON, poison.reason().getBytes(StandardCharsets.UTF_8));
        headers.add(HEADER_COMPONENT, component.getBytes(StandardCharsets.UTF_8));
        return new ProducerRecord<>(deadLetterTopic, null, record.key(), record.value(), headers);
    }

    /** {@code <topic>-<partition>@<offset>}. */
    public static String where(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    /** A record no attempt can read; it goes to a dead-letter topic, never silently skipped. */
    public static final class PoisonRecordException extends KafkaException {
        private static final long serialVersionUID = 1L;
        private final transient ConsumerRecord<byte[], byte[]> record;
        private final String reason;

        public PoisonRecordException(ConsumerRecord<byte[], byte[]> record, String reason, Throwable cause) {
            super("Unreadable record " + where(record) + ": " + reason, cause);
            this.record = record;
            this.reason = reason;
        }

        public ConsumerRecord<byte[], byte[]> record() {
            return record;
        }

        public String reason() {
            return reason;
        }
    }

    /** A transient read failure outlasted the bound: the component stops, loudly, rather than skip the record. */
    public static final class GaveUpException extends KafkaException {
        private static final long serialVersionUID = 1L;

        public GaveUpException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
