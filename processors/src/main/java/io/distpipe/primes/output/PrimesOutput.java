package io.distpipe.primes.output;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import io.distpipe.common.AtomicFile;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.Retry;
import io.distpipe.common.TopicRange;
import io.distpipe.primes.PrimeFound;
import io.distpipe.primes.dedup.DedupTopology;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Decides when a job's output is complete and writes it. Complete means: every task is done (the coordinator says
 * so), and the dedup processor has consumed every record of primes.found up to the high watermark taken after that,
 * so no prime can be missing because dedup lags; then primes.unique is read up to its own high watermark.
 */
public final class PrimesOutput {

    private static final Duration PROBE_POLL = Duration.ofMillis(20);
    private static final Duration PROBE_TIME = Duration.ofMillis(500);
    /** Between two looks at the dedup group's committed offsets. */
    private static final Duration ROUND_PAUSE = Duration.ofMillis(50);
    private static final long ADMIN_TIMEOUT_S = 30;
    /** How long transient failures of the Admin calls here are retried. */
    private static final Duration ADMIN_RETRY_BOUND = Duration.ofSeconds(90);

    /** The distinct primes of a job, ascending, and how many of them are only probable primes. */
    public record Result(TreeSet<BigInteger> primes, long probable) {
    }

    private PrimesOutput() {
    }

    /**
     * High watermarks (not the last stable offsets) of every partition of a topic. A broker that has just started or
     * created the topic may not answer yet ("Timed out waiting for a node assignment"): such transient failures are
     * retried for up to {@link #ADMIN_RETRY_BOUND}.
     */
    public static Map<TopicPartition, Long> highWatermarks(Admin admin, TopicSpec<?, ?> topic) {
        int partitions = Retry.transientFailures("describe " + topic.name(), ADMIN_RETRY_BOUND,
            () -> admin.describeTopics(List.of(topic.name())).allTopicNames().get(ADMIN_TIMEOUT_S, TimeUnit.SECONDS)
                .get(topic.name()).partitions().size());
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            request.put(new TopicPartition(topic.name(), p), OffsetSpec.latest());
        }
        return Retry.transientFailures("read the offsets of " + topic.name(), ADMIN_RETRY_BOUND,
            () -> admin.listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED)).all()
                .get(ADMIN_TIMEOUT_S, TimeUnit.SECONDS).entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset())));
    }

    /**
     * Waits until the dedup group has consumed primes.found up to {@code targets}. A committed offset can stop short
     * of the target at a transaction marker, so a partition also counts as consumed when a read_committed probe
     * finds no data record between the committed offset and the target.
     */
    public static void awaitDedupCaughtUp(Admin admin, Consumer<byte[], byte[]> probe,
                                          Map<TopicPartition, Long> targets, Duration timeout) {
        awaitDedupCaughtUp(admin, probe, targets, timeout, () -> true);
    }

    /** As above, giving up with an {@link IllegalStateException} as soon as {@code stillWanted} turns false. */
    public static void awaitDedupCaughtUp(Admin admin, Consumer<byte[], byte[]> probe,
                                          Map<TopicPartition, Long> targets, Duration timeout,
                                          BooleanSupplier stillWanted) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<TopicPartition, Long> pending = new HashMap<>(targets);
        pending.values().removeIf(target -> target == 0);
        Map<TopicPartition, Long> previous = new HashMap<>();
        while (!pending.isEmpty()) {
            Map<TopicPartition, OffsetAndMetadata> committed = committedOffsets(admin, DedupTopology.APPLICATION_ID);
            // Reached: done. Moved since the last round: the processor is still consuming, so wait rather than read
            // the partition. Not moved: probe, since a transaction marker may be all that is left before the target.
            Map<TopicPartition, Long> stalled = new HashMap<>();
            for (TopicPartition partition : List.copyOf(pending.keySet())) {
                OffsetAndMetadata c = committed.get(partition);
                long offset = c == null ? 0 : c.offset();
                if (offset >= pending.get(partition)) {
                    pending.remove(partition);
                } else if (Long.valueOf(offset).equals(previous.put(partition, offset))) {
                    stalled.put(partition, offset);
                }
            }
            pending.keySet().removeAll(consumedUpTo(probe, stalled, pending));
            if (pending.isEmpty()) {
                return;
            }
            if (!stillWanted.getAsBoolean()) {
                throw new IllegalStateException("Stopped while waiting for the dedup processor to catch up");
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("The dedup processor did not catch up with " + Topics.PRIMES_FOUND
                    .name() + " within " + timeout.toSeconds() + " s (partitions behind: " + pending + ")");
            }
            LockSupport.parkNanos(ROUND_PAUSE.toNanos());
        }
    }

    /**
     * The partitions of {@code from} (partition to committed offset) with no data record left between the committed
     * offset and the target. A partition is paused as soon as one record shows it is behind.
     */
    private static Set<TopicPartition> consumedUpTo(Consumer<byte[], byte[]> probe, Map<TopicPartition, Long> from,
                                                    Map<TopicPartition, Long> targets) {
        Set<TopicPartition> done = new HashSet<>();
        if (from.isEmpty()) {
            return done;
        }
        Set<TopicPartition> behind = new HashSet<>();
        probe.assign(from.keySet());
        from.forEach(probe::seek);
        long deadline = System.nanoTime() + PROBE_TIME.toNanos();
        while (System.nanoTime() < deadline && done.size() + behind.size() < from.size()) {
            for (ConsumerRecord<byte[], byte[]> record : probe.poll(PROBE_POLL)) {
                TopicPartition partition = new TopicPartition(record.topic(), record.partition());
                if (record.offset() < targets.get(partition) && behind.add(partition)) {
                    probe.pause(List.of(partition));
                }
            }
            for (TopicPartition partition : from.keySet()) {
                if (!behind.contains(partition) && probe.position(partition) >= targets.get(partition)) {
                    done.add(partition);
                }
            }
        }
        probe.resume(probe.paused());
        return done;
    }

    private static Map<TopicPartition, OffsetAndMetadata> committedOffsets(Admin admin, String group) {
        return Retry.transientFailures("read the offsets of group " + group, ADMIN_RETRY_BOUND,
            () -> admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                .get(ADMIN_TIMEOUT_S, TimeUnit.SECONDS));
    }

    /**
     * Counts the records of a topic from {@code start} to {@code end} that {@code consumer} (read_committed) sees:
     * those of aborted transactions (a Streams task that failed and read its input again) and transaction markers do
     * not count, as a difference of watermarks would.
     */
    public static long committedRecords(Consumer<byte[], byte[]> consumer, Map<TopicPartition, Long> start,
                                        Map<TopicPartition, Long> end, Duration timeout) {
        long[] count = {0};
        TopicRange.read(consumer, start, end, timeout, record -> count[0]++);
        return count[0];
    }

    /** Reads primes.unique from {@code start} to {@code end} (read_committed) and keeps the primes of one job. */
    public static Result collect(Consumer<byte[], byte[]> consumer, AvroSerdes serdes, String jobId,
                                 Map<TopicPartition, Long> start, Map<TopicPartition, Long> end, Duration timeout) {
        Deserializer<PrimeFound> deserializer = serdes.valueSerde(Topics.PRIMES_UNIQUE).deserializer();
        TreeSet<BigInteger> primes = new TreeSet<>();
        long[] probable = {0};
        // The registry not answering (restarting, a moment of overload) is retried within ReadPolicy's bound, then
        // stops the read loudly: the output is never written from part of the topic, nor does one hiccup fail it.
        ReadPolicy policy = ReadPolicy.of("primes-output");
        TopicRange.read(consumer, start, end, timeout, record -> {
            PrimeFound prime = policy.read(record,
                r -> deserializer.deserialize(r.topic(), r.headers(), r.value()));
            if (prime.getJobId().equals(jobId) && primes.add(Numbers.fromBytes(prime.getNumber()))
                && prime.getProbable()) {
                probable[0]++;
            }
        });
        return new Result(primes, probable[0]);
    }

    /** Writes one number per line, ascending, through a temporary file renamed into place. */
    public static void writeAtomically(Path output, Collection<BigInteger> ascending) throws IOException {
        AtomicFile.write(output, StandardCharsets.US_ASCII, writer -> {
            for (BigInteger n : ascending) {
                writer.write(n.toString());
                writer.write('\n');
            }
        });
    }
}
