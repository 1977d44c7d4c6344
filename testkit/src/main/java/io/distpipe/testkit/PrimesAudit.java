package io.distpipe.testkit;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.primes.PrimeFound;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * What a primes job left on the topics, read independently of the coordinator (whose counts deduplicate, so they
 * cannot show a task committed twice): every topic read to its end, read_committed unless said otherwise.
 *
 * @param tasksPublished     task ids of the job on {@code primes.tasks} (committed)
 * @param completions        committed {@code TaskCompleted} records of the job per task id
 * @param uncommittedCompletions {@code TaskCompleted} records of the job in the log, aborted transactions included
 * @param uniquePrimes       committed {@code primes.unique} entries of the job per prime
 * @param deadLettered       committed records on each dead-letter topic (all jobs)
 * @param completionsByWorker committed completions of the job per worker id
 */
public record PrimesAudit(String jobId, Set<String> tasksPublished, Map<String, Integer> completions,
                          long uncommittedCompletions, Map<BigInteger, Integer> uniquePrimes,
                          Map<String, Long> deadLettered, Map<String, Integer> completionsByWorker) {

    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

    /** Reads the job's records from the primes topics of the cluster at {@code bootstrap}. */
    public static PrimesAudit of(String bootstrap, String registryUrl, String jobId) {
        AvroSerdes serdes = AvroSerdes.connect(registryUrl);
        String taskPrefix = jobId + "/";
        Deserializer<String> taskKeys = serdes.keySerde(Topics.PRIMES_TASKS).deserializer();
        Set<String> tasks = new TreeSet<>();
        read(bootstrap, Topics.PRIMES_TASKS, true, r -> {
            String key = r.key() == null ? "" : taskKeys.deserialize(r.topic(), r.key());
            if (key.startsWith(taskPrefix)) {
                tasks.add(key);
            }
        });
        Deserializer<TaskCompleted> completed = serdes.valueSerde(Topics.PRIMES_COMPLETED).deserializer();
        Map<String, Integer> completions = new TreeMap<>();
        Map<String, Integer> byWorker = new TreeMap<>();
        read(bootstrap, Topics.PRIMES_COMPLETED, true, r -> {
            TaskCompleted done = completed.deserialize(r.topic(), r.value());
            if (jobId.equals(done.getJobId())) {
                completions.merge(done.getTaskId(), 1, Integer::sum);
                byWorker.merge(done.getWorkerId(), 1, Integer::sum);
            }
        });
        long[] uncommitted = {0};
        read(bootstrap, Topics.PRIMES_COMPLETED, false, r -> {
            if (jobId.equals(completed.deserialize(r.topic(), r.value()).getJobId())) {
                uncommitted[0]++;
            }
        });
        Deserializer<PrimeFound> found = serdes.valueSerde(Topics.PRIMES_UNIQUE).deserializer();
        Map<BigInteger, Integer> unique = new TreeMap<>();
        read(bootstrap, Topics.PRIMES_UNIQUE, true, r -> {
            PrimeFound prime = found.deserialize(r.topic(), r.value());
            if (jobId.equals(prime.getJobId())) {
                unique.merge(Numbers.fromBytes(prime.getNumber()), 1, Integer::sum);
            }
        });
        Map<String, Long> deadLettered = new TreeMap<>();
        List<String> reasons = new ArrayList<>();
        for (TopicSpec<?, ?> dlq : List.of(Topics.PRIMES_TASKS_DLQ, Topics.PRIMES_FOUND_DLQ)) {
            long[] count = {0};
            // read_committed: a dead letter written in a transaction that was then aborted (a Streams task that
            // failed, its input read again) was never delivered.
            read(bootstrap, dlq, true, r -> {
                count[0]++;
                if (reasons.size() < 3) {
                    reasons.add(dlq.name() + " @" + r.offset() + ": " + headers(r));
                }
            });
            deadLettered.put(dlq.name(), count[0]);
        }
        reasons.forEach(r -> System.out.println("audit: dead letter " + r));
        return new PrimesAudit(jobId, tasks, completions, uncommitted[0], unique, deadLettered, byWorker);
    }

    /**
     * Every violation of exactly-once delivery found, empty when there is none: a task completed twice or never, a
     * completion of a task that was not published, a prime emitted twice or not at all (against {@code expected}),
     * a record dead-lettered.
     */
    public List<String> violations(Set<BigInteger> expected) {
        List<String> problems = new ArrayList<>();
        Map<String, Integer> twice = completions.entrySet().stream().filter(e -> e.getValue() > 1)
            .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, TreeMap::new));
        if (!twice.isEmpty()) {
            problems.add(twice.size() + " task(s) with more than one committed completion: " + first(twice));
        }
        Set<String> never = new TreeSet<>(tasksPublished);
        never.removeAll(completions.keySet());
        if (!never.isEmpty()) {
            problems.add(never.size() + " published task(s) never completed: " + first(never));
        }
        Set<String> unknown = new TreeSet<>(completions.keySet());
        unknown.removeAll(tasksPublished);
        if (!unknown.isEmpty()) {
            problems.add(unknown.size() + " completion(s) of tasks never published: " + first(unknown));
        }
        Map<BigInteger, Integer> repeated = uniquePrimes.entrySet().stream().filter(e -> e.getValue() > 1)
            .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, TreeMap::new));
        if (!repeated.isEmpty()) {
            problems.add(repeated.size() + " prime(s) on primes.unique more than once: " + first(repeated));
        }
        Set<BigInteger> missing = new TreeSet<>(expected);
        missing.removeAll(uniquePrimes.keySet());
        if (!missing.isEmpty()) {
            problems.add(missing.size() + " expected prime(s) missing from primes.unique: " + first(missing));
        }
        Set<BigInteger> extra = new TreeSet<>(uniquePrimes.keySet());
        extra.removeAll(expected);
        if (!extra.isEmpty()) {
            problems.add(extra.size() + " number(s) on primes.unique that are not expected primes: " + first(extra));
        }
        deadLettered.forEach((topic, count) -> {
            if (count > 0) {
                problems.add(count + " record(s) on " + topic);
            }
        });
        return problems;
    }

    /** Throws an AssertionError listing every violation, if there is one. */
    public PrimesAudit assertExactlyOnce(Set<BigInteger> expected) {
        List<String> problems = violations(expected);
        if (!problems.isEmpty()) {
            throw new AssertionError("Job " + jobId + " on the topics is not exactly once:\n  - "
                + String.join("\n  - ", problems));
        }
        return this;
    }

    /** Completions in the log that read_committed readers do not see (aborted transactions of killed workers). */
    public long hiddenCompletions() {
        return uncommittedCompletions - completions.values().stream().mapToLong(Integer::longValue).sum();
    }

    /** The headers of a record, values as text (a dead letter's say why). */
    private static String headers(ConsumerRecord<byte[], byte[]> r) {
        List<String> all = new ArrayList<>();
        r.headers().forEach(h -> all.add(h.key() + "=" + (h.value() == null ? "null"
            : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8).replaceAll("\\s+", " "))));
        return String.join(", ", all);
    }

    private static String first(java.util.Collection<?> items) {
        return items.stream().limit(5).map(String::valueOf).collect(Collectors.joining(", "))
            + (items.size() > 5 ? ", ..." : "");
    }

    private static String first(Map<?, ?> items) {
        return first(items.entrySet().stream().map(e -> e.getKey() + " ×" + e.getValue()).toList());
    }

    /**
     * Calls {@code each} for every record of {@code topic} up to its end as it is now (the last stable offset when
     * read_committed); fails if the end is not reached in {@link #READ_TIMEOUT}.
     */
    private static void read(String bootstrap, TopicSpec<?, ?> topic, boolean committed,
                             Consumer<ConsumerRecord<byte[], byte[]>> each) {
        Map<String, Object> props = KafkaClients.consumer(bootstrap, null, "primes-audit",
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, committed ? "read_committed" : "read_uncommitted");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic.name(), READ_TIMEOUT).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(partitions, READ_TIMEOUT));
            Poll.until(topic.name() + " to be read to its end", READ_TIMEOUT, () -> {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    Long stop = end.get(new TopicPartition(record.topic(), record.partition()));
                    if (stop != null && record.offset() < stop && record.value() != null) {
                        each.accept(record);
                    }
                }
                end.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
                return end.isEmpty();
            });
        }
    }
}
