package io.distpipe.kv.store;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's side of the key-value store's two-phase commit as a pure state machine: client requests, worker
 * messages and the monotonic time go in; log entries for kv.decisions and replies for kv.replies come out. It has no
 * Kafka client, thread or clock of its own; {@link KvCoordinator} is the shell that feeds it and performs its outputs.
 *
 * <p>The log is the coordinator's checkpoint: every vote request, decision, read and pool change is an entry of it,
 * and a new coordinator rebuilds from it ({@link Replay}, {@link #activate}) by aborting what is still in doubt
 * (presumed abort) and answering again what was decided recently.
 *
 * <p>The shell works in cycles. It feeds what arrived ({@link #request}, {@link #fromWorker}), calls
 * {@link #endCycle}, writes the returned log entries (with the request offsets) in one Kafka transaction, and after
 * its commit calls {@link #committed}: nobody hears of a decision or takes part in a read before its entry is
 * durable. Losing kv.requests or being fenced is {@link #deactivate}: the state is forgotten, since the next
 * coordinator recovers it from the log.
 *
 * <p>Not thread-safe: one thread drives it; only {@link #active()}, {@link #commits()} and {@link #aborts()} may be
 * read from others.
 */
public final class KvCoordinatorCore {

    /** An entry for the log: a {@link VoteRequest}, {@link Decision}, {@link ReadRequest} or {@link PoolChange}. */
    public record Append(String key, Object payload) {
    }

    /**
     * What a cycle decided: the entries its Kafka transaction writes, and the replies to send at once (they answer
     * what earlier transactions made durable).
     */
    public record Cycle(List<Append> log, List<KvReply> replies) {
    }

    /** What {@link #activate} found in the log, for the log line. */
    public record Recovery(long entries, int inDoubt, int recentDecisions, int recentReads) {
    }

    /**
     * The log read from its start by a coordinator about to serve: the last pool, the transactions without a
     * decision, and the decisions and reads written since {@code recentSinceMs} (wall-clock, the log entries' own
     * time), whose answers the previous coordinator may not have sent.
     */
    public static final class Replay {
        private final long recentSinceMs;
        private final Map<String, VoteRequest> inDoubt = new LinkedHashMap<>();
        private final Map<String, Decision> recentDecisions = new LinkedHashMap<>();
        private final Map<String, ReadRequest> recentReads = new LinkedHashMap<>();
        /** The writes of each transaction without a decision yet, over all its parts. */
        private final Map<String, Long> undecidedWrites = new HashMap<>();
        private List<String> members = List.of();
        private long entries;
        private long committedWrites;

        public Replay(long recentSinceMs) {
            this.recentSinceMs = recentSinceMs;
        }

        /** Takes the next entry of the log, in log order. */
        public void apply(KvLogEntry entry) {
            entries++;
            boolean recent = entry.getWrittenAt().toEpochMilli() >= recentSinceMs;
            Object payload = entry.getPayload();
            if (payload instanceof VoteRequest vr) {
                inDoubt.put(vr.getTxId(), vr);
                undecidedWrites.merge(vr.getTxId(), (long) vr.getWrites().size(), Long::sum);
            } else if (payload instanceof Decision d) {
                inDoubt.remove(d.getTxId());
                Long writes = undecidedWrites.remove(d.getTxId());
                if (writes != null && d.getOutcome() == Outcome.COMMIT) {
                    committedWrites += writes;
                }
                if (recent) {
                    recentDecisions.put(d.getTxId(), d);
                }
            } else if (payload instanceof ReadRequest r) {
                if (recent && r.getKind() != ReadKind.SYNC) {
                    recentReads.put(r.getReadId(), r);
                }
            } else if (payload instanceof PoolChange p) {
                members = List.copyOf(p.getMembers());
            }
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(KvCoordinatorCore.class);

    private enum Phase { VOTING, DECIDED_COMMIT, DECIDED_ABORT, AWAITING_ACKS }

    /** A client transaction in flight. */
    private static final class Tx {
        final String txId;
        final String requestId;
        final String clientId;
        final Set<String> participants;
        final Set<String> yes = new HashSet<>();
        final Set<String> acked = new HashSet<>();
        final int writes;
        Phase phase = Phase.VOTING;
        long deadlineNs;
        String reason;

        Tx(String txId, String requestId, String clientId, Collection<String> participants, int writes,
            long deadlineNs) {
            this.txId = txId;
            this.requestId = requestId;
            this.clientId = clientId;
            this.participants = new TreeSet<>(participants);
            this.writes = writes;
            this.deadlineNs = deadlineNs;
        }
    }

    /** A read in flight. */
    private static final class Read {
        final ReadRequest request;
        final Map<String, ReadResult> results = new LinkedHashMap<>();
        /** How long the targets have to answer, and until when. */
        final long timeoutMs;
        final long deadlineNs;
        /** The writes committed before this read was placed (its answers' sizes count none after it). */
        final long committedWritesBefore;
        boolean written;
        /** Replies to send once this read (a SYNC) is answered: recovered commits. */
        final List<KvReply> gated = new ArrayList<>();

        Read(ReadRequest request, long timeoutMs, long deadlineNs, long committedWritesBefore) {
            this.request = request;
            this.timeoutMs = timeoutMs;
            this.deadlineNs = deadlineNs;
            this.committedWritesBefore = committedWritesBefore;
        }
    }

    /** A request that arrives in parts: the writes so far, until its last part or its deadline. */
    private static final class Incoming {
        final KvRequest first;
        final List<KvWrite> writes = new ArrayList<>();
        final long deadlineNs;
        long bytes;
        int next;

        Incoming(KvRequest first, long deadlineNs) {
            this.first = first;
            this.deadlineNs = deadlineNs;
        }
    }

    /** What the cycle in progress wrote, and what waits for its commit. */
    private static final class Pending {
        final List<Append> log = new ArrayList<>();
        final List<KvReply> replies = new ArrayList<>();
        final List<Tx> decided = new ArrayList<>();
        final List<Read> reads = new ArrayList<>();

        void append(String key, Object payload) {
            log.add(new Append(key, payload));
        }
    }

    private final String id;
    private final int voteTimeoutMs;
    private final int ackTimeoutMs;
    private final Set<String> members = new TreeSet<>();
    private final Map<String, Tx> txs = new HashMap<>();
    private final Map<String, Read> reads = new HashMap<>();
    private final Map<String, Incoming> incoming = new LinkedHashMap<>();
    /** Read results that arrive in parts, by read id and worker. */
    private final Chunks.Assembler<ReadResult> resultParts = new Chunks.Assembler<>();
    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong aborts = new AtomicLong();
    /** Writes committed since this core was created (the replayed log's included). */
    private long committedWrites;
    /**
     * An upper bound of the keys a worker holds: the size the latest answer reported, plus every write committed
     * after its read (the store only grows). A read over the whole database gets time in proportion.
     */
    private long keysBound;
    private Pending pending = new Pending();
    private volatile boolean active;
    private String txPrefix;
    private long sequence;

    /**
     * The time a read over the whole database (DB, VERIFY) gets per key, on top of the vote timeout: its answer is
     * as large as the store, so a fixed deadline that fits small stores removes every worker of a large one that is
     * only slow, and empties the pool. About 7 times what a DB of 60 000 keys took per key (15 us: 0.7 to 1.0 s end
     * to end) in one test JVM holding the broker, the coordinator and three workers; 60 000 keys get 6 s more.
     */
    static final long WHOLE_READ_NS_PER_KEY = 100_000;

    /**
     * A core for coordinator {@code id}: a worker that has not voted (or answered a read) within
     * {@code voteTimeoutMs} (a read over the whole database: that and {@link #WHOLE_READ_NS_PER_KEY} per key), or
     * acknowledged a commit within {@code ackTimeoutMs}, leaves the pool.
     */
    public KvCoordinatorCore(String id, int voteTimeoutMs, int ackTimeoutMs) {
        this.id = id;
        this.voteTimeoutMs = voteTimeoutMs;
        this.ackTimeoutMs = ackTimeoutMs;
    }

    /** Whether this core serves: between {@link #activate} and {@link #deactivate}. */
    public boolean active() {
        return active;
    }

    /** Transactions committed (answered at their durable decision, or re-answered after a recovery). */
    public long commits() {
        return commits.get();
    }

    /** Transactions aborted, in-doubt ones included. */
    public long aborts() {
        return aborts.get();
    }

    /** The pool of voters, sorted. */
    public List<String> members() {
        return List.copyOf(members);
    }

    /** Client transactions not finished yet. */
    public int transactionsInFlight() {
        return txs.size();
    }

    /** Reads not answered yet. */
    public int readsInFlight() {
        return reads.size();
    }

    /**
     * Starts serving after the log was replayed: the pool is the log's last, every transaction in doubt aborts, the
     * recent commits are answered once a SYNC read shows the pool has applied the log (a worker may not have), the
     * recent aborts at once, and the recent reads are placed again. New transaction and read ids start with
     * {@code txPrefix}, which must be unique per activation.
     */
    public Recovery activate(String txPrefix, Replay replay, long nowNs) {
        if (active) {
            throw new IllegalStateException(id + ": already active");
        }
        this.txPrefix = txPrefix;
        sequence = 0;
        active = true;
        members.clear();
        members.addAll(replay.members);
        committedWrites = replay.committedWrites;
        keysBound = replay.committedWrites;
        for (VoteRequest vr : replay.inDoubt.values()) {
            Decision abort = new Decision(vr.getTxId(), vr.getRequestId(), vr.getClientId(), Outcome.ABORT,
                "in doubt when coordinator " + id + " took over (presumed abort)", id);
            pending.append(vr.getTxId(), abort);
            pending.replies.add(reply(vr.getRequestId(), vr.getClientId(), false, "aborted: " + abort.getReason())
                .setTxId(vr.getTxId()).build());
            aborts.incrementAndGet();
        }
        Read sync = newRead("", "", ReadKind.SYNC, null, nowNs);
        if (sync != null) {
            for (Decision d : replay.recentDecisions.values()) {
                if (d.getOutcome() == Outcome.COMMIT) {
                    sync.gated.add(reply(d.getRequestId(), d.getClientId(), true, "committed")
                        .setTxId(d.getTxId()).build());
                } else {
                    pending.replies.add(reply(d.getRequestId(), d.getClientId(), false, "aborted: " + d.getReason())
                        .setTxId(d.getTxId()).build());
                }
            }
        }
        for (ReadRequest r : replay.recentReads.values()) {
            read(r.getRequestId(), r.getClientId(), r.getKind(), r.getKey(), nowNs);
        }
        return new Recovery(replay.entries, replay.inDoubt.size(), replay.recentDecisions.size(),
            replay.recentReads.size());
    }

    /** Stops serving and forgets everything, the cycle in progress included: the log keeps what matters. */
    public void deactivate() {
        active = false;
        txs.clear();
        reads.clear();
        incoming.clear();
        resultParts.clear();
        members.clear();
        pending = new Pending();
    }

    /** A client request arrived (at {@code nowNs}); a standby ignores it. */
    public void request(KvRequest part, long nowNs) {
        if (!active) {
            return;
        }
        KvRequest request = assemble(part, nowNs);
        if (request == null) {
            return;
        }
        if (members.isEmpty()) {
            pending.replies.add(reply(request.getRequestId(), request.getClientId(), false,
                "no worker is in the pool").build());
            return;
        }
        if (request.getOp() != KvOp.WRITE) {
            read(request.getRequestId(), request.getClientId(), ReadKind.valueOf(request.getOp().name()),
                request.getKey(), nowNs);
            return;
        }
        String refused = Chunks.refusal(Chunks.requestBytes(request.getWrites()));
        if (refused != null) {
            pending.replies.add(reply(request.getRequestId(), request.getClientId(), false, refused).build());
            return;
        }
        String invalid = KvState.invalid(request.getWrites());
        if (invalid != null) {
            pending.replies.add(reply(request.getRequestId(), request.getClientId(), false, "rejected: " + invalid)
                .build());
            return;
        }
        String txId = txPrefix + (++sequence);
        Tx tx = new Tx(txId, request.getRequestId(), request.getClientId(), members, request.getWrites().size(),
            nowNs + ms(voteTimeoutMs));
        txs.put(txId, tx);
        // All parts go into this cycle's one Kafka transaction: workers see all of them or none.
        List<List<KvWrite>> parts = Chunks.splitWrites(request.getWrites(), Chunks.PART_BYTES);
        for (int i = 0; i < parts.size(); i++) {
            pending.append(txId, new VoteRequest(txId, request.getRequestId(), request.getClientId(), parts.get(i),
                List.copyOf(tx.participants), id, i, parts.size()));
        }
    }

    /**
     * The whole request once its last part is here, or null. Parts come in order (one client's producer, one
     * partition); a part without the ones before it (a coordinator took over while they arrived), or a request over
     * the limit, is refused at its last part, before anything of it enters the log.
     */
    private KvRequest assemble(KvRequest part, long nowNs) {
        if (part.getParts() <= 1 && part.getPart() == 0) {
            return part;
        }
        String requestId = part.getRequestId();
        Incoming in = incoming.get(requestId);
        if (part.getPart() == 0) {
            in = new Incoming(part, nowNs + ms(voteTimeoutMs));
            incoming.put(requestId, in);
        } else if (in == null || in.first.getParts() != part.getParts() || in.next != part.getPart()) {
            incoming.remove(requestId);
            if (part.getPart() == part.getParts() - 1) {
                pending.replies.add(reply(requestId, part.getClientId(), false, "refused: only part of the request "
                    + "arrived (the coordinator changed while it came in); nothing was written, send it again")
                    .build());
            }
            return null;
        }
        in.next++;
        in.bytes += Chunks.requestBytes(part.getWrites());
        if (in.bytes <= Chunks.MAX_REQUEST_BYTES) {
            in.writes.addAll(part.getWrites());
        } else {
            // Over the limit: keep counting, but hold no more of it.
            in.writes.clear();
        }
        if (in.next < part.getParts()) {
            return null;
        }
        incoming.remove(requestId);
        String refused = Chunks.refusal(in.bytes);
        if (refused != null) {
            pending.replies.add(reply(requestId, part.getClientId(), false, refused).build());
            return null;
        }
        return KvRequest.newBuilder(in.first).setWrites(in.writes).setPart(0).setParts(1).build();
    }

    private void read(String requestId, String clientId, ReadKind kind, String key, long nowNs) {
        if (kind == ReadKind.GET && (key == null || key.isEmpty())) {
            pending.replies.add(reply(requestId, clientId, false, "get needs a key").build());
            return;
        }
        newRead(requestId, clientId, kind, key, nowNs);
    }

    private Read newRead(String requestId, String clientId, ReadKind kind, String key, long nowNs) {
        if (members.isEmpty()) {
            return null;
        }
        String readId = txPrefix + "r" + (++sequence);
        ReadRequest rr = new ReadRequest(readId, requestId, clientId, kind, key, List.copyOf(members));
        long timeoutMs = voteTimeoutMs;
        if (kind == ReadKind.DB || kind == ReadKind.VERIFY) {
            timeoutMs += TimeUnit.NANOSECONDS.toMillis(keysBound * WHOLE_READ_NS_PER_KEY);
        }
        Read read = new Read(rr, timeoutMs, nowNs + ms(timeoutMs), committedWrites);
        reads.put(readId, read);
        pending.append(readId, rr);
        pending.reads.add(read);
        return read;
    }

    /**
     * A worker's vote, acknowledgement, read result or join request arrived; a standby ignores it, and so is
     * anything that no longer matters (a late or repeated vote, an answer from a worker that was not asked).
     */
    public void fromWorker(WorkerMessage message) {
        if (!active) {
            return;
        }
        String worker = message.getWorker();
        Object payload = message.getPayload();
        if (payload instanceof Vote vote) {
            Tx tx = txs.get(vote.getTxId());
            if (tx == null || tx.phase != Phase.VOTING || !tx.participants.contains(worker)) {
                return;
            }
            if (vote.getYes()) {
                tx.yes.add(worker);
            } else {
                decide(tx, Outcome.ABORT, worker + " voted no: " + vote.getReason());
            }
        } else if (payload instanceof Ack ack) {
            Tx tx = txs.get(ack.getTxId());
            if (tx != null && tx.phase == Phase.AWAITING_ACKS) {
                tx.acked.add(worker);
            }
        } else if (payload instanceof ReadResult part) {
            Read read = reads.get(part.getReadId());
            if (read != null && read.request.getTargets().contains(worker)) {
                List<ReadResult> parts = resultParts.add(part.getReadId() + "/" + worker, part.getPart(),
                    part.getParts(), part).complete();
                if (parts != null) {
                    ReadResult result = Chunks.joinResults(parts);
                    read.results.put(worker, result);
                    if (result.getError() == null) {
                        keysBound = result.getSize() + (committedWrites - read.committedWritesBefore);
                    }
                }
            }
        } else if (payload instanceof JoinRequest join) {
            if (!members.contains(worker)) {
                members.add(worker);
                pending.append(worker, new PoolChange(worker, PoolChangeType.JOINED, List.copyOf(members),
                    "caught up to log offset " + join.getCaughtUpTo(), id));
                LOG.info("{}: {} joined the pool (caught up to log offset {}); pool {}.", id, worker,
                    join.getCaughtUpTo(), members);
            }
        }
    }

    /**
     * Ends the cycle at {@code nowNs}: workers that missed a deadline leave the pool (their transactions abort,
     * their reads answer without them), and what every live participant has answered completes. Returns the log
     * entries of the whole cycle, for one Kafka transaction, and the replies to send now; {@link #committed} must
     * follow once that transaction committed.
     */
    public Cycle endCycle(long nowNs) {
        if (!active) {
            return new Cycle(List.of(), List.of());
        }
        expire(nowNs);
        List<KvReply> replies = new ArrayList<>();
        sweep(nowNs, replies);
        return new Cycle(List.copyOf(pending.log), replies);
    }

    /**
     * The cycle's log entries are durable (at {@code nowNs}): commits and aborts decided in it are answered, the other
     * waiting replies go out, and reads may be answered. Returns the replies to send.
     */
    public List<KvReply> committed(long nowNs) {
        List<KvReply> replies = new ArrayList<>();
        long ackDeadline = nowNs + ms(ackTimeoutMs);
        for (Tx tx : pending.decided) {
            if (tx.phase == Phase.DECIDED_COMMIT) {
                // The decision is durable: the client hears now. The acknowledgements only keep the pool honest
                // (a worker that does not apply a commit in time leaves it); a later read or write of the same
                // keys is after this decision in the log, so every worker applies it first.
                tx.phase = Phase.AWAITING_ACKS;
                tx.deadlineNs = ackDeadline;
                commits.incrementAndGet();
                committedWrites += tx.writes;
                keysBound += tx.writes;
                replies.add(reply(tx.requestId, tx.clientId, true, "committed").setTxId(tx.txId)
                    .setMembers(List.copyOf(members)).build());
            } else {
                txs.remove(tx.txId);
                aborts.incrementAndGet();
                replies.add(reply(tx.requestId, tx.clientId, false, "aborted: " + tx.reason).setTxId(tx.txId)
                    .setMembers(List.copyOf(members)).build());
            }
        }
        for (Read read : pending.reads) {
            read.written = true;
        }
        replies.addAll(pending.replies);
        pending = new Pending();
        return replies;
    }

    /** The earliest deadline of a transaction or read in flight, or {@code latestNs} if none is earlier. */
    public long nextDeadlineNs(long latestNs) {
        long next = latestNs;
        for (Tx tx : txs.values()) {
            next = Math.min(next, tx.deadlineNs);
        }
        for (Read read : reads.values()) {
            next = Math.min(next, read.deadlineNs);
        }
        for (Incoming in : incoming.values()) {
            next = Math.min(next, in.deadlineNs);
        }
        return next;
    }

    private void decide(Tx tx, Outcome outcome, String reason) {
        tx.phase = outcome == Outcome.COMMIT ? Phase.DECIDED_COMMIT : Phase.DECIDED_ABORT;
        tx.reason = reason;
        pending.append(tx.txId, new Decision(tx.txId, tx.requestId, tx.clientId, outcome, reason, id));
        pending.decided.add(tx);
    }

    /** Workers that did not answer in time leave the pool; their transactions abort, their reads answer without. */
    private void expire(long nowNs) {
        for (Iterator<Incoming> it = incoming.values().iterator(); it.hasNext(); ) {
            Incoming in = it.next();
            if (in.deadlineNs <= nowNs) {
                it.remove();
                pending.replies.add(reply(in.first.getRequestId(), in.first.getClientId(), false, "refused: only "
                    + in.next + " of the request's " + in.first.getParts() + " parts arrived within " + voteTimeoutMs
                    + " ms; nothing was written").build());
            }
        }
        for (Tx tx : txs.values()) {
            if (tx.deadlineNs > nowNs) {
                continue;
            }
            if (tx.phase == Phase.VOTING) {
                Set<String> silent = new TreeSet<>(tx.participants);
                silent.removeAll(tx.yes);
                silent.retainAll(members);
                remove(silent, "did not vote on " + tx.txId + " within " + voteTimeoutMs + " ms");
                decide(tx, Outcome.ABORT, silent + " did not vote within " + voteTimeoutMs + " ms");
            } else if (tx.phase == Phase.AWAITING_ACKS) {
                Set<String> silent = new TreeSet<>(tx.participants);
                silent.removeAll(tx.acked);
                silent.retainAll(members);
                remove(silent, "did not acknowledge " + tx.txId + " within " + ackTimeoutMs + " ms");
            }
        }
        for (Read read : reads.values()) {
            if (read.deadlineNs <= nowNs && read.written) {
                Set<String> silent = new TreeSet<>(read.request.getTargets());
                silent.removeAll(read.results.keySet());
                silent.retainAll(members);
                remove(silent, "did not answer read " + read.request.getReadId() + " within " + read.timeoutMs
                    + " ms");
            }
        }
    }

    private void remove(Set<String> workers, String reason) {
        for (String worker : workers) {
            if (members.remove(worker)) {
                pending.append(worker, new PoolChange(worker, PoolChangeType.REMOVED, List.copyOf(members), reason,
                    id));
                LOG.warn("{}: removed {} from the pool: {}; pool {}.", id, worker, reason, members);
            }
        }
    }

    /** Completes what every live participant has answered. */
    private void sweep(long nowNs, List<KvReply> replies) {
        for (Iterator<Tx> it = txs.values().iterator(); it.hasNext(); ) {
            Tx tx = it.next();
            if (tx.phase == Phase.VOTING && answeredByAllLive(tx.participants, tx.yes)) {
                decide(tx, Outcome.COMMIT, null);
            } else if (tx.phase == Phase.AWAITING_ACKS && answeredByAllLive(tx.participants, tx.acked)) {
                it.remove();
            }
        }
        for (Iterator<Read> it = reads.values().iterator(); it.hasNext(); ) {
            Read read = it.next();
            if (!read.written) {
                continue;
            }
            ReadKind kind = read.request.getKind();
            // An error answer (the worker could not send its result) does not end a GET or DB: another may answer.
            boolean any = read.results.values().stream().anyMatch(r -> r.getError() == null);
            boolean all = answeredByAllLive(new TreeSet<>(read.request.getTargets()), read.results.keySet());
            boolean expired = read.deadlineNs <= nowNs;
            if ((kind == ReadKind.GET || kind == ReadKind.DB) ? (any || all || expired) : (all || expired)) {
                it.remove();
                read.request.getTargets().forEach(w -> resultParts.remove(read.request.getReadId() + "/" + w));
                answer(read, replies);
            }
        }
    }

    private boolean answeredByAllLive(Set<String> participants, Set<String> answered) {
        for (String p : participants) {
            if (members.contains(p) && !answered.contains(p)) {
                return false;
            }
        }
        return true;
    }

    private void answer(Read read, List<KvReply> replies) {
        replies.addAll(read.gated);
        commits.addAndGet(read.gated.size());
        ReadRequest rr = read.request;
        if (rr.getKind() == ReadKind.SYNC) {
            return;
        }
        KvReply.Builder reply = reply(rr.getRequestId(), rr.getClientId(), false, "").setMembers(
            List.copyOf(members));
        if (read.results.isEmpty()) {
            replies.add(reply.setMessage("no worker answered within " + read.timeoutMs + " ms").build());
            return;
        }
        Map<String, ReadResult> results = new LinkedHashMap<>(read.results);
        results.values().removeIf(r -> r.getError() != null);
        if (results.isEmpty()) {
            replies.add(reply.setMessage("the workers could not answer: "
                + read.results.values().iterator().next().getError()).build());
            return;
        }
        ReadResult first = results.values().iterator().next();
        switch (rr.getKind()) {
            case GET -> reply.setOk(true).setFound(first.getFound()).setValue(first.getValue())
                .setMessage(first.getFound() ? "found" : "no such key");
            case DB -> reply.setOk(true).setFound(true).setEntries(first.getEntries()).setSize(first.getSize())
                .setTxId(rr.getReadId()).setMessage(first.getSize() + " keys");
            case VERIFY -> {
                Map<String, String> hashes = new TreeMap<>();
                results.forEach((w, r) -> hashes.put(w, r.getHash() + "/" + r.getSize()));
                boolean same = new HashSet<>(hashes.values()).size() == 1;
                Set<String> missing = new TreeSet<>(rr.getTargets());
                missing.removeAll(results.keySet());
                reply.setOk(same).setHashes(hashes).setSize(first.getSize()).setMessage(same
                    ? hashes.size() + " workers hold identical databases" + (missing.isEmpty() ? ""
                        : " (" + missing + " did not answer and left the pool)")
                    : "the workers' databases differ: " + hashes);
            }
            default -> throw new IllegalStateException("unexpected read kind " + rr.getKind());
        }
        // A database travels in parts (the reply's txId is the read's id, so a client never mixes two answers).
        replies.addAll(Chunks.replyParts(reply.build(), Chunks.PART_BYTES));
    }

    private static KvReply.Builder reply(String requestId, String clientId, boolean ok, String message) {
        return KvReply.newBuilder().setRequestId(requestId).setClientId(clientId).setOk(ok).setTxId(null)
            .setFound(false).setValue(null).setEntries(null).setHashes(Map.of()).setSize(0).setMembers(List.of())
            .setMessage(message);
    }

    private static long ms(long millis) {
        return TimeUnit.MILLISECONDS.toNanos(millis);
    }
}
