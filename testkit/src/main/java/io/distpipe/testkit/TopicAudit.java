package io.distpipe.testkit;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

import io.distpipe.common.TopicRange;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * The topic auditor every system's fault tests share: what a system left on its topics, read with consumers of the
 * test's own (read_committed unless said otherwise), independently of what the system's components say of it, and
 * the checks that name each violation. A read that does not reach a topic's end within a minute fails the test
 * ({@link TopicRange}); a record no schema can read is kept, marked unreadable, not skipped.
 *
 * <p>Each system's audit (primes: {@link PrimesAudit}; the others in their modules' tests) reads its topics through
 * {@link #committed} and states its invariants with a {@link Violations}.
 */
public final class TopicAudit {

    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

    private final String bootstrap;
    private final AvroSerdes serdes;

    private TopicAudit(String bootstrap, AvroSerdes serdes) {
        this.bootstrap = bootstrap;
        this.serdes = serdes;
    }

    /** An auditor of the cluster at {@code bootstrap}, decoding with the registry at {@code registryUrl}. */
    public static TopicAudit of(String bootstrap, String registryUrl) {
        return new TopicAudit(bootstrap, AvroSerdes.connect(registryUrl));
    }

    /**
     * A record read back: its place in the log, its key and value decoded (null for a tombstone), and, when it could
     * not be decoded, why ({@code unreadable} is null otherwise).
     */
    public record Entry<K, V>(int partition, long offset, long timestamp, K key, V value, String unreadable,
                              Map<String, String> headers) {

        public boolean readable() {
            return unreadable == null;
        }
    }

    /** Every committed record of {@code topic}, from its start to its last stable offset as it is now. */
    public <K, V> List<Entry<K, V>> committed(TopicSpec<K, V> topic) {
        return read(topic, true);
    }

    /** Every record in the log of {@code topic}, those of aborted and open transactions included. */
    public <K, V> List<Entry<K, V>> wholeLog(TopicSpec<K, V> topic) {
        return read(topic, false);
    }

    /**
     * Committed records on each of {@code deadLetterTopics}, by topic name; the headers (which say why) of the first
     * few are printed, for the reader of a failed test.
     */
    public Map<String, Long> deadLetters(Collection<? extends TopicSpec<?, ?>> deadLetterTopics) {
        Map<String, Long> counts = new TreeMap<>();
        for (TopicSpec<?, ?> dlq : deadLetterTopics) {
            List<ConsumerRecord<byte[], byte[]>> records = TopicRange.readToEnd(bootstrap, dlq.name(), true, null,
                READ_TIMEOUT);
            records.stream().limit(3).forEach(r -> System.out.println("audit: dead letter " + dlq.name() + " @"
                + r.offset() + ": " + headers(r)));
            counts.put(dlq.name(), (long) records.size());
        }
        return counts;
    }

    private <K, V> List<Entry<K, V>> read(TopicSpec<K, V> topic, boolean committed) {
        Deserializer<K> keys = deserializer(topic.keyType(), true);
        Deserializer<V> values = deserializer(topic.valueType(), false);
        List<Entry<K, V>> entries = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : TopicRange.readToEnd(bootstrap, topic.name(), committed, null,
            READ_TIMEOUT)) {
            K key = null;
            V value = null;
            String unreadable = null;
            try {
                key = r.key() == null ? null : keys.deserialize(r.topic(), r.headers(), r.key());
                value = r.value() == null ? null : values.deserialize(r.topic(), r.headers(), r.value());
            } catch (RuntimeException e) {
                unreadable = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            entries.add(new Entry<>(r.partition(), r.offset(), r.timestamp(), key, value, unreadable, headers(r)));
        }
        return entries;
    }

    /** Through the registry, but raw bytes as they are (a dead-letter topic's key and value are not Avro). */
    @SuppressWarnings("unchecked")
    private <T> Deserializer<T> deserializer(Class<T> type, boolean isKey) {
        return type == byte[].class ? (Deserializer<T>) new ByteArrayDeserializer() : serdes.deserializer(type, isKey);
    }

    private static Map<String, String> headers(ConsumerRecord<byte[], byte[]> r) {
        Map<String, String> all = new TreeMap<>();
        r.headers().forEach(h -> all.put(h.key(), h.value() == null ? "null"
            : new String(h.value(), StandardCharsets.UTF_8).replaceAll("\\s+", " ")));
        return all;
    }

    /** How many times each item occurs in {@code items}. */
    public static <T, R extends Comparable<? super R>> Map<R, Integer> tally(Collection<T> items,
                                                                           Function<T, R> by) {
        Map<R, Integer> counts = new TreeMap<>();
        items.forEach(i -> counts.merge(by.apply(i), 1, Integer::sum));
        return counts;
    }

    /**
     * The violations found in one audit, each one sentence naming up to five examples; {@link #assertNone} fails
     * with all of them.
     */
    public static final class Violations {

        private final String subject;
        private final List<String> problems = new ArrayList<>();

        /** {@code subject} names what was audited, as in "Job j1 on the topics is not exactly once". */
        public Violations(String subject) {
            this.subject = subject;
        }

        /** Records {@code problem} unless {@code ok}. */
        public Violations check(boolean ok, String problem) {
            if (!ok) {
                problems.add(problem);
            }
            return this;
        }

        /** Every item of {@code counts} seen more than once is a violation: "N {what} more than once: ...". */
        public <T> Violations atMostOnce(String what, Map<T, Integer> counts) {
            Map<T, Integer> twice = counts.entrySet().stream().filter(e -> e.getValue() > 1)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, TreeMap::new));
            return check(twice.isEmpty(), twice.size() + " " + what + " more than once: " + first(twice));
        }

        /** Items of {@code expected} not in {@code seen}: "N {what}: ...". */
        public <T> Violations allOf(String what, Collection<T> expected, Collection<T> seen) {
            Set<T> missing = new TreeSet<>(expected);
            missing.removeAll(seen);
            return check(missing.isEmpty(), missing.size() + " " + what + ": " + first(missing));
        }

        /** Each dead-letter topic with a committed record is a violation: "N record(s) on {topic}". */
        public Violations noDeadLetters(Map<String, Long> deadLettered) {
            deadLettered.forEach((topic, count) -> check(count == 0, count + " record(s) on " + topic));
            return this;
        }

        /** Each unreadable entry is a violation. */
        public Violations allReadable(String topic, List<? extends Entry<?, ?>> entries) {
            List<String> bad = entries.stream().filter(e -> !e.readable())
                .map(e -> e.partition() + "@" + e.offset() + " (" + e.unreadable() + ")").toList();
            return check(bad.isEmpty(), bad.size() + " unreadable record(s) on " + topic + ": " + first(bad));
        }

        public List<String> problems() {
            return List.copyOf(problems);
        }

        /** Throws an AssertionError listing every violation, if there is one. */
        public void assertNone() {
            if (!problems.isEmpty()) {
                throw new AssertionError(subject + ":\n  - " + String.join("\n  - ", problems));
            }
        }
    }

    /** Up to five items, then "...". */
    public static String first(Collection<?> items) {
        return items.stream().limit(5).map(String::valueOf).collect(Collectors.joining(", "))
            + (items.size() > 5 ? ", ..." : "");
    }

    /** Up to five entries as "key ×count", then "...". */
    public static String first(Map<?, ?> items) {
        return first(items.entrySet().stream().map(e -> e.getKey() + " ×" + e.getValue()).toList());
    }
}
