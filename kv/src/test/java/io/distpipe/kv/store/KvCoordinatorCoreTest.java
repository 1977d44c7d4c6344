package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import io.distpipe.kv.Ack;
import io.distpipe.kv.Decision;
import io.distpipe.kv.JoinRequest;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvOp;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvRequest;
import io.distpipe.kv.KvWrite;
import io.distpipe.kv.Outcome;
import io.distpipe.kv.PoolChange;
import io.distpipe.kv.PoolChangeType;
import io.distpipe.kv.ReadKind;
import io.distpipe.kv.ReadRequest;
import io.distpipe.kv.ReadResult;
import io.distpipe.kv.Vote;
import io.distpipe.kv.VoteRequest;
import io.distpipe.kv.WorkerMessage;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's protocol without a broker: each test drives {@link KvCoordinatorCore} the way
 * {@link KvCoordinator} does (events, then a cycle, then its commit), with workers that are plain {@link KvState}s
 * replaying what the core wrote, and time that moves only when the test moves it.
 */
class KvCoordinatorCoreTest {

    private static final int VOTE_MS = 100;
    private static final int ACK_MS = 300;
    private static final String PREFIX = "C1-7-";
    private static final long REPLY_WINDOW_MS = 60_000;

    private KvCoordinatorCore core = new KvCoordinatorCore("C1", VOTE_MS, ACK_MS);
    /** The workers, each replaying every committed log entry. */
    private final Map<String, KvState> workers = new TreeMap<>();
    /** What each worker has answered and the core has not received yet. */
    private final Map<String, List<WorkerMessage>> outbox = new TreeMap<>();
    /** The committed log, as a new coordinator would replay it. */
    private final List<KvLogEntry> log = new ArrayList<>();
    private long nowNs = 5_000_000_000L;
    private long wallMs = 1_800_000_000_000L;

    /** What one cycle wrote, and the replies it sent before and after its Kafka commit. */
    private record Step(List<Object> log, List<KvReply> beforeCommit, List<KvReply> afterCommit) {
        List<KvReply> replies() {
            List<KvReply> all = new ArrayList<>(beforeCommit);
            all.addAll(afterCommit);
            return all;
        }

        <T> List<T> entries(Class<T> type) {
            return log.stream().filter(type::isInstance).map(type::cast).toList();
        }
    }

    // --- the harness --------------------------------------------------------------------------------------------

    private void addWorkers(String... ids) {
        for (String id : ids) {
            workers.put(id, new KvState());
            outbox.put(id, new ArrayList<>());
        }
    }

    /** One cycle as the shell runs it; the workers then apply what it wrote. */
    private Step step() {
        KvCoordinatorCore.Cycle cycle = core.endCycle(nowNs);
        List<Object> payloads = cycle.log().stream().map(KvCoordinatorCore.Append::payload).toList();
        Step step = new Step(payloads, cycle.replies(), core.committed(nowNs));
        for (Object payload : payloads) {
            KvLogEntry entry = new KvLogEntry(payload, Instant.ofEpochMilli(wallMs));
            log.add(entry);
            workers.forEach((id, state) -> {
                Object answer = state.apply(entry, id);
                if (answer != null) {
                    outbox.get(id).add(message(id, answer));
                }
            });
        }
        return step;
    }

    /** Hands the core what these workers have answered so far. */
    private void deliver(String... ids) {
        for (String id : ids) {
            outbox.get(id).forEach(core::fromWorker);
            outbox.get(id).clear();
        }
    }

    private void deliverAll() {
        deliver(outbox.keySet().toArray(String[]::new));
    }

    /** Loses what this worker has answered so far (it stalled). */
    private void drop(String id) {
        outbox.get(id).clear();
    }

    /** Runs cycles, every worker answering, until nothing moves; returns all replies sent. */
    private List<KvReply> settle() {
        List<KvReply> replies = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Step step = step();
            replies.addAll(step.replies());
            boolean answers = outbox.values().stream().anyMatch(l -> !l.isEmpty());
            deliverAll();
            if (step.log().isEmpty() && step.replies().isEmpty() && !answers) {
                return replies;
            }
        }
        throw new AssertionError("the protocol did not settle within 50 cycles");
    }

    /** Makes the core active over a log holding only this pool, and lets the pool answer the SYNC read. */
    private void serve(String... pool) {
        addWorkers(pool);
        KvLogEntry joined = entryAt(new PoolChange(pool[pool.length - 1], PoolChangeType.JOINED, List.of(pool),
            "test", "C0"), wallMs);
        log.add(joined);
        workers.forEach((id, state) -> state.apply(joined, id));
        core.activate(PREFIX, replayOf(log), nowNs);
        assertThat(settle()).isEmpty();
    }

    /** A new coordinator {@code id} takes over: it replays the committed log, as the shell does. */
    private KvCoordinatorCore.Recovery takeOver(String id, String txPrefix) {
        core = new KvCoordinatorCore(id, VOTE_MS, ACK_MS);
        return core.activate(txPrefix, replayOf(log), nowNs);
    }

    private KvCoordinatorCore.Replay replayOf(List<KvLogEntry> entries) {
        KvCoordinatorCore.Replay replay = new KvCoordinatorCore.Replay(wallMs - REPLY_WINDOW_MS);
        entries.forEach(replay::apply);
        return replay;
    }

    private void advanceMs(long ms) {
        nowNs += TimeUnit.MILLISECONDS.toNanos(ms);
    }

    private static WorkerMessage message(String worker, Object payload) {
        return WorkerMessage.newBuilder().setWorker(worker).setLogOffset(0).setPayload(payload)
            .setSentAt(Instant.EPOCH).build();
    }

    private static KvRequest set(String requestId, String... keysAndValues) {
        List<KvWrite> writes = new ArrayList<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            writes.add(new KvWrite(keysAndValues[i], keysAndValues[i + 1]));
        }
        return KvRequest.newBuilder().setRequestId(requestId).setClientId("client-1").setOp(KvOp.WRITE)
            .setWrites(writes).setKey(null).setSentAt(Instant.EPOCH).build();
    }

    /** A SET of keys k{@code from}.. ({@code count} of them), each of value "v". */
    private static KvRequest keys(String requestId, int from, int count) {
        String[] keysAndValues = new String[2 * count];
        for (int i = 0; i < count; i++) {
            keysAndValues[2 * i] = "k" + (from + i);
            keysAndValues[2 * i + 1] = "v";
        }
        return set(requestId, keysAndValues);
    }

    private static KvRequest read(String requestId, KvOp op, String key) {
        return KvRequest.newBuilder().setRequestId(requestId).setClientId("client-1").setOp(op).setWrites(List.of())
            .setKey(key).setSentAt(Instant.EPOCH).build();
    }

    private void submit(KvRequest request) {
        core.request(request, nowNs);
    }

    private List<KvReply> submitAndSettle(KvRequest request) {
        submit(request);
        return settle();
    }

    private static KvReply replyTo(List<KvReply> replies, String requestId) {
        List<KvReply> matching = replies.stream().filter(r -> r.getRequestId().equals(requestId)).toList();
        assertThat(matching).as("replies to " + requestId).hasSize(1);
        return matching.get(0);
    }

    private static KvLogEntry entryAt(Object payload, long wallMs) {
        return new KvLogEntry(payload, Instant.ofEpochMilli(wallMs));
    }

    // --- two-phase commit ---------------------------------------------------------------------------------------

    @Test
    void shouldCommitOnceEveryWorkerVotedYesAndReplyAsSoonAsTheDecisionIsDurable() {
        serve("W1", "W2", "W3");
        submit(set("r1", "a", "1"));

        Step prepare = step();
        VoteRequest vr = prepare.entries(VoteRequest.class).get(0);
        assertThat(prepare.log()).containsExactly(vr);
        assertThat(vr.getTxId()).isEqualTo(PREFIX + "2");
        assertThat(vr.getParticipants()).containsExactly("W1", "W2", "W3");
        assertThat(vr.getCoordinator()).isEqualTo("C1");
        assertThat(prepare.replies()).isEmpty();

        deliver("W1", "W2");
        Step waiting = step();
        assertThat(waiting.log()).isEmpty();
        assertThat(waiting.replies()).isEmpty();

        deliver("W3");
        Step decision = step();
        assertThat(decision.log()).singleElement().isInstanceOfSatisfying(Decision.class, d -> {
            assertThat(d.getTxId()).isEqualTo(vr.getTxId());
            assertThat(d.getOutcome()).isEqualTo(Outcome.COMMIT);
            assertThat(d.getReason()).isNull();
        });
        assertThat(decision.beforeCommit()).as("nobody hears of a commit before its decision is durable").isEmpty();
        KvReply reply = replyTo(decision.afterCommit(), "r1");
        assertThat(reply.getOk()).isTrue();
        assertThat(reply.getMessage()).isEqualTo("committed");
        assertThat(reply.getTxId()).isEqualTo(vr.getTxId());
        assertThat(reply.getMembers()).containsExactly("W1", "W2", "W3");
        assertThat(core.commits()).isEqualTo(1);
        assertThat(core.transactionsInFlight()).as("waiting for the acknowledgements").isEqualTo(1);

        deliver("W1", "W2");
        assertThat(step().replies()).isEmpty();
        deliver("W3");
        Step done = step();
        assertThat(done.log()).isEmpty();
        assertThat(done.replies()).as("the acknowledgements answer nobody again").isEmpty();
        assertThat(core.commits()).isEqualTo(1);
        assertThat(core.transactionsInFlight()).isZero();
        workers.values().forEach(w -> assertThat(w.db()).containsExactlyEntriesOf(Map.of("a", "1")));
    }

    @Test
    void shouldAnswerAGetAfterACommitWithItsValueBeforeAnyWorkerAcknowledgedIt() {
        serve("W1", "W2", "W3");
        submit(set("r1", "a", "1"));
        step();
        deliverAll();
        assertThat(replyTo(step().afterCommit(), "r1").getOk()).isTrue();
        // The acknowledgements are slow; the client, answered, reads its write at once.
        List<List<WorkerMessage>> acks = new ArrayList<>();
        outbox.values().forEach(l -> {
            acks.add(List.copyOf(l));
            l.clear();
        });
        submit(read("r2", KvOp.GET, "a"));
        assertThat(step().entries(ReadRequest.class)).hasSize(1);
        deliverAll();
        KvReply get = replyTo(step().replies(), "r2");
        assertThat(get.getOk()).isTrue();
        assertThat(get.getFound()).isTrue();
        assertThat(get.getValue()).as("the read is after the decision in the log").isEqualTo("1");
        acks.forEach(l -> l.forEach(core::fromWorker));
        assertThat(settle()).isEmpty();
        assertThat(core.transactionsInFlight()).isZero();
    }

    @Test
    void shouldAbortWhenOneWorkerVotesNoAndTellTheClientOnlyAfterTheDecisionIsDurable() {
        serve("W1", "W2", "W3");
        // W2 holds a lock on "a" for a transaction the others never saw, so it alone votes no.
        workers.get("W2").apply(entryAt(new VoteRequest("other", "r0", "c0", List.of(new KvWrite("a", "0")),
            List.of("W2"), "C0", 0, 1), wallMs), "W2");
        submit(set("r1", "a", "1"));
        VoteRequest vr = step().entries(VoteRequest.class).get(0);

        deliverAll();
        Step decision = step();
        Decision d = decision.entries(Decision.class).get(0);
        assertThat(decision.log()).containsExactly(d);
        assertThat(d.getOutcome()).isEqualTo(Outcome.ABORT);
        assertThat(d.getReason()).isEqualTo("W2 voted no: key 'a' is locked by transaction other");
        assertThat(decision.beforeCommit()).isEmpty();
        KvReply reply = replyTo(decision.afterCommit(), "r1");
        assertThat(reply.getOk()).isFalse();
        assertThat(reply.getMessage()).isEqualTo("aborted: W2 voted no: key 'a' is locked by transaction other");
        assertThat(reply.getTxId()).isEqualTo(vr.getTxId());
        assertThat(core.aborts()).isEqualTo(1);
        assertThat(core.members()).as("a no vote is an answer: W2 stays").containsExactly("W1", "W2", "W3");
        assertThat(settle()).isEmpty();
        assertThat(workers.get("W1").preparedCount()).isZero();
        assertThat(workers.get("W1").db()).isEmpty();
    }

    @Test
    void shouldAbortAndRemoveTheSilentWorkerWhenTheVoteTimesOut() {
        serve("W1", "W2", "W3");
        submit(set("r1", "a", "1"));
        VoteRequest vr = step().entries(VoteRequest.class).get(0);
        assertThat(core.nextDeadlineNs(Long.MAX_VALUE)).isEqualTo(nowNs + TimeUnit.MILLISECONDS.toNanos(VOTE_MS));
        drop("W3");
        deliver("W1", "W2");

        advanceMs(VOTE_MS - 1);
        assertThat(step().log()).isEmpty();
        advanceMs(1);
        Step timeout = step();

        assertThat(timeout.log()).hasSize(2);
        assertThat(timeout.log().get(0)).isInstanceOfSatisfying(PoolChange.class, p -> {
            assertThat(p.getWorker()).isEqualTo("W3");
            assertThat(p.getChange()).isEqualTo(PoolChangeType.REMOVED);
            assertThat(p.getMembers()).containsExactly("W1", "W2");
            assertThat(p.getReason()).isEqualTo("did not vote on " + vr.getTxId() + " within 100 ms");
        });
        assertThat(timeout.log().get(1)).isInstanceOfSatisfying(Decision.class, d -> {
            assertThat(d.getOutcome()).isEqualTo(Outcome.ABORT);
            assertThat(d.getReason()).isEqualTo("[W3] did not vote within 100 ms");
        });
        KvReply reply = replyTo(timeout.afterCommit(), "r1");
        assertThat(reply.getMessage()).isEqualTo("aborted: [W3] did not vote within 100 ms");
        assertThat(reply.getMembers()).containsExactly("W1", "W2");
        assertThat(core.members()).containsExactly("W1", "W2");

        // The next transaction asks only the pool that is left, and commits.
        drop("W3");
        submit(set("r2", "b", "2"));
        List<KvReply> replies = settle();
        assertThat(log.stream().map(KvLogEntry::getPayload).filter(VoteRequest.class::isInstance)
            .map(VoteRequest.class::cast).toList().get(1).getParticipants()).containsExactly("W1", "W2");
        assertThat(replyTo(replies, "r2").getOk()).isTrue();
    }

    @Test
    void shouldRemoveFromThePoolTheWorkerThatDidNotAcknowledgeACommitInTime() {
        serve("W1", "W2", "W3");
        submit(set("r1", "a", "1"));
        VoteRequest vr = step().entries(VoteRequest.class).get(0);
        deliverAll();
        Step decision = step();
        assertThat(decision.entries(Decision.class)).singleElement()
            .satisfies(d -> assertThat(d.getOutcome()).isEqualTo(Outcome.COMMIT));
        KvReply reply = replyTo(decision.afterCommit(), "r1");
        assertThat(reply.getOk()).isTrue();
        assertThat(reply.getMembers()).containsExactly("W1", "W2", "W3");
        drop("W3");
        deliver("W1", "W2");
        assertThat(step().replies()).isEmpty();

        advanceMs(ACK_MS);
        Step timeout = step();
        assertThat(timeout.log()).singleElement().isInstanceOfSatisfying(PoolChange.class, p -> {
            assertThat(p.getWorker()).isEqualTo("W3");
            assertThat(p.getReason()).isEqualTo("did not acknowledge " + vr.getTxId() + " within 300 ms");
            assertThat(p.getMembers()).containsExactly("W1", "W2");
        });
        assertThat(timeout.replies()).isEmpty();
        assertThat(core.commits()).isEqualTo(1);
        assertThat(core.transactionsInFlight()).isZero();
    }

    @Test
    void shouldIgnoreDuplicateLateUnknownAndForeignVotesAndAcks() {
        serve("W1", "W2", "W3");
        submit(set("r1", "a", "1"));
        VoteRequest vr = step().entries(VoteRequest.class).get(0);
        String tx = vr.getTxId();

        // Repeated yes votes of W1 do not stand in for W2 and W3; a stranger's vote and one for no transaction
        // change nothing.
        core.fromWorker(message("W1", new Vote(tx, true, null)));
        core.fromWorker(message("W1", new Vote(tx, true, null)));
        core.fromWorker(message("W2", new Vote(tx, true, null)));
        core.fromWorker(message("W9", new Vote(tx, false, "not asked")));
        core.fromWorker(message("W2", new Vote("no-such-tx", false, "unknown")));
        core.fromWorker(message("W2", new Ack(tx, Outcome.COMMIT)));
        Step nothing = step();
        assertThat(nothing.log()).isEmpty();
        assertThat(nothing.replies()).isEmpty();

        core.fromWorker(message("W3", new Vote(tx, true, null)));
        Step decision = step();
        assertThat(decision.entries(Decision.class)).singleElement()
            .satisfies(d -> assertThat(d.getOutcome()).isEqualTo(Outcome.COMMIT));
        assertThat(replyTo(decision.replies(), "r1").getOk()).isTrue();

        // A no vote after the decision is too late to abort; repeated acks count once.
        core.fromWorker(message("W3", new Vote(tx, false, "late")));
        core.fromWorker(message("W1", new Ack(tx, Outcome.COMMIT)));
        core.fromWorker(message("W1", new Ack(tx, Outcome.COMMIT)));
        core.fromWorker(message("W2", new Ack(tx, Outcome.COMMIT)));
        Step acks = step();
        assertThat(acks.log()).isEmpty();
        assertThat(acks.replies()).isEmpty();
        core.fromWorker(message("W3", new Ack(tx, Outcome.COMMIT)));
        assertThat(step().replies()).isEmpty();
        assertThat(core.transactionsInFlight()).isZero();

        // Once finished, nothing about the transaction is answered again.
        core.fromWorker(message("W1", new Vote(tx, false, "very late")));
        core.fromWorker(message("W1", new Ack(tx, Outcome.COMMIT)));
        Step after = step();
        assertThat(after.log()).isEmpty();
        assertThat(after.replies()).isEmpty();
        assertThat(core.commits()).isEqualTo(1);
        assertThat(core.aborts()).isZero();
    }

    @Test
    void shouldIgnoreVotesThatArriveAfterAnAbort() {
        serve("W1", "W2");
        submit(set("r1", "a", "1"));
        String tx = step().entries(VoteRequest.class).get(0).getTxId();
        core.fromWorker(message("W1", new Vote(tx, false, "disk full")));
        core.fromWorker(message("W2", new Vote(tx, true, null)));
        Step abort = step();
        assertThat(abort.entries(Decision.class)).singleElement()
            .satisfies(d -> assertThat(d.getReason()).isEqualTo("W1 voted no: disk full"));

        core.fromWorker(message("W1", new Vote(tx, true, null)));
        core.fromWorker(message("W2", new Vote(tx, false, "second thoughts")));
        Step late = step();
        assertThat(late.log()).isEmpty();
        assertThat(late.replies()).isEmpty();
        assertThat(core.aborts()).isEqualTo(1);
        assertThat(core.transactionsInFlight()).isZero();
    }

    // --- multiset and rapidset ----------------------------------------------------------------------------------

    @Test
    void shouldCommitAllKeysOfAMultiKeySetInOneDecisionWhenVotesComeFromDifferentPartitionsAtDifferentTimes() {
        serve("W1", "W2", "W3");
        submit(set("multi", "k1", "1", "k2", "2", "k3", "3", "k4", "4", "k5", "5"));
        Step prepare = step();
        assertThat(prepare.entries(VoteRequest.class)).singleElement()
            .satisfies(vr -> assertThat(vr.getWrites()).hasSize(5));

        // Each worker writes its own partition of kv.votes, so their votes reach the coordinator in separate polls.
        for (String w : List.of("W2", "W3")) {
            deliver(w);
            assertThat(step().log()).isEmpty();
        }
        deliver("W1");
        Step decision = step();
        assertThat(decision.entries(Decision.class)).hasSize(1);
        List<KvReply> replies = new ArrayList<>(decision.replies());
        replies.addAll(settle());

        assertThat(replyTo(replies, "multi").getOk()).isTrue();
        Map<String, String> all = Map.of("k1", "1", "k2", "2", "k3", "3", "k4", "4", "k5", "5");
        workers.values().forEach(w -> assertThat(w.db()).containsExactlyInAnyOrderEntriesOf(all));
    }

    @Test
    void shouldApplyNoKeyOfAMultiKeySetWhenOneWorkerVotesNoOnOneKey() {
        serve("W1", "W2", "W3");
        workers.get("W3").apply(entryAt(new VoteRequest("other", "r0", "c0", List.of(new KvWrite("k3", "x")),
            List.of("W3"), "C0", 0, 1), wallMs), "W3");
        submit(set("multi", "k1", "1", "k2", "2", "k3", "3", "k4", "4", "k5", "5"));

        List<KvReply> replies = settle();

        KvReply reply = replyTo(replies, "multi");
        assertThat(reply.getOk()).isFalse();
        assertThat(reply.getMessage()).contains("W3 voted no", "'k3'");
        assertThat(log.stream().map(KvLogEntry::getPayload).filter(Decision.class::isInstance)).hasSize(1);
        for (String w : List.of("W1", "W2")) {
            assertThat(workers.get(w).db()).as(w).isEmpty();
            assertThat(workers.get(w).preparedCount()).as(w + " released its locks").isZero();
        }
    }

    @Test
    void shouldCommitSequentialSetsOfOneKeyInOrderAndKeepTheLast() {
        serve("W1", "W2", "W3");
        List<String> txIds = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            submit(set("rapid-" + i, "rapid", "v" + i));
            KvReply reply = replyTo(settle(), "rapid-" + i);
            assertThat(reply.getOk()).as(reply.getMessage()).isTrue();
            txIds.add(reply.getTxId());
        }

        List<Decision> decisions = log.stream().map(KvLogEntry::getPayload).filter(Decision.class::isInstance)
            .map(Decision.class::cast).toList();
        assertThat(decisions).allSatisfy(d -> assertThat(d.getOutcome()).isEqualTo(Outcome.COMMIT));
        assertThat(decisions).extracting(Decision::getTxId).containsExactlyElementsOf(txIds);
        assertThat(txIds).doesNotHaveDuplicates();
        workers.values().forEach(w -> assertThat(w.db()).containsExactlyEntriesOf(Map.of("rapid", "v19")));
        assertThat(core.commits()).isEqualTo(20);
    }

    @Test
    void shouldCommitTheFirstOfTwoSetsOfOneKeyInOneCycleAndAbortTheSecond() {
        serve("W1", "W2");
        submit(set("first", "rapid", "1"));
        submit(set("second", "rapid", "2"));
        Step prepare = step();
        assertThat(prepare.entries(VoteRequest.class)).extracting(VoteRequest::getRequestId)
            .containsExactly("first", "second");

        deliverAll();
        List<KvReply> replies = settle();

        assertThat(replyTo(replies, "first").getOk()).isTrue();
        KvReply second = replyTo(replies, "second");
        assertThat(second.getOk()).isFalse();
        assertThat(second.getMessage()).contains("locked by transaction " + replyTo(replies, "first").getTxId());
        workers.values().forEach(w -> assertThat(w.db()).containsExactlyEntriesOf(Map.of("rapid", "1")));
    }

    // --- reads --------------------------------------------------------------------------------------------------

    @Test
    void shouldAnswerAGetWithTheFirstResultAndAVerifyOnlyWithAllOfThem() {
        serve("W1", "W2", "W3");
        submit(set("r1", "a", "1"));
        settle();

        submit(read("get", KvOp.GET, "a"));
        submit(read("verify", KvOp.VERIFY, null));
        Step placed = step();
        assertThat(placed.entries(ReadRequest.class)).extracting(ReadRequest::getKind)
            .containsExactly(ReadKind.GET, ReadKind.VERIFY);
        assertThat(placed.replies()).isEmpty();

        deliver("W2");
        Step first = step();
        KvReply get = replyTo(first.replies(), "get");
        assertThat(get.getOk()).isTrue();
        assertThat(get.getFound()).isTrue();
        assertThat(get.getValue()).isEqualTo("1");
        assertThat(first.replies()).as("the verify waits for every worker").hasSize(1);

        deliver("W1", "W3");
        KvReply verify = replyTo(step().replies(), "verify");
        assertThat(verify.getOk()).isTrue();
        assertThat(verify.getHashes()).containsOnlyKeys("W1", "W2", "W3");
        assertThat(verify.getMessage()).isEqualTo("3 workers hold identical databases");
        assertThat(core.readsInFlight()).isZero();
    }

    @Test
    void shouldReportDifferingDatabasesAndAnswerAVerifyWithoutAWorkerThatTimedOut() {
        serve("W1", "W2", "W3");
        workers.get("W1").apply(entryAt(new VoteRequest("x", "r0", "c0", List.of(new KvWrite("only-w1", "1")),
            List.of("W1"), "C0", 0, 1), wallMs), "W1");
        workers.get("W1").apply(entryAt(new Decision("x", "r0", "c0", Outcome.COMMIT, null, "C0"), wallMs), "W1");

        submit(read("differ", KvOp.VERIFY, null));
        KvReply differ = replyTo(settle(), "differ");
        assertThat(differ.getOk()).isFalse();
        assertThat(differ.getMessage()).startsWith("the workers' databases differ: ");

        submit(read("partial", KvOp.VERIFY, null));
        String readId = step().entries(ReadRequest.class).get(0).getReadId();
        drop("W1");
        deliver("W2", "W3");
        assertThat(step().replies()).isEmpty();
        advanceMs(VOTE_MS);
        Step timeout = step();
        assertThat(timeout.entries(PoolChange.class)).singleElement().satisfies(p -> {
            assertThat(p.getWorker()).isEqualTo("W1");
            assertThat(p.getReason()).isEqualTo("did not answer read " + readId + " within 100 ms");
        });
        KvReply partial = replyTo(timeout.beforeCommit(), "partial");
        assertThat(partial.getOk()).isTrue();
        assertThat(partial.getMessage()).isEqualTo("2 workers hold identical databases ([W1] did not answer and "
            + "left the pool)");
    }

    @Test
    void shouldSayNoWorkerAnsweredWhenAReadTimesOutUnanswered() {
        serve("W1");
        submit(read("db", KvOp.DB, null));
        step();
        drop("W1");
        advanceMs(VOTE_MS);
        Step timeout = step();
        KvReply reply = replyTo(timeout.replies(), "db");
        assertThat(reply.getOk()).isFalse();
        assertThat(reply.getMessage()).isEqualTo("no worker answered within 100 ms");
        assertThat(reply.getMembers()).isEmpty();
    }

    @Test
    void shouldGiveADbTimeInProportionToTheKeysAndRemoveASilentWorkerOnlyAfterThat() {
        serve("W1", "W2");
        assertThat(replyTo(submitAndSettle(keys("big", 0, 20_000)), "big").getOk()).isTrue();

        // 20 000 keys: a DB has the 100 ms of a vote and 0.1 ms per key, 2 100 ms; a GET only the 100 ms.
        submit(read("db", KvOp.DB, null));
        String readId = step().entries(ReadRequest.class).get(0).getReadId();
        assertThat(core.nextDeadlineNs(Long.MAX_VALUE)).isEqualTo(nowNs + TimeUnit.MILLISECONDS.toNanos(2_100));
        drop("W1");
        drop("W2");
        advanceMs(VOTE_MS);
        Step slow = step();
        assertThat(slow.log()).as("a slow db removes nobody at the vote timeout").isEmpty();
        assertThat(slow.replies()).isEmpty();
        assertThat(core.members()).containsExactly("W1", "W2");

        advanceMs(2_000);
        Step timeout = step();
        assertThat(timeout.entries(PoolChange.class)).extracting(PoolChange::getReason)
            .containsOnly("did not answer read " + readId + " within 2100 ms").hasSize(2);
        assertThat(replyTo(timeout.replies(), "db").getMessage()).isEqualTo("no worker answered within 2100 ms");
    }

    @Test
    void shouldBoundTheKeysByTheLatestAnswerAndTheWritesCommittedSinceAndAfterATakeOverByTheLog() {
        serve("W1", "W2");
        for (int i = 0; i < 3; i++) {
            assertThat(replyTo(submitAndSettle(keys("same-" + i, 0, 10_000)), "same-" + i).getOk()).isTrue();
        }
        // Three times the same 10 000 keys: 30 000 writes bound the keys until a worker says how many it holds.
        submit(read("verify", KvOp.VERIFY, null));
        step();
        assertThat(core.nextDeadlineNs(Long.MAX_VALUE)).isEqualTo(nowNs + TimeUnit.MILLISECONDS.toNanos(3_100));
        assertThat(replyTo(settle(), "verify").getSize()).isEqualTo(10_000);

        // The answer said 10 000; 500 new keys committed since make 10 500.
        assertThat(replyTo(submitAndSettle(keys("more", 10_000, 500)), "more").getOk()).isTrue();
        submit(read("db", KvOp.DB, null));
        step();
        assertThat(core.nextDeadlineNs(Long.MAX_VALUE)).isEqualTo(nowNs + TimeUnit.MILLISECONDS.toNanos(1_150));
        assertThat(replyTo(settle(), "db").getSize()).isEqualTo(10_500);

        // A new coordinator knows only the log's 30 500 committed writes, until its SYNC read is answered.
        takeOver("C2", "C2-8-");
        submit(read("early", KvOp.DB, null));
        step();
        for (String worker : List.of("W1", "W2")) {
            core.fromWorker(outbox.get(worker).remove(0));
        }
        assertThat(step().replies()).as("the SYNC read is answered (recent commits again), the db not yet")
            .extracting(KvReply::getRequestId).doesNotContain("early").contains("more");
        assertThat(core.nextDeadlineNs(Long.MAX_VALUE)).isEqualTo(nowNs + TimeUnit.MILLISECONDS.toNanos(3_150));
        assertThat(replyTo(settle(), "early").getSize()).isEqualTo(10_500);
    }

    @Test
    void shouldIgnoreAReadResultFromAWorkerThatWasNotAsked() {
        serve("W1", "W2");
        submit(read("get", KvOp.GET, "a"));
        String readId = step().entries(ReadRequest.class).get(0).getReadId();
        core.fromWorker(message("W9", ReadResult.newBuilder().setReadId(readId).setFound(true).setValue("forged")
            .setEntries(null).setSize(1).setHash("").build()));
        assertThat(step().replies()).isEmpty();
        deliver("W1");
        KvReply reply = replyTo(step().replies(), "get");
        assertThat(reply.getFound()).isFalse();
        assertThat(reply.getMessage()).isEqualTo("no such key");
    }

    // --- requests refused, the pool -----------------------------------------------------------------------------

    @Test
    void shouldRefuseRequestsItCannotServeAfterTheCycleCommits() {
        serve("W1");
        submit(set("empty"));
        submit(set("twice", "a", "1", "a", "2"));
        submit(read("no-key", KvOp.GET, ""));
        Step step = step();
        assertThat(step.log()).isEmpty();
        assertThat(step.beforeCommit()).isEmpty();
        assertThat(replyTo(step.afterCommit(), "empty").getMessage())
            .isEqualTo("rejected: a transaction needs at least one write");
        assertThat(replyTo(step.afterCommit(), "twice").getMessage())
            .isEqualTo("rejected: key 'a' appears twice in one transaction");
        assertThat(replyTo(step.afterCommit(), "no-key").getMessage()).isEqualTo("get needs a key");

        core.deactivate();
        core.activate("C1-8-", new KvCoordinatorCore.Replay(0), nowNs);
        submit(set("r1", "a", "1"));
        Step empty = step();
        assertThat(empty.log()).as("no pool, so no SYNC read either").isEmpty();
        assertThat(replyTo(empty.afterCommit(), "r1").getMessage()).isEqualTo("no worker is in the pool");
    }

    @Test
    void shouldAddAJoiningWorkerOnceAndAskItFromTheNextTransactionOn() {
        serve("W1");
        addWorkers("W2");
        core.fromWorker(message("W2", new JoinRequest(42L)));
        core.fromWorker(message("W2", new JoinRequest(43L)));
        Step join = step();
        assertThat(join.log()).singleElement().isInstanceOfSatisfying(PoolChange.class, p -> {
            assertThat(p.getChange()).isEqualTo(PoolChangeType.JOINED);
            assertThat(p.getMembers()).containsExactly("W1", "W2");
            assertThat(p.getReason()).isEqualTo("caught up to log offset 42");
        });

        submit(set("r1", "a", "1"));
        assertThat(step().entries(VoteRequest.class).get(0).getParticipants()).containsExactly("W1", "W2");
    }

    // --- standby, losing the partition --------------------------------------------------------------------------

    @Test
    void shouldIgnoreEverythingWhileStandby() {
        addWorkers("W1");
        submit(set("r1", "a", "1"));
        core.fromWorker(message("W1", new JoinRequest(0L)));
        KvCoordinatorCore.Cycle cycle = core.endCycle(nowNs);
        assertThat(core.active()).isFalse();
        assertThat(cycle.log()).isEmpty();
        assertThat(cycle.replies()).isEmpty();
        assertThat(core.committed(nowNs)).isEmpty();
        assertThat(core.members()).isEmpty();
    }

    @Test
    void shouldForgetTheStateAndTheCycleInProgressWhenDeactivated() {
        serve("W1", "W2");
        submit(set("r1", "a", "1"));
        step();
        submit(set("r2", "b", "2"));
        submit(read("get", KvOp.GET, "a"));

        core.deactivate();

        assertThat(core.active()).isFalse();
        assertThat(core.transactionsInFlight()).isZero();
        assertThat(core.readsInFlight()).isZero();
        assertThat(core.members()).isEmpty();
        assertThat(core.nextDeadlineNs(7L)).isEqualTo(7L);
        core.activate("C1-8-", new KvCoordinatorCore.Replay(0), nowNs);
        Step next = step();
        assertThat(next.log()).as("nothing of the cycle in progress survives").isEmpty();
        assertThat(next.replies()).isEmpty();
        assertThatThrownBy(() -> core.activate("C1-9-", new KvCoordinatorCore.Replay(0), nowNs))
            .isInstanceOf(IllegalStateException.class);
    }

    // --- recovery from the log ----------------------------------------------------------------------------------

    @Test
    void shouldAbortTransactionsInDoubtAndAnswerRecentCommitsOnlyAfterTheSyncRead() {
        serve("W1", "W2", "W3");
        submit(set("committed", "a", "1"));
        settle();
        submit(set("aborted", "b", "1"));
        step();
        core.fromWorker(message("W1", new Vote(PREFIX + "3", false, "no")));
        step();
        submit(set("in-doubt", "c", "1"));
        String inDoubt = step().entries(VoteRequest.class).get(0).getTxId();
        outbox.values().forEach(List::clear);

        // The coordinator dies with one transaction voted on but not decided; another one replays the log.
        KvCoordinatorCore.Recovery recovery = takeOver("C2", "C2-9-");

        assertThat(recovery).isEqualTo(new KvCoordinatorCore.Recovery(log.size(), 1, 2, 0));
        assertThat(core.members()).containsExactly("W1", "W2", "W3");
        assertThat(core.aborts()).isEqualTo(1);
        Step first = step();
        assertThat(first.log()).hasSize(2);
        assertThat(first.log().get(0)).isInstanceOfSatisfying(Decision.class, d -> {
            assertThat(d.getTxId()).isEqualTo(inDoubt);
            assertThat(d.getOutcome()).isEqualTo(Outcome.ABORT);
            assertThat(d.getReason()).isEqualTo("in doubt when coordinator C2 took over (presumed abort)");
            assertThat(d.getCoordinator()).isEqualTo("C2");
        });
        assertThat(first.log().get(1)).isInstanceOfSatisfying(ReadRequest.class, r -> {
            assertThat(r.getKind()).isEqualTo(ReadKind.SYNC);
            assertThat(r.getReadId()).isEqualTo("C2-9-r1");
            assertThat(r.getTargets()).containsExactly("W1", "W2", "W3");
            assertThat(r.getClientId()).isEmpty();
        });
        assertThat(first.beforeCommit()).isEmpty();
        assertThat(first.afterCommit()).extracting(KvReply::getRequestId).containsExactly("in-doubt", "aborted");
        assertThat(replyTo(first.afterCommit(), "in-doubt").getMessage())
            .isEqualTo("aborted: in doubt when coordinator C2 took over (presumed abort)");
        assertThat(replyTo(first.afterCommit(), "aborted").getMessage()).isEqualTo("aborted: W1 voted no: no");

        // The commit is answered again only once every worker has read past the decision.
        deliver("W1", "W2");
        assertThat(step().replies()).isEmpty();
        deliver("W3");
        KvReply committed = replyTo(step().beforeCommit(), "committed");
        assertThat(committed.getOk()).isTrue();
        assertThat(committed.getMessage()).isEqualTo("committed");
        assertThat(core.commits()).isEqualTo(1);
        assertThat(workers.get("W1").preparedCount()).isZero();
        workers.values().forEach(w -> assertThat(w.db()).containsExactlyEntriesOf(Map.of("a", "1")));
    }

    @Test
    void shouldReanswerOnlyWhatTheReplyWindowHoldsAndPlaceRecentReadsAgain() {
        long old = wallMs - REPLY_WINDOW_MS - 1;
        List<KvLogEntry> entries = List.of(
            entryAt(new PoolChange("W1", PoolChangeType.JOINED, List.of("W1"), "joined", "C0"), old),
            entryAt(new PoolChange("W2", PoolChangeType.JOINED, List.of("W1", "W2"), "joined", "C0"), old),
            entryAt(new VoteRequest("t1", "old-commit", "c", List.of(new KvWrite("a", "1")), List.of("W1", "W2"),
                "C0", 0, 1), old),
            entryAt(new Decision("t1", "old-commit", "c", Outcome.COMMIT, null, "C0"), old),
            entryAt(new ReadRequest("r1", "old-get", "c", ReadKind.GET, "a", List.of("W1", "W2")), old),
            entryAt(new VoteRequest("t2", "new-commit", "c", List.of(new KvWrite("b", "1")), List.of("W1", "W2"),
                "C0", 0, 1), wallMs),
            entryAt(new Decision("t2", "new-commit", "c", Outcome.COMMIT, null, "C0"), wallMs),
            entryAt(new ReadRequest("r2", "new-get", "c", ReadKind.GET, "b", List.of("W1", "W2")), wallMs),
            entryAt(new ReadRequest("r3", "", "", ReadKind.SYNC, null, List.of("W1", "W2")), wallMs),
            entryAt(new PoolChange("W2", PoolChangeType.REMOVED, List.of("W1"), "silent", "C0"), wallMs));
        addWorkers("W1");
        entries.forEach(e -> workers.get("W1").apply(e, "W1"));

        KvCoordinatorCore.Recovery recovery = core.activate(PREFIX, replayOf(entries), nowNs);

        assertThat(recovery).isEqualTo(new KvCoordinatorCore.Recovery(10, 0, 1, 1));
        assertThat(core.members()).as("the pool is the log's last").containsExactly("W1");
        Step first = step();
        assertThat(first.entries(ReadRequest.class)).extracting(ReadRequest::getKind, ReadRequest::getRequestId,
                ReadRequest::getKey)
            .containsExactly(tuple(ReadKind.SYNC, "", null),
                tuple(ReadKind.GET, "new-get", "b"));
        assertThat(first.replies()).isEmpty();
        List<KvReply> replies = settle();
        assertThat(replies).extracting(KvReply::getRequestId).containsExactlyInAnyOrder("new-commit", "new-get");
        assertThat(replyTo(replies, "new-get").getValue()).isEqualTo("1");
        assertThat(core.commits()).isEqualTo(1);
    }

    @Test
    void shouldAbortInDoubtTransactionsButReanswerNothingWithoutAPool() {
        List<KvLogEntry> entries = List.of(
            entryAt(new VoteRequest("t1", "in-doubt", "c", List.of(new KvWrite("a", "1")), List.of("W1"), "C0", 0, 1),
                wallMs),
            entryAt(new VoteRequest("t2", "decided", "c", List.of(new KvWrite("b", "1")), List.of("W1"), "C0", 0, 1),
                wallMs),
            entryAt(new Decision("t2", "decided", "c", Outcome.COMMIT, null, "C0"), wallMs),
            entryAt(new ReadRequest("r1", "get", "c", ReadKind.GET, "b", List.of("W1")), wallMs));

        core.activate(PREFIX, replayOf(entries), nowNs);

        Step first = step();
        assertThat(first.log()).singleElement().isInstanceOfSatisfying(Decision.class,
            d -> assertThat(d.getTxId()).isEqualTo("t1"));
        assertThat(first.replies()).extracting(KvReply::getRequestId).containsExactly("in-doubt");
        assertThat(core.aborts()).isEqualTo(1);
        assertThat(core.readsInFlight()).isZero();
    }

    @Test
    void shouldNeitherAbortNorReanswerATransactionDecidedBeforeTheWindowWhenTheLogIsReplayedTwice() {
        serve("W1", "W2");
        submit(set("r1", "a", "1"));
        settle();
        wallMs += REPLY_WINDOW_MS + 1;

        takeOver("C2", "C2-1-");
        List<KvReply> replies = settle();
        assertThat(replies).isEmpty();
        assertThat(core.aborts()).isZero();
        assertThat(core.commits()).isZero();

        takeOver("C3", "C3-1-");
        assertThat(settle()).isEmpty();
        assertThat(log.stream().map(KvLogEntry::getPayload).filter(Decision.class::isInstance)).hasSize(1);
    }
}
