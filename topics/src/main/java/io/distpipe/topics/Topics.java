package io.distpipe.topics;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

import io.distpipe.common.RejectedRecord;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvRequest;
import io.distpipe.kv.WorkerMessage;
import io.distpipe.membership.Heartbeat;
import io.distpipe.membership.MemberRecord;
import io.distpipe.membership.MembershipEvent;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.PrimeFound;
import io.distpipe.primes.SnapshotState;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.primes.TaskMessage;
import io.distpipe.replicas.Checkpoint;

/** The topic catalog: every topic distpipe uses is declared here once, and nothing else spells a topic name. */
public final class Topics {

    private static final long WEEK_MS = 7L * 24 * 60 * 60 * 1000;
    private static final long DAY_MS = 24L * 60 * 60 * 1000;
    private static final long FOREVER = -1L;
    private static final short REPLICATED = 3;
    private static final int MIN_ISR = 2;

    /** Tasks (and snapshot markers) of primes jobs; the numbers travel inside, so this is the file server. */
    public static final TopicSpec<String, TaskMessage> PRIMES_TASKS = new TopicSpec<>("primes.tasks",
        String.class, TaskMessage.class, 12, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "coordinator", "Task records, keyed by task id; snapshot markers in every partition.", false);

    /** Every prime a worker found, keyed by the number in decimal, possibly many times. */
    public static final TopicSpec<String, PrimeFound> PRIMES_FOUND = new TopicSpec<>("primes.found",
        String.class, PrimeFound.class, 6, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "worker", "Primes found, keyed by the number; written in the task's transaction.", false);

    /** One record per finished task, written in the same transaction as its primes and offsets. */
    public static final TopicSpec<String, TaskCompleted> PRIMES_COMPLETED = new TopicSpec<>("primes.completed",
        String.class, TaskCompleted.class, 3, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "worker", "Task completions, keyed by task id.", false);

    /** Each prime of a job once, however often it was found. */
    public static final TopicSpec<String, PrimeFound> PRIMES_UNIQUE = new TopicSpec<>("primes.unique",
        String.class, PrimeFound.class, 6, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "dedup", "Distinct primes per job, keyed by the number.", false);

    /** The coordinator's view of each job; compacted, so the latest status per job stays. */
    public static final TopicSpec<String, JobStatus> PRIMES_JOBS = new TopicSpec<>("primes.jobs",
        String.class, JobStatus.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.COMPACT, FOREVER,
        "coordinator", "Job status, keyed by job id.", false);

    /** Input lines that are not integers: the dead-letter topic of the coordinator. */
    public static final TopicSpec<String, RejectedRecord> PRIMES_REJECTED = new TopicSpec<>("primes.rejected",
        String.class, RejectedRecord.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "coordinator", "Rejected input lines with file, line and reason.", false);

    /**
     * Records on primes.tasks that workers could not read (unknown schema id, corrupt bytes): the original key and
     * value bytes, unchanged, with the source topic, partition, offset and reason in headers.
     */
    public static final TopicSpec<byte[], byte[]> PRIMES_TASKS_DLQ = new TopicSpec<>("primes.tasks.dlq",
        byte[].class, byte[].class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "worker", "Poison task records as they were, the reason in headers.", false);

    /** Records on primes.found that the dedup processor could not read, as Kafka Streams' dead-letter queue. */
    public static final TopicSpec<byte[], byte[]> PRIMES_FOUND_DLQ = new TopicSpec<>("primes.found.dlq",
        byte[].class, byte[].class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "dedup", "Poison records of primes.found as they were, the reason in headers.", false);

    /** The dedup processor's store of primes already emitted, per job (a Kafka Streams changelog). */
    public static final TopicSpec<String, Long> PRIMES_DEDUP_CHANGELOG = new TopicSpec<>(
        "primes-dedup-seen-changelog", String.class, Long.class, 6, REPLICATED, MIN_ISR,
        TopicSpec.Cleanup.COMPACT, FOREVER, "dedup", "Changelog of the dedup store 'seen' (job/number).", true);

    /** Parts of consistent snapshots, one per worker and marker. */
    public static final TopicSpec<String, SnapshotState> PRIMES_SNAPSHOTS = new TopicSpec<>("primes.snapshots",
        String.class, SnapshotState.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "worker", "Snapshot states, keyed by snapshot id.", false);

    /** Heartbeats of every process, each under its own member id. */
    public static final TopicSpec<String, Heartbeat> MEMBERSHIP_HEARTBEATS = new TopicSpec<>("membership.heartbeats",
        String.class, Heartbeat.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, DAY_MS,
        "every member (its own key)", "Heartbeats, keyed by member id.", false);

    /** Membership changes with the member list after each; compacted per member. */
    public static final TopicSpec<String, MembershipEvent> MEMBERSHIP_EVENTS = new TopicSpec<>("membership.events",
        String.class, MembershipEvent.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.COMPACT, FOREVER,
        "membership", "Membership events, keyed by member id.", false);

    /** The membership processor's store of members, each as last heard on its own clock (a Kafka Streams changelog). */
    public static final TopicSpec<String, MemberRecord> MEMBERSHIP_MEMBERS_CHANGELOG = new TopicSpec<>(
        "membership-members-changelog", String.class, MemberRecord.class, 1, REPLICATED, MIN_ISR,
        TopicSpec.Cleanup.COMPACT, FOREVER, "membership", "Changelog of the membership store 'members'.", true);

    /** The membership processor's epoch, one key that grows by one per membership change (a changelog). */
    public static final TopicSpec<String, Long> MEMBERSHIP_EPOCH_CHANGELOG = new TopicSpec<>(
        "membership-epoch-changelog", String.class, Long.class, 1, REPLICATED, MIN_ISR,
        TopicSpec.Cleanup.COMPACT, FOREVER, "membership", "Changelog of the membership store 'epoch'.", true);

    /** Replica checkpoints: state plus the request-log position it reflects; compacted per replica group. */
    public static final TopicSpec<String, Checkpoint> REPLICAS_CHECKPOINTS = new TopicSpec<>("replicas.checkpoints",
        String.class, Checkpoint.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.COMPACT, FOREVER,
        "primary replica", "Checkpoints, keyed by service name.", false);

    /** Key-value store: client requests, read by the active coordinator (the owner of the one partition). */
    public static final TopicSpec<String, KvRequest> KV_REQUESTS = new TopicSpec<>("kv.requests",
        String.class, KvRequest.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, DAY_MS,
        "kv client", "Requests, keyed by client id.", false);

    /**
     * Key-value store: the coordinator's durable log of vote requests, decisions, reads and pool changes, in one
     * order every worker replays; each worker's database is a function of this log.
     */
    public static final TopicSpec<String, KvLogEntry> KV_DECISIONS = new TopicSpec<>("kv.decisions",
        String.class, KvLogEntry.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, FOREVER,
        "kv coordinator (transactional, one at a time)", "Log entries, keyed by transaction or read id.", false);

    /** Key-value store: votes, acknowledgements, read results and join requests of the workers. */
    public static final TopicSpec<String, WorkerMessage> KV_VOTES = new TopicSpec<>("kv.votes",
        String.class, WorkerMessage.class, 6, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, DAY_MS,
        "kv worker (transactional, each its own partition)", "Worker messages, keyed by worker id.", false);

    /** Key-value store: the coordinator's answers to clients. */
    public static final TopicSpec<String, KvReply> KV_REPLIES = new TopicSpec<>("kv.replies",
        String.class, KvReply.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, DAY_MS,
        "kv coordinator", "Replies, keyed by client id.", false);

    public static final List<TopicSpec<?, ?>> ALL = List.of(PRIMES_TASKS, PRIMES_FOUND, PRIMES_COMPLETED,
        PRIMES_UNIQUE, PRIMES_JOBS, PRIMES_REJECTED, PRIMES_TASKS_DLQ, PRIMES_FOUND_DLQ, PRIMES_DEDUP_CHANGELOG,
        PRIMES_SNAPSHOTS, MEMBERSHIP_HEARTBEATS, MEMBERSHIP_EVENTS, MEMBERSHIP_MEMBERS_CHANGELOG,
        MEMBERSHIP_EPOCH_CHANGELOG, REPLICAS_CHECKPOINTS, KV_REQUESTS, KV_DECISIONS, KV_VOTES, KV_REPLIES);

    private static final Map<String, TopicSpec<?, ?>> BY_NAME = ALL.stream()
        .collect(Collectors.toUnmodifiableMap(TopicSpec::name, Function.identity()));

    private Topics() {
    }

    public static Optional<TopicSpec<?, ?>> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /** Whether records of this topic are Avro (false for dead-letter topics, which keep the original bytes). */
    public static boolean isAvro(TopicSpec<?, ?> topic) {
        return topic.keyType() != byte[].class;
    }

    /** The topics distpipe creates itself (Kafka Streams creates the internal ones). */
    public static List<TopicSpec<?, ?>> external() {
        return ALL.stream().filter(t -> !t.internal()).toList();
    }
}
