package io.distpipe.replicas.server;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import io.distpipe.replicas.Checkpoint;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRequest;
import io.distpipe.replicas.ReplicaRole;
import io.distpipe.replicas.RoleAssignment;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;

/**
 * The replication protocol of one replica, with no Kafka, no threads and no clock of its own: {@link Replica} feeds it
 * what it reads (role assignments, checkpoints, requests), what became of its writes (fenced, a transaction lost) and
 * the time after each poll, and performs the {@link Decision}s returned, in order. A few decisions need a fact only
 * I/O can give (the latest checkpoint once the old primary is fenced, the request log's end, the read position, the
 * time a commit ended); the shell answers each at once with the matching {@code on...} call, before anything else.
 *
 * <p>The replica holds one {@link Role} at a time. Passive mode: {@link Waiting}, then {@link Primary} or
 * {@link Backup} as the RM says; a fenced primary becomes a backup. Active mode: {@link Waiting}, then {@link Ready}
 * or {@link Recovering}; a recovering replica that caught up confirms READY itself. The roles of the other mode, an
 * answer nobody asked for, and a stage a role does not pass through are refused with an {@link IllegalStateException}.
 */
public final class ReplicaCore {

    /** Checkpoint key of the passive primary. */
    public static final String PRIMARY_CHECKPOINT = "primary";

    private static final Map<Mode, Set<ReplicaRole>> ROLES = Map.of(
        Mode.PASSIVE, Set.of(ReplicaRole.PRIMARY, ReplicaRole.BACKUP),
        Mode.ACTIVE, Set.of(ReplicaRole.READY, ReplicaRole.RECOVERING));

    /** What the shell is to do. */
    public sealed interface Decision permits Say, Warn, Reply, WriteCheckpoint, WriteRole, Flush, TakeOver, Replay,
        FollowFromEnd, StopUnreadable, ReadPosition, StopWriting, Commit {
    }

    /** Print this line and log it. */
    public record Say(String line) implements Decision {
    }

    /** Log this line as a warning. */
    public record Warn(String line) implements Decision {
    }

    /** Send this reply, keyed by its client: in the primary's transaction, or on its own. */
    public record Reply(ReplicaReply reply, boolean transactional) implements Decision {
    }

    /** Write this checkpoint under {@code key}: the primary's in its transaction, a state transfer on its own. */
    public record WriteCheckpoint(String key, Checkpoint checkpoint, boolean transactional) implements Decision {
    }

    /** Write this replica's own assignment to the roles topic: its READY once recovered. */
    public record WriteRole(RoleAssignment assignment) implements Decision {
    }

    /** Wait until the writes made outside a transaction are acknowledged. */
    public record Flush() implements Decision {
    }

    /**
     * Fence any older primary (by the shared transactional id) and read the checkpoints to their end; answer with
     * {@link #onTakenOver}.
     */
    public record TakeOver() implements Decision {
    }

    /** Read the request log from offset {@code from}; answer with {@link #onLogEnd}. */
    public record Replay(long from) implements Decision {
    }

    /** Read the request log from its end: what is there already, the promised checkpoint holds. */
    public record FollowFromEnd() implements Decision {
    }

    /**
     * The request log holds a record no schema reads at {@code offset}: dead-letter it and stop this replica (FAILED)
     * with {@code line}. Skipping it would make this replica's state differ from a replica that could read it; the
     * core ignores every event after this one.
     */
    public record StopUnreadable(long offset, String line) implements Decision {
    }

    /** Answer with {@link #onPosition}: how far the request log has been fetched. */
    public record ReadPosition() implements Decision {
    }

    /** Stop writing as primary: drop the transactional producer and stop reading the request log. */
    public record StopWriting() implements Decision {
    }

    /** Commit the primary's transaction; answer with {@link #onCommitted}. */
    public record Commit() implements Decision {
    }

    /** How far a role that applies the request log has got; {@link #canMoveTo} lists each stage's successors. */
    public enum Stage {
        /** Primary: fencing the old primary and reading the latest checkpoint. */
        TAKING_OVER,
        /** Recovering: waiting for the promised checkpoint, keeping the requests read from the log's end. */
        BUFFERING,
        /** Recovering: the checkpoint joins the buffered requests; waiting for the position they reach. */
        LOCATING,
        /** Waiting for the end of the request log, which was just sought. */
        SEEKING,
        /** Applying the requests up to the end found; a primary replies to them, an active replica does not. */
        REPLAYING,
        /** Applying and replying to every request. */
        SERVING;

        public boolean canMoveTo(Stage next) {
            return switch (this) {
                case TAKING_OVER -> next == SEEKING;
                case BUFFERING -> next == LOCATING || next == SEEKING;
                case LOCATING -> next == REPLAYING;
                case SEEKING -> next == REPLAYING || next == SERVING;
                case REPLAYING -> next == SERVING;
                case SERVING -> false;
            };
        }
    }

    /** The role this replica plays, with what only that role needs. */
    public sealed interface Role permits Waiting, Backup, Following {

        /** The role as the RM names it; null before the first assignment. */
        ReplicaRole assigned();
    }

    /** No role yet; a passive replica keeps the latest primary checkpoint meanwhile. */
    public record Waiting() implements Role {
        @Override
        public ReplicaRole assigned() {
            return null;
        }
    }

    /** Passive backup: keeps the latest primary checkpoint, and never applies, replies or writes. */
    public record Backup() implements Role {
        @Override
        public ReplicaRole assigned() {
            return ReplicaRole.BACKUP;
        }
    }

    /** A role that applies the request log: it seeks, replays to the end it found there, then serves. */
    public abstract static sealed class Following implements Role permits Primary, Ready, Recovering {
        private final Set<Stage> stages;
        private Stage stage;
        private long replayFrom;
        private String replayReason;
        private long replayEnd = -1;

        Following(Set<Stage> stages, Stage first) {
            if (!stages.contains(first)) {
                throw new IllegalStateException(assigned() + " does not start " + first);
            }
            this.stages = stages;
            this.stage = first;
        }

        public Stage stage() {
            return stage;
        }

        /** The offset replaying ends at (serving starts); -1 until known. */
        public long replayEnd() {
            return replayEnd;
        }

        boolean applying() {
            return stage == Stage.REPLAYING || stage == Stage.SERVING;
        }

        void move(Stage next) {
            if (!stages.contains(next) || !stage.canMoveTo(next)) {
                throw new IllegalStateException(assigned() + " cannot move from " + stage + " to " + next);
            }
            stage = next;
        }

        void replayTo(long end) {
            move(Stage.REPLAYING);
            replayEnd = end;
        }

        void seek(long from, String why) {
            move(Stage.SEEKING);
            replayFrom = from;
            replayReason = why;
        }

        @Override
        public String toString() {
            return assigned() + " (" + stage + ")";
        }
    }

    /**
     * Passive primary: takes over from the latest checkpoint, replays the requests after it, then serves; its replies
     * and its periodic checkpoint go out in one transaction per poll.
     */
    public static final class Primary extends Following {
        private long checkpointPosition = -1;
        private long checkpointNanos;
        private boolean transactionOpen;
        private boolean checkpointInTransaction;

        Primary() {
            super(EnumSet.of(Stage.TAKING_OVER, Stage.SEEKING, Stage.REPLAYING, Stage.SERVING), Stage.TAKING_OVER);
        }

        @Override
        public ReplicaRole assigned() {
            return ReplicaRole.PRIMARY;
        }
    }

    /** Active and ready: applies every request and replies; sends its state to a recovering replica when told. */
    public static final class Ready extends Following {

        /** Ready with no replica to transfer from: replays the request log from its start. */
        Ready(String why) {
            super(EnumSet.of(Stage.SEEKING, Stage.REPLAYING, Stage.SERVING), Stage.SEEKING);
            super.replayFrom = 0;
            super.replayReason = why;
        }

        /** Ready from where the replica stood: replaying up to {@code replayEnd}, or serving. */
        Ready(Stage stage, long replayEnd) {
            super(EnumSet.of(Stage.REPLAYING, Stage.SERVING), stage);
            super.replayEnd = replayEnd;
        }

        @Override
        public ReplicaRole assigned() {
            return ReplicaRole.READY;
        }
    }

    /** Active and (re)joining: buffers requests until the checkpoint promised by a ready replica, then catches up. */
    public static final class Recovering extends Following {
        private final long awaitedEpoch;
        private final List<Buffered> buffer = new ArrayList<>();

        Recovering(long awaitedEpoch) {
            super(EnumSet.of(Stage.BUFFERING, Stage.LOCATING, Stage.SEEKING, Stage.REPLAYING), Stage.BUFFERING);
            this.awaitedEpoch = awaitedEpoch;
        }

        /** A transfer checkpoint older than this epoch was made for an earlier recovery and is not the one awaited. */
        public long awaitedEpoch() {
            return awaitedEpoch;
        }

        public int buffered() {
            return buffer.size();
        }

        @Override
        public ReplicaRole assigned() {
            return ReplicaRole.RECOVERING;
        }
    }

    /** A record of the request log: the request, or why it could not be read. */
    private record Buffered(long offset, ReplicaRequest request, String unreadable) {
    }

    private final String id;
    private final Mode mode;
    private final long checkpointIntervalNanos;
    private final long startEpoch;
    private final String requestsTopic;
    /** State transfers ordered from this replica (target to epoch), sent once it serves. */
    private final Map<String, Long> pendingTransfers = new LinkedHashMap<>();
    private final Map<String, Long> transfersSent = new HashMap<>();
    private Role role = new Waiting();
    private long roleEpoch = -1;
    private ReplicaState state;
    private long checkpointNum;
    /** Offset of the unreadable request this replica stopped at; -1 while it has not. */
    private long stoppedAt = -1;

    /**
     * @param startEpoch    the newest role epoch on the roles topic when this incarnation started: assignments up to it
     *                      were made for an earlier one
     * @param requestsTopic the request log, named in each checkpoint's position
     */
    public ReplicaCore(String id, Mode mode, Duration checkpointInterval, long startEpoch, String requestsTopic) {
        this.id = Objects.requireNonNull(id, "id");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.checkpointIntervalNanos = checkpointInterval.toNanos();
        this.startEpoch = startEpoch;
        this.requestsTopic = Objects.requireNonNull(requestsTopic, "requestsTopic");
    }

    /** The checkpoint key of a state transfer to {@code target}. */
    public static String transferKey(String target) {
        return "transfer-" + target;
    }

    public Role role() {
        return role;
    }

    public long roleEpoch() {
        return roleEpoch;
    }

    /** The state this replica holds now; null before it has one. */
    public ReplicaState state() {
        return state;
    }

    // ---- events

    /**
     * A record of the roles topic (null: a tombstone, which changes nothing). Only the RM's assignments made after
     * this incarnation started count: this replica's new role, or a state transfer it is to send.
     */
    public List<Decision> onAssignment(RoleAssignment a, Instant now) {
        List<Decision> out = new ArrayList<>();
        if (a == null || a.getEpoch() <= startEpoch || !ReplicaManagerTopology.RM.equals(a.getAssignedBy())) {
            return out;
        }
        if (!a.getMember().equals(id)) {
            if (a.getRole() == ReplicaRole.RECOVERING && id.equals(a.getTransferFrom())
                && transfersSent.getOrDefault(a.getMember(), -1L) < a.getEpoch()) {
                pendingTransfers.put(a.getMember(), a.getEpoch());
            }
            return out;
        }
        if (a.getEpoch() < roleEpoch || (a.getEpoch() == roleEpoch && a.getRole() == role.assigned())) {
            return out;
        }
        if (!ROLES.get(mode).contains(a.getRole())) {
            throw new IllegalStateException(id + ": cannot be " + a.getRole() + " in " + mode.label() + " mode (assigned "
                + "at epoch " + a.getEpoch() + "); the replica manager and this replica disagree on the mode.");
        }
        Role previous = role;
        roleEpoch = a.getEpoch();
        say(out, "%s: role %s at epoch %d (members %s%s).", id, a.getRole(), roleEpoch, a.getMembers(),
            a.getPrimary() == null ? "" : ", primary " + a.getPrimary());
        switch (a.getRole()) {
            case PRIMARY -> takeOver(out);
            case BACKUP -> {
                if (previous instanceof Primary) {
                    stepDown("the replica manager made " + id + " a backup", out);
                }
                role = new Backup();
            }
            case READY -> {
                if (previous instanceof Following f && f.applying()) {
                    role = previous instanceof Ready ? previous : new Ready(f.stage(), f.replayEnd());
                } else {
                    // Nobody to transfer from: the request log from its start is the state.
                    state = ReplicaState.initial();
                    role = new Ready("no replica to transfer state from; replaying the request log from its start");
                    out.add(new Replay(0));
                }
            }
            case RECOVERING -> {
                if (previous instanceof Following f && f.stage() == Stage.SERVING) {
                    confirmReady(out, now);
                } else {
                    role = new Recovering(roleEpoch);
                    out.add(new FollowFromEnd());
                    say(out, "%s: recovering: waiting for a checkpoint from %s, buffering requests meanwhile.", id,
                        a.getTransferFrom());
                }
            }
            default -> throw new IllegalStateException("unknown role " + a.getRole());
        }
        return out;
    }

    /**
     * A record of the checkpoints topic: a waiting replica or backup keeps the primary's; a recovering one loads the
     * transfer it awaits and catches up from it.
     */
    public List<Decision> onCheckpoint(String key, Checkpoint cp) {
        List<Decision> out = new ArrayList<>();
        if (mode == Mode.PASSIVE && PRIMARY_CHECKPOINT.equals(key)
            && (role instanceof Waiting || role instanceof Backup)) {
            state = ReplicaState.fromCheckpoint(cp);
            say(out, "%s: checkpoint #%d received from %s: %s.", id, cp.getCheckpointNum(), cp.getReplicaId(), state);
        } else if (role instanceof Recovering r && r.stage() == Stage.BUFFERING && transferKey(id).equals(key)
            && cp.getEpoch() >= r.awaitedEpoch) {
            state = ReplicaState.fromCheckpoint(cp);
            say(out, "%s: checkpoint #%d received from %s: %s.", id, cp.getCheckpointNum(), cp.getReplicaId(), state);
            long from = state.position();
            r.buffer.removeIf(b -> b.offset() < from);
            if (!r.buffer.isEmpty() && r.buffer.get(0).offset() == from) {
                r.move(Stage.LOCATING);
                out.add(new ReadPosition());
            } else {
                int buffered = r.buffer.size();
                r.buffer.clear();
                seek(r, from, "checkpoint is older than the " + buffered
                    + " buffered requests; replaying the request log after it", out);
            }
        }
        return out;
    }

    /** The request at {@code offset} of the request log. */
    public List<Decision> onRequest(long offset, ReplicaRequest request, Instant now) {
        List<Decision> out = new ArrayList<>();
        request(new Buffered(offset, Objects.requireNonNull(request, "request"), null), now, out);
        return out;
    }

    /**
     * A record of the request log that is not a request: a replica that applies the log stops there
     * ({@link StopUnreadable}) rather than skip it and diverge.
     */
    public List<Decision> onUnreadableRequest(long offset, String reason) {
        List<Decision> out = new ArrayList<>();
        request(new Buffered(offset, null, reason), null, out);
        return out;
    }

    /**
     * After each poll, on the monotonic clock: a primary adds its checkpoint when one is due and commits; a ready
     * replica sends the state transfers ordered from it.
     */
    public List<Decision> onTick(long nanos, Instant now) {
        List<Decision> out = new ArrayList<>();
        if (role instanceof Primary p && p.applying()) {
            if (nanos - p.checkpointNanos >= checkpointIntervalNanos && state.position() != p.checkpointPosition) {
                Checkpoint cp = state.toCheckpoint(id, roleEpoch, ++checkpointNum, requestsTopic, now);
                out.add(new WriteCheckpoint(PRIMARY_CHECKPOINT, cp, true));
                p.transactionOpen = true;
                p.checkpointInTransaction = true;
            }
            if (p.transactionOpen) {
                out.add(new Commit());
            }
        } else if (role instanceof Ready r && r.stage() == Stage.SERVING && !pendingTransfers.isEmpty()) {
            for (Map.Entry<String, Long> t : pendingTransfers.entrySet()) {
                Checkpoint cp = state.toCheckpoint(id, t.getValue(), ++checkpointNum, requestsTopic, now);
                out.add(new WriteCheckpoint(transferKey(t.getKey()), cp, false));
                transfersSent.put(t.getKey(), t.getValue());
                say(out, "%s: checkpoint #%d sent to %s: %s.", id, checkpointNum, t.getKey(), state);
            }
            pendingTransfers.clear();
            out.add(new Flush());
        }
        return out;
    }

    /** A newer primary fenced this one's transactional producer: it steps down and writes no more. */
    public List<Decision> onFenced(String cause) {
        if (!(role instanceof Primary)) {
            throw new IllegalStateException(id + ": fenced as " + describe(role) + "; only a primary writes in "
                + "transactions");
        }
        List<Decision> out = new ArrayList<>();
        stepDown("fenced by a newer primary (" + cause + ")", out);
        return out;
    }

    /** The primary's transaction was lost, its replies and checkpoint with it: take over again from the checkpoint. */
    public List<Decision> onTransactionFailed() {
        if (!(role instanceof Primary)) {
            throw new IllegalStateException(id + ": a transaction failed as " + describe(role) + "; only a primary "
                + "writes in transactions");
        }
        List<Decision> out = new ArrayList<>();
        takeOver(out);
        return out;
    }

    // ---- answers

    /**
     * Answers {@link TakeOver}: the old primary is fenced and {@code latest} is the latest primary checkpoint (null:
     * none yet). Loads it and replays the request log after its position. The times are monotonic: when the take-over
     * began, when fencing ended, and now.
     */
    public List<Decision> onTakenOver(Checkpoint latest, long startedNanos, long fencedNanos, long nanos) {
        Primary primary = expect(Primary.class, Stage.TAKING_OVER, "the result of a take-over");
        List<Decision> out = new ArrayList<>();
        state = latest == null ? ReplicaState.initial() : ReplicaState.fromCheckpoint(latest);
        checkpointNum = latest == null ? 0 : latest.getCheckpointNum();
        primary.checkpointPosition = state.position();
        primary.checkpointNanos = nanos;
        say(out, "%s: promoted to primary at epoch %d in %d ms (fencing the old primary %d ms); %s.", id, roleEpoch,
            (nanos - startedNanos) / 1_000_000, (fencedNanos - startedNanos) / 1_000_000, latest == null
            ? "no checkpoint yet, starting from the empty state"
            : "loaded checkpoint #" + latest.getCheckpointNum() + " of " + latest.getReplicaId() + ": " + state);
        seek(primary, state.position(), "replaying the requests after the checkpoint", out);
        return out;
    }

    /** Answers {@link Replay}: the request log ends at {@code end}; replaying goes up to there, then serving. */
    public List<Decision> onLogEnd(long end, Instant now) {
        Following f = expect(Following.class, Stage.SEEKING, "the end of the request log");
        List<Decision> out = new ArrayList<>();
        f.replayEnd = end;
        say(out, "%s: %s: offsets %d..%d (%d requests).", id, f.replayReason, f.replayFrom, end,
            Math.max(0, end - f.replayFrom));
        if (f.replayFrom >= end) {
            serving(out, now);
        } else {
            f.move(Stage.REPLAYING);
        }
        return out;
    }

    /**
     * Answers {@link ReadPosition}: the request log has been fetched up to {@code position}. Replays the buffered
     * requests after the checkpoint, then those fetched but not yet handed in, then serves.
     */
    public List<Decision> onPosition(long position, Instant now) {
        Recovering r = expect(Recovering.class, Stage.LOCATING, "the position in the request log");
        List<Decision> out = new ArrayList<>();
        r.replayTo(position);
        say(out, "%s: replaying %d buffered requests after offset %d.", id, r.buffer.size(), state.position());
        List<Buffered> replay = new ArrayList<>(r.buffer);
        r.buffer.clear();
        for (Buffered b : replay) {
            request(b, now, out);
        }
        if (role instanceof Following f && f.stage() == Stage.REPLAYING && state.position() >= f.replayEnd) {
            serving(out, now);
        }
        return out;
    }

    /** Answers {@link Commit} with the monotonic time it ended: a checkpoint in the transaction is now published. */
    public List<Decision> onCommitted(long nanos) {
        if (!(role instanceof Primary p) || !p.transactionOpen) {
            throw new IllegalStateException(id + ": a commit is not expected as " + describe(role));
        }
        List<Decision> out = new ArrayList<>();
        p.transactionOpen = false;
        if (p.checkpointInTransaction) {
            p.checkpointInTransaction = false;
            p.checkpointPosition = state.position();
            p.checkpointNanos = nanos;
            say(out, "%s: checkpoint #%d sent: %s.", id, checkpointNum, state);
        }
        return out;
    }

    // ---- transitions

    private void takeOver(List<Decision> out) {
        role = new Primary();
        out.add(new TakeOver());
    }

    private void stepDown(String why, List<Decision> out) {
        say(out, "%s: stops serving as primary: %s.", id, why);
        out.add(new StopWriting());
        role = new Backup();
    }

    private void seek(Following f, long from, String why, List<Decision> out) {
        f.seek(from, why);
        out.add(new Replay(from));
    }

    private void request(Buffered r, Instant now, List<Decision> out) {
        if (stoppedAt >= 0) {
            return;
        }
        if (role instanceof Recovering recovering && recovering.stage() == Stage.BUFFERING) {
            recovering.buffer.add(r);
            return;
        }
        if (!(role instanceof Following f) || !f.applying()) {
            return;
        }
        if (r.request() == null) {
            stoppedAt = r.offset();
            out.add(new StopUnreadable(r.offset(), String.format("%s: stopped: the request at offset %d cannot be "
                + "read (%s); it was sent to the dead-letter topic and this replica applies nothing past it, so its "
                + "state cannot diverge.", id, r.offset(), r.unreadable())));
            return;
        }
        ReplicaRequest request = r.request();
        ReplicaState.Outcome outcome = state.apply(r.offset(), request);
        say(out, "%s: %s#%d at offset %d: state %s -> %s (%s)", id, request.getClient(), request.getRequestNum(),
            r.offset(), outcome.before(), outcome.after(), outcome.applied() ? "applied, " + state.applied()
                + " in all" : "already applied, not applied again");
        if (f instanceof Primary primary) {
            out.add(new Reply(state.reply(id, request, r.offset(), !outcome.applied(), now), true));
            primary.transactionOpen = true;
        } else if (f.stage() == Stage.SERVING) {
            out.add(new Reply(state.reply(id, request, r.offset(), !outcome.applied(), now), false));
        }
        if (f.stage() == Stage.REPLAYING && state.position() >= f.replayEnd) {
            serving(out, now);
        }
    }

    private void serving(List<Decision> out, Instant now) {
        Following f = (Following) role;
        say(out, "%s: serving as %s with %s.", id, f.assigned(), state);
        if (f instanceof Recovering) {
            confirmReady(out, now);
        } else {
            f.move(Stage.SERVING);
        }
    }

    private void confirmReady(List<Decision> out, Instant now) {
        out.add(new WriteRole(RoleAssignment.newBuilder().setMember(id).setRole(ReplicaRole.READY)
            .setEpoch(roleEpoch).setMode(mode.label()).setTransferFrom(null).setPrimary(null)
            .setMembers(List.of()).setAssignedBy(id).setAt(now).build()));
        out.add(new Flush());
        if (!(role instanceof Ready)) {
            role = new Ready(Stage.SERVING, ((Following) role).replayEnd());
        }
        say(out, "%s: recovered; confirmed READY at epoch %d.", id, roleEpoch);
    }

    private <T extends Following> T expect(Class<T> type, Stage stage, String what) {
        if (type.isInstance(role) && ((Following) role).stage() == stage) {
            return type.cast(role);
        }
        throw new IllegalStateException(id + ": " + what + " is not expected as " + describe(role));
    }

    private static String describe(Role role) {
        return role instanceof Following ? role.toString() : role.assigned() == null ? "WAITING"
            : role.assigned().toString();
    }

    private static void say(List<Decision> out, String format, Object... args) {
        out.add(new Say(String.format(format, args)));
    }
}
