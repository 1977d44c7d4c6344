package io.distpipe.topics;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

import io.distpipe.chat.ChatEvent;
import io.distpipe.common.RejectedRecord;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvRequest;
import io.distpipe.kv.WorkerMessage;
import io.distpipe.mapreduce.IntermediateValue;
import io.distpipe.mapreduce.MapTask;
import io.distpipe.mapreduce.MrJobCommand;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.mapreduce.MrTaskStatus;
import io.distpipe.mapreduce.ReduceTask;
import io.distpipe.membership.Heartbeat;
import io.distpipe.membership.MemberRecord;
import io.distpipe.membership.MembershipEvent;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.PrimeFound;
import io.distpipe.primes.SnapshotState;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.primes.TaskMessage;
import io.distpipe.replicas.Checkpoint;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRequest;
import io.distpipe.replicas.RoleAssignment;

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

    /**
     * One record per finished task, written in the same transaction as its primes and offsets. A resumed coordinator
     * counts its job's completions from the start of this topic, so it is compacted (per task id) and never expires.
     */
    public static final TopicSpec<String, TaskCompleted> PRIMES_COMPLETED = new TopicSpec<>("primes.completed",
        String.class, TaskCompleted.class, 3, REPLICATED, MIN_ISR, TopicSpec.Cleanup.COMPACT, FOREVER,
        "worker", "Task completions, keyed by task id.", false);

    /**
     * Each prime of a job once, however often it was found. The output is rebuilt from its start while the dedup
     * store remembers forever what it emitted, so it is kept forever (not compacted: the key is the number, which
     * many jobs share).
     */
    public static final TopicSpec<String, PrimeFound> PRIMES_UNIQUE = new TopicSpec<>("primes.unique",
        String.class, PrimeFound.class, 6, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, FOREVER,
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
        "primary replica; a ready replica ordered to transfer its state",
        "Checkpoints, keyed 'primary' (passive) or 'transfer-<replica>' (active state transfer).", false);

    /**
     * Client requests to the replicated server; one partition, so its order is the total order every replica uses.
     * An active replica's cold start replays it from its start (and a passive one from its checkpoint's position), so
     * it is kept forever.
     */
    public static final TopicSpec<String, ReplicaRequest> REPLICAS_REQUESTS = new TopicSpec<>("replicas.requests",
        String.class, ReplicaRequest.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, FOREVER,
        "replica clients", "Requests, keyed by client id; the request log replayed on recovery.", false);

    /** Replies of the replicas; clients keep those of their own id and discard duplicates. */
    public static final TopicSpec<String, ReplicaReply> REPLICAS_REPLIES = new TopicSpec<>("replicas.replies",
        String.class, ReplicaReply.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, DAY_MS,
        "replicas (passive: the primary, transactionally)", "Replies, keyed by client id.", false);

    /** Roles the replica manager assigns, the latest per replica; a recovered replica confirms its own READY. */
    public static final TopicSpec<String, RoleAssignment> REPLICAS_ROLES = new TopicSpec<>("replicas.roles",
        String.class, RoleAssignment.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.COMPACT, FOREVER,
        "replica-manager (a recovered replica confirms its own READY)", "Role assignments, keyed by replica id.",
        false);

    /** The replica manager's store of roles (a Kafka Streams changelog). */
    public static final TopicSpec<String, RoleAssignment> REPLICAS_ROLES_CHANGELOG = new TopicSpec<>(
        "replica-manager-roles-changelog", String.class, RoleAssignment.class, 1, REPLICATED, MIN_ISR,
        TopicSpec.Cleanup.COMPACT, FOREVER, "replica-manager", "Changelog of the replica manager store 'roles'.",
        true);

    /**
     * The schema registry's own storage when bin/start_system.sh runs Apicurio Registry (its kafkasql storage): a
     * journal of every registry change, kept forever, so schemas and their ids survive a registry restart.
     */
    public static final TopicSpec<byte[], byte[]> REGISTRY_JOURNAL = new TopicSpec<>("registry.journal",
        byte[].class, byte[].class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, FOREVER,
        "schema registry", "Apicurio Registry's kafkasql journal (its own record format).", false);

    /** Snapshots of the registry's journal, written by the registry itself (Apicurio's format). */
    public static final TopicSpec<byte[], byte[]> REGISTRY_SNAPSHOTS = new TopicSpec<>("registry.snapshots",
        byte[].class, byte[].class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, FOREVER,
        "schema registry", "Apicurio Registry's kafkasql journal snapshots (its own record format).", false);

    /** The registry's change events (artifact created, rule changed…), written by the registry itself. */
    public static final TopicSpec<byte[], byte[]> REGISTRY_EVENTS = new TopicSpec<>("registry.events",
        byte[].class, byte[].class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "schema registry", "Apicurio Registry's change events (JSON).", false);

    /** SubmitJob commands for the MapReduce coordinator, in submission order (one partition). */
    public static final TopicSpec<String, MrJobCommand> MR_COMMANDS = new TopicSpec<>("mr.jobs.commands",
        String.class, MrJobCommand.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "mr submit (clients)", "SubmitJob commands, keyed by job id.", false);

    /** Each MapReduce job's state-machine state; compacted, so a restarted coordinator resumes from the latest. */
    public static final TopicSpec<String, MrJobStatus> MR_JOBS = new TopicSpec<>("mr.jobs.status",
        String.class, MrJobStatus.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.COMPACT, FOREVER,
        "mr coordinator", "Job status (state, counts, reason), keyed by job id.", false);

    /** Map tasks, consumed by the MapReduce worker group; one input file each. */
    public static final TopicSpec<String, MapTask> MR_MAP_TASKS = new TopicSpec<>("mr.map.tasks",
        String.class, MapTask.class, 12, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "mr coordinator", "Map tasks, keyed by task id.", false);

    /** Reduce tasks, consumed by the same worker group; one intermediate partition each. */
    public static final TopicSpec<String, ReduceTask> MR_REDUCE_TASKS = new TopicSpec<>("mr.reduce.tasks",
        String.class, ReduceTask.class, 12, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "mr coordinator", "Reduce tasks, keyed by task id.", false);

    /** Task attempts that finished or failed, written in the attempt's transaction; one partition keeps them ordered. */
    public static final TopicSpec<String, MrTaskStatus> MR_TASK_STATUS = new TopicSpec<>("mr.task.status",
        String.class, MrTaskStatus.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "mr worker", "Task status updates, keyed by task id.", false);

    /**
     * The shuffle: one topic per job, {@code mr.intermediate.<jobId>} ({@link #mrIntermediate}), with nReduce
     * partitions; map output keyed by the reduce key lands in partition hash(key) mod nReduce. Created by the
     * coordinator, hence not among {@link #external()}.
     */
    public static final TopicSpec<String, IntermediateValue> MR_INTERMEDIATE = new TopicSpec<>("mr.intermediate",
        String.class, IntermediateValue.class, 1, REPLICATED, MIN_ISR, TopicSpec.Cleanup.DELETE, WEEK_MS,
        "mr worker", "Template of the per-job intermediate topics mr.intermediate.<job>.", true);

    /**
     * Every change of the chat state (accounts, logins, messages), keyed by the user it concerns (the recipient of a
     * message). Replicated on all five nodes of the chat quorum and acknowledged by at least three, so it survives
     * two failures and refuses writes when a majority is gone.
     */
    public static final TopicSpec<String, ChatEvent> CHAT_EVENTS = new TopicSpec<>("chat.events",
        String.class, ChatEvent.class, 3, (short) 5, 3, TopicSpec.Cleanup.DELETE, FOREVER,
        "chat server", "Chat events, keyed by the user they concern; written in transactions.", false);

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

    /**
     * Dead-letter topics of the state machine replicas, the kv coordinator and the MapReduce coordinator: records of
     * their input that no schema reads, the original key and value bytes with source, reason and component in headers
     * ({@link io.distpipe.common.ReadPolicy}).
     */
    public static final TopicSpec<byte[], byte[]> KV_DECISIONS_DLQ = deadLetters(KV_DECISIONS, "kv worker");
    public static final TopicSpec<byte[], byte[]> KV_REQUESTS_DLQ = deadLetters(KV_REQUESTS, "kv coordinator");
    public static final TopicSpec<byte[], byte[]> KV_VOTES_DLQ = deadLetters(KV_VOTES, "kv coordinator");
    public static final TopicSpec<byte[], byte[]> REPLICAS_REQUESTS_DLQ = deadLetters(REPLICAS_REQUESTS, "replica");
    public static final TopicSpec<byte[], byte[]> CHAT_EVENTS_DLQ = deadLetters(CHAT_EVENTS, "chat server");
    public static final TopicSpec<byte[], byte[]> MR_TASK_STATUS_DLQ = deadLetters(MR_TASK_STATUS, "mr coordinator");
    public static final TopicSpec<byte[], byte[]> MR_COMMANDS_DLQ = deadLetters(MR_COMMANDS, "mr coordinator");

    public static final List<TopicSpec<?, ?>> ALL = List.of(PRIMES_TASKS, PRIMES_FOUND, PRIMES_COMPLETED,
        PRIMES_UNIQUE, PRIMES_JOBS, PRIMES_REJECTED, PRIMES_TASKS_DLQ, PRIMES_FOUND_DLQ, PRIMES_DEDUP_CHANGELOG,
        PRIMES_SNAPSHOTS, MEMBERSHIP_HEARTBEATS, MEMBERSHIP_EVENTS, MEMBERSHIP_MEMBERS_CHANGELOG,
        MEMBERSHIP_EPOCH_CHANGELOG, REPLICAS_CHECKPOINTS, REGISTRY_JOURNAL, REGISTRY_SNAPSHOTS,
        REGISTRY_EVENTS, MR_COMMANDS, MR_JOBS, MR_MAP_TASKS, MR_REDUCE_TASKS, MR_TASK_STATUS,
        MR_INTERMEDIATE, CHAT_EVENTS, REPLICAS_REQUESTS,
        REPLICAS_REPLIES, REPLICAS_ROLES, REPLICAS_ROLES_CHANGELOG, KV_REQUESTS, KV_DECISIONS, KV_VOTES,
        KV_REPLIES, KV_DECISIONS_DLQ, KV_REQUESTS_DLQ, KV_VOTES_DLQ, REPLICAS_REQUESTS_DLQ, CHAT_EVENTS_DLQ,
        MR_TASK_STATUS_DLQ, MR_COMMANDS_DLQ);

    private static final Map<String, TopicSpec<?, ?>> BY_NAME = ALL.stream()
        .collect(Collectors.toUnmodifiableMap(TopicSpec::name, Function.identity()));

    private Topics() {
    }

    private static TopicSpec<byte[], byte[]> deadLetters(TopicSpec<?, ?> source, String writer) {
        return new TopicSpec<>(source.name() + ".dlq", byte[].class, byte[].class, 1, REPLICATED, MIN_ISR,
            TopicSpec.Cleanup.DELETE, WEEK_MS, writer, "Unreadable records of " + source.name()
                + " as they were, the reason in headers.", false);
    }

    public static Optional<TopicSpec<?, ?>> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /** The intermediate topic of one MapReduce job: {@link #MR_INTERMEDIATE} with nReduce partitions. */
    public static TopicSpec<String, IntermediateValue> mrIntermediate(String jobId, int nReduce) {
        TopicSpec<String, IntermediateValue> t = MR_INTERMEDIATE;
        return new TopicSpec<>(t.name() + "." + jobId, t.keyType(), t.valueType(), nReduce, t.replicationFactor(),
            t.minInsyncReplicas(), t.cleanup(), t.retentionMs(), t.writer(), "Intermediate records of job " + jobId,
            false);
    }

    /**
     * Whether records of this topic are Avro (false for dead-letter topics, which keep the original bytes, and the
     * registry's own storage).
     */
    public static boolean isAvro(TopicSpec<?, ?> topic) {
        return topic.keyType() != byte[].class;
    }

    /** The topics distpipe creates itself (Kafka Streams creates the internal ones). */
    public static List<TopicSpec<?, ?>> external() {
        return ALL.stream().filter(t -> !t.internal()).toList();
    }
}
