package io.distpipe.topics;

import java.math.BigInteger;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.distpipe.chat.ChatEvent;
import io.distpipe.chat.MessageSent;
import io.distpipe.common.PartitionOffset;
import io.distpipe.common.RejectedRecord;
import io.distpipe.kv.Decision;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvOp;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvRequest;
import io.distpipe.kv.KvWrite;
import io.distpipe.kv.Outcome;
import io.distpipe.kv.Vote;
import io.distpipe.kv.WorkerMessage;
import io.distpipe.mapreduce.IntermediateValue;
import io.distpipe.mapreduce.MapTask;
import io.distpipe.mapreduce.MrJobCommand;
import io.distpipe.mapreduce.MrJobOutcome;
import io.distpipe.mapreduce.MrJobState;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.mapreduce.MrTaskPhase;
import io.distpipe.mapreduce.MrTaskState;
import io.distpipe.mapreduce.MrTaskStatus;
import io.distpipe.mapreduce.ReduceTask;
import io.distpipe.membership.Heartbeat;
import io.distpipe.membership.MemberRecord;
import io.distpipe.membership.MemberState;
import io.distpipe.membership.MemberStatus;
import io.distpipe.membership.MembershipChange;
import io.distpipe.membership.MembershipEvent;
import io.distpipe.primes.JobState;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.PrimeFound;
import io.distpipe.primes.SnapshotMarker;
import io.distpipe.primes.SnapshotState;
import io.distpipe.primes.Task;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.primes.TaskMessage;
import io.distpipe.replicas.Checkpoint;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRequest;
import io.distpipe.replicas.ReplicaRole;
import io.distpipe.replicas.RoleAssignment;

/** One filled-in instance of every value type in the catalog, for round-trip tests. */
public final class Samples {

    public static final Instant NOW = Instant.ofEpochMilli(1_700_000_000_000L);
    /** Larger than 2^63 - 1: the records must carry it exactly. */
    public static final BigInteger HUGE = new BigInteger("170141183460469231731687303715884105727");

    private Samples() {
    }

    public static Task task() {
        return Task.newBuilder().setTaskId("job-1/a.txt#0").setJobId("job-1").setFile("a.txt").setChunk(0)
            .setFirstLine(1).setLastLine(3)
            .setNumbers(List.of(Numbers.toBytes(HUGE)))
            .setPacked(Numbers.pack(new long[] {2, -7, Long.MAX_VALUE}, 3))
            .setCreatedAt(NOW).build();
    }

    public static SnapshotMarker marker() {
        return SnapshotMarker.newBuilder().setSnapshotId(3).setJobId("job-1").setInitiator("coordinator")
            .setPartition(2).setPartitions(12).setStartedAt(NOW).build();
    }

    public static Object sampleOf(Class<?> type) {
        return SAMPLES.get(type);
    }

    private static final Map<Class<?>, Object> SAMPLES = Map.ofEntries(
        Map.entry(String.class, "job-1/a.txt#0"),
        Map.entry(Long.class, 42L),
        Map.entry(ChatEvent.class, ChatEvent.newBuilder().setEventId("e-1").setServer("chat-server-1").setAt(NOW)
            .setPayload(MessageSent.newBuilder().setMessageId("m-1").setFrom("alice").setTo("bob").setText("hi")
                .build()).build()),
        Map.entry(TaskMessage.class, TaskMessage.newBuilder().setPayload(task()).build()),
        Map.entry(PrimeFound.class, PrimeFound.newBuilder().setNumber(Numbers.toBytes(HUGE)).setJobId("job-1")
            .setTaskId("job-1/a.txt#0").setWorkerId("worker-1").setProbable(true).build()),
        Map.entry(TaskCompleted.class, TaskCompleted.newBuilder().setTaskId("job-1/a.txt#0").setJobId("job-1")
            .setWorkerId("worker-1").setNumbersTested(3).setPrimesFound(2).setProbablePrimes(1).setTaskPartition(4)
            .setTaskOffset(17).setCompletedAt(NOW).build()),
        Map.entry(JobStatus.class, JobStatus.newBuilder().setJobId("job-1").setState(JobState.RUNNING).setFiles(2)
            .setTasksTotal(5).setTasksCompleted(3).setNumbersTotal(100).setNumbersTested(60).setPrimesFound(12)
            .setRejectedLines(1).setReason(null).setUpdatedAt(NOW).build()),
        Map.entry(RejectedRecord.class, RejectedRecord.newBuilder().setComponent("coordinator").setSource("a.txt")
            .setLocation("line 7").setText("0x1F").setReason("hexadecimal is not accepted").setJobId("job-1")
            .setRejectedAt(NOW).build()),
        Map.entry(SnapshotState.class, SnapshotState.newBuilder().setSnapshotId(3).setJobId("job-1")
            .setMemberId("worker-2").setRole("worker").setPartition(2)
            .setOffsets(List.of(new PartitionOffset("primes.tasks", 2, 40L))).setTasksCompleted(9)
            .setNumbersTested(900).setPrimesFound(77).setInFlight(List.of("job-1/b.txt#3")).setRecordedAt(NOW)
            .build()),
        Map.entry(Heartbeat.class, Heartbeat.newBuilder().setMemberId("worker-2").setRole("worker")
            .setHost("localhost").setPid(1234).setSequence(99).setIncarnation(1_700_000_000_000L).setIntervalMs(1000)
            .setLeaving(false).setSentAt(NOW).build()),
        Map.entry(MembershipEvent.class, MembershipEvent.newBuilder().setType(MembershipChange.SUSPECTED)
            .setMemberId("worker-2").setRole("worker").setEpoch(5)
            .setMembers(List.of(new MemberStatus("worker-1", "worker", MemberState.ALIVE, 300L),
                new MemberStatus("worker-2", "worker", MemberState.SUSPECTED, 3200L)))
            .setReason("no heartbeat for 3200 ms").setAt(NOW).build()),
        Map.entry(MemberRecord.class, MemberRecord.newBuilder().setMemberId("worker-2").setRole("worker")
            .setHost("localhost").setPid(1234).setIncarnation(1_700_000_000_000L).setSequence(99)
            .setState(MemberState.SUSPECTED).setLastSeenMs(1_700_000_003_200L).build()),
        Map.entry(Checkpoint.class, Checkpoint.newBuilder().setReplicaId("S1").setEpoch(2).setCheckpointNum(7)
            .setState("state-7").setLastRequests(Map.of("C1", 10L, "C2", 4L)).setRequestsApplied(14)
            .setPosition(new PartitionOffset("replicas.requests", 0, 15L)).setStateHash("ab12")
            .setCreatedAt(NOW).build()),
        Map.entry(MrJobCommand.class, MrJobCommand.newBuilder().setJobId("mr-1").setApp("wc")
            .setInputFiles(List.of("/data/pg-grimm.txt")).setNReduce(10).setOutputDir("/tmp/out")
            .setSubmittedBy("client-1").setSubmittedAt(NOW).build()),
        Map.entry(MrJobStatus.class, MrJobStatus.newBuilder().setJobId("mr-1").setApp("wc")
            .setState(MrJobState.ERROR).setPreviousState(MrJobState.MAPPING).setOutcome(MrJobOutcome.PENDING)
            .setReason("map task 0 failed").setSubmitSequence(3).setInputFiles(List.of("/data/pg-grimm.txt"))
            .setNReduce(2).setOutputDir("/tmp/out").setIntermediateTopic("mr.intermediate.mr-1").setMapDone(0)
            .setReduceDone(0).setTaskFailures(1).setAcceptedAttempts(List.of(77L)).setIntermediateEnd(List.of(5L, 9L))
            .setTransitions(4).setSubmittedAt(NOW).setUpdatedAt(NOW).build()),
        Map.entry(MapTask.class, MapTask.newBuilder().setJobId("mr-1").setTaskId("mr-1/map-0").setIndex(0)
            .setApp("wc").setFile("/data/pg-grimm.txt").setNReduce(2).setIntermediateTopic("mr.intermediate.mr-1")
            .setRetry(0).setCreatedAt(NOW).build()),
        Map.entry(ReduceTask.class, ReduceTask.newBuilder().setJobId("mr-1").setTaskId("mr-1/reduce-1").setIndex(1)
            .setApp("wc").setIntermediateTopic("mr.intermediate.mr-1").setEndOffset(9)
            .setAcceptedAttempts(List.of(77L)).setOutputDir("/tmp/out").setRetry(0).setCreatedAt(NOW).build()),
        Map.entry(IntermediateValue.class, IntermediateValue.newBuilder().setMapIndex(0).setAttempt(77L)
            .setValue("1").build()),
        Map.entry(MrTaskStatus.class, MrTaskStatus.newBuilder().setJobId("mr-1").setTaskId("mr-1/map-0")
            .setPhase(MrTaskPhase.MAP).setIndex(0).setRetry(0).setAttempt(77L).setWorkerId("worker-1")
            .setState(MrTaskState.DONE).setReason(null).setRecordsIn(540174).setRecordsOut(100000).setOutput(null)
            .setStartedAt(NOW).setFinishedAt(NOW).build()),
        Map.entry(ReplicaRequest.class, ReplicaRequest.newBuilder().setClient("C1").setRequestNum(11)
            .setPayload("add 3").setSentAt(NOW).build()),
        Map.entry(ReplicaReply.class, ReplicaReply.newBuilder().setClient("C1").setServer("S2").setRequestNum(11)
            .setState("9f2c").setRequestsApplied(15).setLastRequests(Map.of("C1", 11L, "C2", 4L))
            .setStateHash("ab12").setDuplicate(false).setRequestOffset(15).setRepliedAt(NOW).build()),
        Map.entry(RoleAssignment.class, RoleAssignment.newBuilder().setMember("S2").setRole(ReplicaRole.RECOVERING)
            .setEpoch(8).setMode("active").setTransferFrom("S1").setPrimary(null).setMembers(List.of("S1", "S2"))
            .setAssignedBy("RM").setAt(NOW).build()),
        Map.entry(KvRequest.class, KvRequest.newBuilder().setRequestId("c1-7").setClientId("c1").setOp(KvOp.WRITE)
            .setWrites(List.of(new KvWrite("k1", "v1"), new KvWrite("k2", "v2"))).setSentAt(NOW).build()),
        Map.entry(KvLogEntry.class, KvLogEntry.newBuilder().setPayload(Decision.newBuilder().setTxId("tx-1")
            .setRequestId("c1-7").setClientId("c1").setOutcome(Outcome.ABORT).setReason("k1 is locked by tx-0")
            .setCoordinator("kv-coordinator-1").build()).setWrittenAt(NOW).build()),
        Map.entry(WorkerMessage.class, WorkerMessage.newBuilder().setWorker("W2").setLogOffset(41)
            .setPayload(new Vote("tx-1", false, "k1 is locked by tx-0")).setSentAt(NOW).build()),
        Map.entry(KvReply.class, KvReply.newBuilder().setRequestId("c1-7").setClientId("c1").setOk(true)
            .setTxId("tx-1").setMembers(List.of("W1", "W2")).setMessage("committed").build()));
}
