package io.distpipe.common;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;

import io.distpipe.topics.serde.RegistryUnavailableException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one policy of distpipe's consumer loops for a record they cannot read. A <em>transient</em> failure (the schema
 * registry or a broker does not answer, a timeout) is retried with a bound and a doubling backoff, then ends the
 * component with {@link GaveUpException}: never skipped, never dead-lettered. Anything else the decoder throws (bytes
 * no schema reads, a schema id the registry answers "not found" for, a value the topic does not promise) is
 * <em>poison</em>: {@link PoisonRecordException}, which the caller dead-letters with {@link #deadLetter}.
 */
public final class ReadPolicy {

    /** Header of a dead-lettered record: why it could not be read. */
    public static final String HEADER_REASON = "distpipe.dlq.reason";
    /** Header of a dead-lettered record: {@code <topic>-<partition>@<offset>} it was read from. */
    public static final String HEADER_SOURCE = "distpipe.dlq.source";
    /** Header of a dead-lettered record: the member id of the component that could not read it. */
    public static final String HEADER_COMPONENT = "distpipe.dlq.component";

    public static final int MAX_ATTEMPTS_DEFAULT = 8;
    public static final Duration INITIAL_BACKOFF_DEFAULT = Duration.ofMillis(200);
    public static final Duration MAX_BACKOFF_DEFAULT = Duration.ofSeconds(5);

    private static final Logger LOG = LoggerFactory.getLogger(ReadPolicy.class);

    /** What a read failure is. */
    public enum Kind { TRANSIENT, POISON }

    private final String component;
    private final int maxAttempts;
    private final Supervisor.RestartPolicy backoff;
    private final Supervisor.Sleeper sleeper;

    /**
     * @param component   the member id named in log lines and dead-letter headers
     * @param maxAttempts attempts of one read before a transient failure ends the component (at least 1)
     */
    public ReadPolicy(String component, int maxAttempts, Duration initialBackoff, Duration maxBackoff,
                      Supervisor.Sleeper sleeper) {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
        }
        this.component = Objects.requireNonNull(component, "component");
        this.maxAttempts = maxAttempts;
        this.backoff = new Supervisor.RestartPolicy(maxAttempts, Duration.ofDays(1), initialBackoff, maxBackoff);
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    }

    /** The defaults: 8 attempts over about 16 s, waiting for real. */
    public static ReadPolicy of(String component) {
        return new ReadPolicy(component, MAX_ATTEMPTS_DEFAULT, INITIAL_BACKOFF_DEFAULT, MAX_BACKOFF_DEFAULT,
            d -> Thread.sleep(d.toMillis()));
    }

    public String component() {
        return component;
    }

    /** Whether {@code e}, thrown while decoding a record, may go away by itself (then the read is retried). */
    public static Kind classify(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RegistryUnavailableException || t instanceof RetriableException
                || t instanceof java.util.concurrent.TimeoutException) {
                return Kind.TRANSIENT;
            }
        }
        return Kind.POISON;
    }

    /**
     * Decodes {@code record}: retries a transient failure (bounded, with backoff), and turns poison into a
     * {@link PoisonRecordException}. A wakeup passes through untouched.
     *
     * @throws GaveUpException      if the failure was still transient after the last attempt
     * @throws PoisonRecordException if no attempt can ever read the record
     */
    public <T> T read(ConsumerRecord<byte[], byte[]> record, Function<ConsumerRecord<byte[], byte[]>, T> decode) {
        for (int attempt = 1; ; attempt++) {
            try {
                return decode.apply(record);
            } catch (WakeupException e) {
                throw e;
            } catch (RuntimeException e) {
                String where = where(record);
                if (classify(e) == Kind.POISON) {
                    throw new PoisonRecordException(record, Errors.reason(e), e);
                }
                if (attempt >= maxAttempts) {
                    throw new GaveUpException(component + ": gave up reading " + where + " after " + attempt
                        + " attempts: " + Errors.reason(e), e);
                }
                Duration wait = backoff.backoff(attempt - 1);
                LOG.warn("{}: cannot read {} yet (attempt {} of {}), retrying in {} ms: {}", component, where,
                    attempt, maxAttempts, wait.toMillis(), Errors.reason(e));
                try {
                    sleeper.sleep(wait);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new GaveUpException(component + ": interrupted while retrying to read " + where, e);
                }
            }
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
