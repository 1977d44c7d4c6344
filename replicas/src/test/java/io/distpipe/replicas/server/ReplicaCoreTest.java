package io.distpipe.replicas.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.distpipe.replicas.Checkpoint;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRequest;
import io.distpipe.replicas.ReplicaRole;
import io.distpipe.replicas.RoleAssignment;
import io.distpipe.replicas.server.ReplicaCore.Backup;
import io.distpipe.replicas.server.ReplicaCore.Commit;
import io.distpipe.replicas.server.ReplicaCore.Decision;
import io.distpipe.replicas.server.ReplicaCore.FollowFromEnd;
import io.distpipe.replicas.server.ReplicaCore.Primary;
import io.distpipe.replicas.server.ReplicaCore.ReadPosition;
import io.distpipe.replicas.server.ReplicaCore.Ready;
import io.distpipe.replicas.server.ReplicaCore.Recovering;
import io.distpipe.replicas.server.ReplicaCore.Replay;
import io.distpipe.replicas.server.ReplicaCore.Reply;
import io.distpipe.replicas.server.ReplicaCore.Say;
import io.distpipe.replicas.server.ReplicaCore.Stage;
import io.distpipe.replicas.server.ReplicaCore.StopUnreadable;
import io.distpipe.replicas.server.ReplicaCore.StopWriting;
import io.distpipe.replicas.server.ReplicaCore.TakeOver;
import io.distpipe.replicas.server.ReplicaCore.Warn;
import io.distpipe.replicas.server.ReplicaCore.WriteCheckpoint;
import io.distpipe.replicas.server.ReplicaCore.WriteRole;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import org.junit.jupiter.api.Test;

class ReplicaCoreTest {

    private static final Instant NOW = Instant.ofEpochMilli(1_700_000_000_000L);
    private static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final String TOPIC = "replicas.requests";

    private static ReplicaRequest req(String client, long n) {
        return ReplicaRequest.newBuilder().setClient(client).setRequestNum(n).setPayload("op " + n).setSentAt(NOW)
            .build();
    }

    private static RoleAssignment assign(String member, ReplicaRole role, long epoch, String transferFrom) {
        return RoleAssignment.newBuilder().setMember(member).setRole(role).setEpoch(epoch).setMode("test")
            .setTransferFrom(transferFrom).setPrimary(null).setMembers(List.of(member))
            .setAssignedBy(ReplicaManagerTopology.RM).setAt(NOW).build();
    }

    private static RoleAssignment assign(String member, ReplicaRole role, long epoch) {
        return assign(member, role, epoch, null);
    }

    private static ReplicaCore core(String id, Mode mode) {
        return new ReplicaCore(id, mode, INTERVAL, 0, TOPIC);
    }

    private static List<String> kinds(List<Decision> decisions) {
        return decisions.stream().map(d -> d.getClass().getSimpleName()).toList();
    }

    private static List<ReplicaReply> replies(List<Decision> decisions) {
        return decisions.stream().filter(Reply.class::isInstance).map(d -> ((Reply) d).reply()).toList();
    }

    private static List<String> lines(List<Decision> decisions) {
        return decisions.stream().filter(Say.class::isInstance).map(d -> ((Say) d).line()).toList();
    }

    /** The state after applying {@code requests} at offsets 0, 1, ... */
    private static ReplicaState applied(List<ReplicaRequest> requests) {
        ReplicaState state = ReplicaState.initial();
        for (int i = 0; i < requests.size(); i++) {
            state.apply(i, requests.get(i));
        }
        return state;
    }

    /** A passive primary on an empty log, serving. */
    private static ReplicaCore servingPrimary(String id) {
        ReplicaCore core = core(id, Mode.PASSIVE);
        core.onAssignment(assign(id, ReplicaRole.PRIMARY, 1), NOW);
        core.onTakenOver(null, 0, 0, 0);
        core.onLogEnd(0, NOW);
        return core;
    }

    // ---- passive primary

    @Test
    void shouldTakeOverFenceThenReplayThenServeWhenMadePrimary() {
        ReplicaCore core = core("S1", Mode.PASSIVE);
        List<Decision> assigned = core.onAssignment(assign("S1", ReplicaRole.PRIMARY, 1), NOW);
        assertThat(kinds(assigned)).containsExactly("Say", "TakeOver");
        assertThat(lines(assigned)).containsExactly("S1: role PRIMARY at epoch 1 (members [S1]).");
        assertThat(core.role()).isInstanceOf(Primary.class);
        assertThat(((Primary) core.role()).stage()).isEqualTo(Stage.TAKING_OVER);
        assertThat(core.onRequest(0, req("C1", 1), NOW)).as("no request before the old primary is fenced").isEmpty();

        List<Decision> loaded = core.onTakenOver(null, 0, 2_000_000, 5_000_000);
        assertThat(loaded).last().isEqualTo(new Replay(0));
        assertThat(lines(loaded)).singleElement().asString()
            .startsWith("S1: promoted to primary at epoch 1 in 5 ms (fencing the old primary 2 ms); no checkpoint yet");

        List<Decision> end = core.onLogEnd(0, NOW);
        assertThat(lines(end)).containsExactly(
            "S1: replaying the requests after the checkpoint: offsets 0..0 (0 requests).",
            "S1: serving as PRIMARY with " + ReplicaState.initial() + ".");
        assertThat(((Primary) core.role()).stage()).isEqualTo(Stage.SERVING);
    }

    @Test
    void shouldReplyInTheTransactionAndAddACheckpointWhenOneIsDue() {
        ReplicaCore core = servingPrimary("S1");
        List<Decision> first = core.onRequest(0, req("C1", 1), NOW);
        assertThat(kinds(first)).containsExactly("Say", "Reply");
        Reply reply = (Reply) first.get(1);
        assertThat(reply.transactional()).isTrue();
        assertThat(reply.reply().getServer()).isEqualTo("S1");
        assertThat(reply.reply().getRequestsApplied()).isEqualTo(1);
        assertThat(reply.reply().getDuplicate()).isFalse();

        assertThat(core.onTick(INTERVAL.toNanos() - 1, NOW)).as("not due yet: the replies alone are committed")
            .containsExactly(new Commit());
        assertThat(core.onCommitted(INTERVAL.toNanos() - 1)).isEmpty();
        assertThat(core.onTick(INTERVAL.toNanos() - 1, NOW)).as("nothing written since the commit").isEmpty();

        core.onRequest(1, req("C1", 2), NOW);
        List<Decision> due = core.onTick(INTERVAL.toNanos(), NOW);
        assertThat(kinds(due)).containsExactly("WriteCheckpoint", "Commit");
        WriteCheckpoint cp = (WriteCheckpoint) due.get(0);
        assertThat(cp.key()).isEqualTo(ReplicaCore.PRIMARY_CHECKPOINT);
        assertThat(cp.transactional()).isTrue();
        assertThat(cp.checkpoint().getCheckpointNum()).isEqualTo(1);
        assertThat(cp.checkpoint().getPosition().getOffset()).isEqualTo(2);
        assertThat(cp.checkpoint().getPosition().getTopic()).isEqualTo(TOPIC);
        assertThat(cp.checkpoint().getEpoch()).isEqualTo(1);
        assertThat(lines(core.onCommitted(INTERVAL.toNanos() + 5)))
            .containsExactly("S1: checkpoint #1 sent: " + core.state() + ".");

        assertThat(core.onTick(3 * INTERVAL.toNanos(), NOW)).as("the state has not moved since the checkpoint")
            .isEmpty();
        core.onRequest(2, req("C2", 1), NOW);
        assertThat(kinds(core.onTick(2 * INTERVAL.toNanos(), NOW)))
            .as("the interval counts from the end of the last checkpoint's commit").containsExactly("Commit");
    }

    @Test
    void shouldApplyAResentRequestOnceAndAnswerItOnceAsADuplicate() {
        ReplicaCore core = servingPrimary("S1");
        ReplicaReply first = replies(core.onRequest(0, req("C1", 1), NOW)).get(0);
        String after = core.state().status();
        List<Decision> resent = core.onRequest(1, req("C1", 1), NOW);
        assertThat(lines(resent)).singleElement().asString().endsWith("(already applied, not applied again)");
        assertThat(replies(resent)).singleElement().satisfies(r -> {
            assertThat(r.getDuplicate()).isTrue();
            assertThat(r.getRequestsApplied()).isEqualTo(first.getRequestsApplied());
            assertThat(r.getState()).isEqualTo(after);
            assertThat(r.getRequestOffset()).isEqualTo(1);
        });
        assertThat(core.state().applied()).isEqualTo(1);

        ReplicaCore active = core("S2", Mode.ACTIVE);
        active.onAssignment(assign("S2", ReplicaRole.READY, 1), NOW);
        active.onLogEnd(0, NOW);
        List<ReplicaReply> answers = new ArrayList<>();
        for (long offset = 0; offset < 3; offset++) {
            answers.addAll(replies(active.onRequest(offset, req("C1", 1), NOW)));
        }
        assertThat(answers).as("one reply per record of the log").extracting(ReplicaReply::getDuplicate)
            .containsExactly(false, true, true);
        assertThat(active.state().applied()).isEqualTo(1);
    }

    @Test
    void shouldStopAtAnUnreadableRequestInsteadOfSkippingItAndApplyNothingAfterIt() {
        ReplicaCore core = servingPrimary("S1");
        core.onRequest(0, req("C1", 1), NOW);
        String before = core.state().hash();

        List<Decision> stopped = core.onUnreadableRequest(1, "bad magic byte");
        List<Decision> after = core.onRequest(2, req("C1", 2), NOW);

        assertThat(stopped).singleElement().isInstanceOfSatisfying(StopUnreadable.class, s -> {
            assertThat(s.offset()).isEqualTo(1);
            assertThat(s.line()).startsWith("S1: stopped: the request at offset 1 cannot be read (bad magic byte)");
        });
        assertThat(after).as("nothing past the unreadable request").isEmpty();
        assertThat(core.state().position()).as("the position stays at the unreadable request").isEqualTo(1);
        assertThat(core.state().hash()).isEqualTo(before);
    }

    @Test
    void shouldTakeOverAgainFromTheCheckpointWhenTheTransactionIsLost() {
        ReplicaCore core = servingPrimary("S1");
        core.onRequest(0, req("C1", 1), NOW);
        ReplicaState atOne = core.state().copy();
        Checkpoint cp = atOne.toCheckpoint("S1", 1, 4, TOPIC, NOW);
        core.onRequest(1, req("C1", 2), NOW);

        assertThat(core.onTransactionFailed()).containsExactly(new TakeOver());
        assertThat(((Primary) core.role()).stage()).isEqualTo(Stage.TAKING_OVER);
        assertThat(core.onTakenOver(cp, 0, 0, 0)).last().isEqualTo(new Replay(1));
        assertThat(core.state().hash()).isEqualTo(atOne.hash());
        core.onLogEnd(2, NOW);
        List<Decision> replayed = core.onRequest(1, req("C1", 2), NOW);
        assertThat(replies(replayed)).as("the lost reply is sent again, in the new transaction").singleElement()
            .satisfies(r -> assertThat(r.getDuplicate()).isFalse());
        assertThat(lines(replayed)).last().asString().startsWith("S1: serving as PRIMARY");
        List<Decision> tick = core.onTick(INTERVAL.toNanos(), NOW);
        assertThat(kinds(tick)).containsExactly("WriteCheckpoint", "Commit");
        assertThat(((WriteCheckpoint) tick.get(0)).checkpoint().getCheckpointNum())
            .as("checkpoint numbers go on from the loaded one").isEqualTo(5);
    }

    // ---- passive backup, failover and fencing

    @Test
    void shouldNeverReplyOrWriteAsPassiveBackup() {
        ReplicaCore backup = core("S2", Mode.PASSIVE);
        assertThat(kinds(backup.onAssignment(assign("S2", ReplicaRole.BACKUP, 1), NOW))).containsExactly("Say");
        assertThat(backup.role()).isInstanceOf(Backup.class);
        List<Decision> all = new ArrayList<>();
        for (long offset = 0; offset < 3; offset++) {
            all.addAll(backup.onRequest(offset, req("C1", offset + 1), NOW));
            all.addAll(backup.onTick(offset * INTERVAL.toNanos() * 5, NOW));
        }
        ReplicaState primaryState = applied(List.of(req("C1", 1), req("C1", 2)));
        all.addAll(backup.onCheckpoint(ReplicaCore.PRIMARY_CHECKPOINT, primaryState.toCheckpoint("S1", 1, 3, TOPIC,
            NOW)));
        all.addAll(backup.onCheckpoint(ReplicaCore.transferKey("S2"), primaryState.toCheckpoint("S1", 1, 4, TOPIC,
            NOW)));
        all.addAll(backup.onTick(100 * INTERVAL.toNanos(), NOW));
        assertThat(all).as("a backup only prints").allMatch(Say.class::isInstance);
        assertThat(lines(all)).containsExactly("S2: checkpoint #3 received from S1: " + primaryState + ".");
        assertThat(backup.state().hash()).as("it keeps the primary's latest checkpoint").isEqualTo(primaryState.hash());
    }

    @Test
    void shouldPromoteABackupThatFirstCatchesUpToTheLastCheckpointThenReplaysTheRest() {
        World world = new World();
        Shell s1 = new Shell(core("S1", Mode.PASSIVE), world);
        Shell s2 = new Shell(core("S2", Mode.PASSIVE), world);
        s1.assign(assign("S1", ReplicaRole.PRIMARY, 1));
        s2.assign(assign("S2", ReplicaRole.BACKUP, 1));
        world.send(req("C1", 1), req("C2", 1), req("C1", 2));
        s1.poll();
        s1.nanos += INTERVAL.toNanos();
        s1.poll();
        assertThat(s1.lines).anyMatch(l -> l.startsWith("S1: checkpoint #1 sent: state"));
        s2.readCheckpoints();
        world.send(req("C2", 2), req("C1", 3));
        s1.poll();
        assertThat(world.replies).hasSize(5).extracting(ReplicaReply::getServer).containsOnly("S1");

        // S1 dies; the RM promotes S2, which holds checkpoint #1 (offsets 0..2) but not the last two requests.
        s2.assign(assign("S2", ReplicaRole.PRIMARY, 2));
        assertThat(s2.lines).anyMatch(l -> l.startsWith("S2: promoted to primary at epoch 2")
            && l.contains("loaded checkpoint #1 of S1: state"));
        assertThat(s2.lines).contains("S2: replaying the requests after the checkpoint: offsets 3..5 (2 requests).");
        assertThat(((Primary) s2.core.role()).stage()).isEqualTo(Stage.REPLAYING);
        assertThat(s2.core.state().position()).as("the checkpoint's position").isEqualTo(3);

        s2.poll();
        assertThat(((Primary) s2.core.role()).stage()).isEqualTo(Stage.SERVING);
        assertThat(s2.core.state().hash()).as("caught up to the old primary").isEqualTo(s1.core.state().hash());
        assertThat(world.replies.subList(5, world.replies.size()))
            .as("the requests after the checkpoint are answered again, by the new primary")
            .extracting(ReplicaReply::getServer, ReplicaReply::getRequestOffset)
            .containsExactly(tuple("S2", 3L), tuple("S2", 4L));

        world.send(req("C1", 4));
        s2.poll();
        assertThat(world.replies).last().satisfies(r -> {
            assertThat(r.getServer()).isEqualTo("S2");
            assertThat(r.getRequestsApplied()).isEqualTo(6);
        });
    }

    @Test
    void shouldStopWritingWhenANewerPrimaryFencesTheOldOne() {
        World world = new World();
        Shell s1 = new Shell(core("S1", Mode.PASSIVE), world);
        Shell s2 = new Shell(core("S2", Mode.PASSIVE), world);
        s1.assign(assign("S1", ReplicaRole.PRIMARY, 1));
        world.send(req("C1", 1));
        s1.poll();

        // S2 takes over; S1 is never told (partitioned away) and goes on serving.
        s2.assign(assign("S2", ReplicaRole.PRIMARY, 2));
        world.send(req("C1", 2));
        s1.poll();
        assertThat(s1.lines).contains("S1: stops serving as primary: fenced by a newer primary "
            + "(ProducerFencedException: epoch 1 < 2).");
        assertThat(s1.core.role()).isInstanceOf(Backup.class);
        assertThat(s1.reading).as("the requests are no longer read").isNegative();
        s2.poll();
        assertThat(world.replies).extracting(ReplicaReply::getServer, ReplicaReply::getRequestOffset)
            .as("nothing of S1's after the takeover is visible")
            .containsExactly(tuple("S1", 0L), tuple("S2", 0L), tuple("S2", 1L));

        List<Decision> after = new ArrayList<>();
        after.addAll(s1.core.onRequest(2, req("C1", 3), NOW));
        after.addAll(s1.core.onTick(10 * INTERVAL.toNanos(), NOW));
        assertThat(after).as("a fenced primary writes nothing").isEmpty();
        assertThatThrownBy(() -> s1.core.onFenced("again")).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("only a primary");
    }

    @Test
    void shouldStepDownWhenTheReplicaManagerMakesThePrimaryABackup() {
        ReplicaCore core = servingPrimary("S1");
        List<Decision> demoted = core.onAssignment(assign("S1", ReplicaRole.BACKUP, 2), NOW);
        assertThat(demoted).containsExactly(new Say("S1: role BACKUP at epoch 2 (members [S1])."),
            new Say("S1: stops serving as primary: the replica manager made S1 a backup."), new StopWriting());
        assertThat(core.role()).isInstanceOf(Backup.class);
        assertThat(core.onRequest(0, req("C1", 1), NOW)).isEmpty();
        assertThat(kinds(core.onAssignment(assign("S1", ReplicaRole.PRIMARY, 3), NOW)))
            .as("and can be promoted again").containsExactly("Say", "TakeOver");
    }

    // ---- active

    @Test
    void shouldReplayTheWholeLogWithoutReplyingWhenReadyWithNobodyToTransferFrom() {
        ReplicaCore core = core("S1", Mode.ACTIVE);
        assertThat(core.onAssignment(assign("S1", ReplicaRole.READY, 1), NOW)).last().isEqualTo(new Replay(0));
        assertThat(lines(core.onLogEnd(2, NOW))).containsExactly("S1: no replica to transfer state from; replaying "
            + "the request log from its start: offsets 0..2 (2 requests).");
        assertThat(kinds(core.onRequest(0, req("C1", 1), NOW))).containsExactly("Say");
        List<Decision> last = core.onRequest(1, req("C2", 1), NOW);
        assertThat(kinds(last)).as("caught up: serving, and a READY replica confirms nothing")
            .containsExactly("Say", "Say");
        assertThat(lines(last).get(1)).startsWith("S1: serving as READY with state");
        List<Decision> next = core.onRequest(2, req("C1", 2), NOW);
        assertThat(next).filteredOn(Reply.class::isInstance).singleElement()
            .satisfies(d -> assertThat(((Reply) d).transactional()).isFalse());
    }

    @Test
    void shouldAnswerNothingWhileRecoveringUntilCaughtUpFromTheTransfer() {
        List<ReplicaRequest> log = List.of(req("C1", 1), req("C2", 1), req("C1", 2), req("C2", 2), req("C1", 3));
        ReplicaCore core = core("S3", Mode.ACTIVE);
        List<Decision> assigned = core.onAssignment(assign("S3", ReplicaRole.RECOVERING, 4, "S1"), NOW);
        assertThat(assigned).containsExactly(new Say("S3: role RECOVERING at epoch 4 (members [S3])."),
            new FollowFromEnd(),
            new Say("S3: recovering: waiting for a checkpoint from S1, buffering requests meanwhile."));

        List<Decision> meanwhile = new ArrayList<>();
        for (int offset = 2; offset < 5; offset++) {
            meanwhile.addAll(core.onRequest(offset, log.get(offset), NOW));
            meanwhile.addAll(core.onTick(offset * INTERVAL.toNanos(), NOW));
        }
        ReplicaState atThree = applied(log.subList(0, 3));
        meanwhile.addAll(core.onCheckpoint(ReplicaCore.PRIMARY_CHECKPOINT, atThree.toCheckpoint("S1", 4, 1, TOPIC,
            NOW)));
        meanwhile.addAll(core.onCheckpoint(ReplicaCore.transferKey("S2"), atThree.toCheckpoint("S1", 4, 1, TOPIC,
            NOW)));
        meanwhile.addAll(core.onCheckpoint(ReplicaCore.transferKey("S3"), atThree.toCheckpoint("S1", 3, 1, TOPIC,
            NOW)));
        assertThat(meanwhile).as("buffered, not applied; other keys and an older transfer ignored").isEmpty();
        assertThat(((Recovering) core.role()).buffered()).isEqualTo(3);

        List<Decision> received = core.onCheckpoint(ReplicaCore.transferKey("S3"), atThree.toCheckpoint("S1", 4, 7,
            TOPIC, NOW));
        assertThat(received).containsExactly(new Say("S3: checkpoint #7 received from S1: " + atThree + "."),
            new ReadPosition());

        List<Decision> caughtUp = core.onPosition(5, NOW);
        assertThat(kinds(caughtUp)).as("the two buffered requests after offset 3 replayed without replies, then READY")
            .containsExactly("Say", "Say", "Say", "Say", "WriteRole", "Flush", "Say");
        assertThat(lines(caughtUp).get(0)).isEqualTo("S3: replaying 2 buffered requests after offset 3.");
        assertThat(lines(caughtUp)).contains("S3: recovered; confirmed READY at epoch 4.");
        RoleAssignment ready = caughtUp.stream().filter(WriteRole.class::isInstance).map(d -> ((WriteRole) d)
            .assignment()).findFirst().orElseThrow();
        assertThat(ready.getMember()).isEqualTo("S3");
        assertThat(ready.getAssignedBy()).isEqualTo("S3");
        assertThat(ready.getRole()).isEqualTo(ReplicaRole.READY);
        assertThat(ready.getEpoch()).isEqualTo(4);
        assertThat(core.state().hash()).isEqualTo(applied(log).hash());
        assertThat(core.role()).isInstanceOf(Ready.class);

        assertThat(replies(core.onRequest(5, req("C1", 4), NOW))).as("ready: replies").hasSize(1);
        assertThat(core.onAssignment(assign("S3", ReplicaRole.READY, 4), NOW))
            .as("the RM's READY at the same epoch changes nothing").isEmpty();
    }

    @Test
    void shouldReplayTheLogAfterATransferOlderThanTheBufferedRequests() {
        List<ReplicaRequest> log = List.of(req("C1", 1), req("C2", 1), req("C1", 2), req("C2", 2));
        ReplicaCore core = core("S3", Mode.ACTIVE);
        core.onAssignment(assign("S3", ReplicaRole.RECOVERING, 4, "S1"), NOW);
        core.onRequest(3, log.get(3), NOW);
        ReplicaState atOne = applied(log.subList(0, 1));
        List<Decision> received = core.onCheckpoint(ReplicaCore.transferKey("S3"), atOne.toCheckpoint("S1", 4, 2,
            TOPIC, NOW));
        assertThat(received).last().isEqualTo(new Replay(1));
        assertThat(lines(core.onLogEnd(4, NOW))).containsExactly("S3: checkpoint is older than the 1 buffered "
            + "requests; replaying the request log after it: offsets 1..4 (3 requests).");
        List<Decision> replayed = new ArrayList<>();
        for (int offset = 1; offset < 4; offset++) {
            replayed.addAll(core.onRequest(offset, log.get(offset), NOW));
        }
        assertThat(replayed).noneMatch(Reply.class::isInstance).filteredOn(WriteRole.class::isInstance).hasSize(1);
        assertThat(core.state().hash()).isEqualTo(applied(log).hash());
    }

    @Test
    void shouldConfirmReadyAtOnceWhenToldToRecoverWhileServing() {
        ReplicaCore core = core("S1", Mode.ACTIVE);
        core.onAssignment(assign("S1", ReplicaRole.READY, 1), NOW);
        core.onLogEnd(0, NOW);
        List<Decision> told = core.onAssignment(assign("S1", ReplicaRole.RECOVERING, 2, "S2"), NOW);
        assertThat(kinds(told)).containsExactly("Say", "WriteRole", "Flush", "Say");
        assertThat(core.role()).isInstanceOf(Ready.class);
    }

    @Test
    void shouldSendEachOrderedStateTransferOnceWhenServing() {
        ReplicaCore core = core("S1", Mode.ACTIVE);
        core.onAssignment(assign("S1", ReplicaRole.READY, 1), NOW);
        RoleAssignment order = assign("S3", ReplicaRole.RECOVERING, 3, "S1");
        assertThat(core.onAssignment(order, NOW)).isEmpty();
        assertThat(core.onTick(0, NOW)).as("not serving yet: the transfer waits").isEmpty();
        core.onLogEnd(1, NOW);
        core.onRequest(0, req("C1", 1), NOW);

        List<Decision> sent = core.onTick(0, NOW);
        assertThat(kinds(sent)).containsExactly("WriteCheckpoint", "Say", "Flush");
        WriteCheckpoint transfer = (WriteCheckpoint) sent.get(0);
        assertThat(transfer.key()).isEqualTo("transfer-S3");
        assertThat(transfer.transactional()).isFalse();
        assertThat(transfer.checkpoint().getEpoch()).as("the recovering replica's epoch").isEqualTo(3);
        assertThat(transfer.checkpoint().getPosition().getOffset()).isEqualTo(1);
        assertThat(lines(sent)).containsExactly("S1: checkpoint #1 sent to S3: " + core.state() + ".");

        assertThat(core.onAssignment(order, NOW)).isEmpty();
        assertThat(core.onTick(0, NOW)).as("the same order read again is not served twice").isEmpty();
        core.onAssignment(assign("S3", ReplicaRole.RECOVERING, 5, "S1"), NOW);
        assertThat(kinds(core.onTick(0, NOW))).as("a newer order is").containsExactly("WriteCheckpoint", "Say",
            "Flush");
        assertThat(core.onAssignment(assign("S2", ReplicaRole.RECOVERING, 6, "S3"), NOW)).isEmpty();
        assertThat(core.onTick(0, NOW)).as("an order to another replica is not ours").isEmpty();
    }

    @Test
    void shouldRestartFromTheLogStartWhenMadeReadyWhileStillBuffering() {
        ReplicaCore core = core("S3", Mode.ACTIVE);
        core.onAssignment(assign("S3", ReplicaRole.RECOVERING, 4, "S1"), NOW);
        core.onRequest(7, req("C1", 8), NOW);
        assertThat(core.onAssignment(assign("S3", ReplicaRole.READY, 5), NOW)).last().isEqualTo(new Replay(0));
        assertThat(core.state().position()).isZero();
        assertThat(((Ready) core.role()).stage()).isEqualTo(Stage.SEEKING);
    }

    // ---- what is ignored, and what is refused

    @Test
    void shouldIgnoreAssignmentsOfAnEarlierIncarnationTombstonesAndConfirmations() {
        ReplicaCore core = new ReplicaCore("S1", Mode.PASSIVE, INTERVAL, 5, TOPIC);
        assertThat(core.onAssignment(null, NOW)).isEmpty();
        assertThat(core.onAssignment(assign("S1", ReplicaRole.PRIMARY, 5), NOW)).as("an earlier incarnation's")
            .isEmpty();
        RoleAssignment own = RoleAssignment.newBuilder(assign("S1", ReplicaRole.PRIMARY, 6)).setAssignedBy("S1")
            .build();
        assertThat(core.onAssignment(own, NOW)).as("not the RM's").isEmpty();
        assertThat(core.onAssignment(assign("S2", ReplicaRole.PRIMARY, 6), NOW)).as("another member's").isEmpty();
        assertThat(core.role().assigned()).isNull();

        assertThat(kinds(core.onAssignment(assign("S1", ReplicaRole.BACKUP, 7), NOW))).containsExactly("Say");
        assertThat(core.onAssignment(assign("S1", ReplicaRole.BACKUP, 7), NOW)).as("the same again").isEmpty();
        assertThat(core.onAssignment(assign("S1", ReplicaRole.PRIMARY, 6), NOW)).as("an older epoch").isEmpty();
        assertThat(core.roleEpoch()).isEqualTo(7);
    }

    @Test
    void shouldRefuseTheRolesOfTheOtherMode() {
        ReplicaCore passive = core("S1", Mode.PASSIVE);
        assertThatThrownBy(() -> passive.onAssignment(assign("S1", ReplicaRole.READY, 1), NOW))
            .isInstanceOf(IllegalStateException.class)
            .hasMessage("S1: cannot be READY in passive mode (assigned at epoch 1); the replica manager and this "
                + "replica disagree on the mode.");
        assertThat(passive.roleEpoch()).as("refused before anything changed").isEqualTo(-1);
        ReplicaCore active = core("S2", Mode.ACTIVE);
        assertThatThrownBy(() -> active.onAssignment(assign("S2", ReplicaRole.PRIMARY, 1), NOW))
            .isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot be PRIMARY in active mode");
        assertThatThrownBy(() -> active.onAssignment(assign("S2", ReplicaRole.BACKUP, 1), NOW))
            .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldRefuseAnswersToQuestionsNotAsked() {
        ReplicaCore waiting = core("S1", Mode.PASSIVE);
        assertThatThrownBy(() -> waiting.onLogEnd(3, NOW)).isInstanceOf(IllegalStateException.class)
            .hasMessage("S1: the end of the request log is not expected as WAITING");
        assertThatThrownBy(() -> waiting.onTakenOver(null, 0, 0, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(waiting::onTransactionFailed).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> waiting.onFenced("x")).isInstanceOf(IllegalStateException.class);

        ReplicaCore primary = servingPrimary("S1");
        assertThatThrownBy(() -> primary.onTakenOver(null, 0, 0, 0)).isInstanceOf(IllegalStateException.class)
            .hasMessage("S1: the result of a take-over is not expected as PRIMARY (SERVING)");
        assertThatThrownBy(() -> primary.onPosition(4, NOW)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> primary.onCommitted(0)).as("nothing to commit")
            .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> primary.onLogEnd(0, NOW)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldListEachStagesSuccessors() {
        Map<Stage, EnumSet<Stage>> expected = Map.of(
            Stage.TAKING_OVER, EnumSet.of(Stage.SEEKING),
            Stage.BUFFERING, EnumSet.of(Stage.LOCATING, Stage.SEEKING),
            Stage.LOCATING, EnumSet.of(Stage.REPLAYING),
            Stage.SEEKING, EnumSet.of(Stage.REPLAYING, Stage.SERVING),
            Stage.REPLAYING, EnumSet.of(Stage.SERVING),
            Stage.SERVING, EnumSet.noneOf(Stage.class));
        for (Stage from : Stage.values()) {
            for (Stage to : Stage.values()) {
                assertThat(from.canMoveTo(to)).as(from + " -> " + to).isEqualTo(expected.get(from).contains(to));
            }
        }
    }

    // ---- an in-memory shell

    /** The topics the replicas of one test share: the request log, committed checkpoints and replies. */
    private static final class World {
        final List<ReplicaRequest> log = new ArrayList<>();
        final Map<String, Checkpoint> checkpoints = new HashMap<>();
        final List<ReplicaReply> replies = new ArrayList<>();
        /** The producer epoch of the shared transactional id: taking over bumps it, fencing older holders. */
        int producerEpoch;

        void send(ReplicaRequest... requests) {
            log.addAll(List.of(requests));
        }
    }

    /** Does what {@link Replica} does with a core's decisions, over a {@link World} instead of Kafka. */
    private static final class Shell {
        final ReplicaCore core;
        final World world;
        final List<String> lines = new ArrayList<>();
        final List<ReplicaReply> pendingReplies = new ArrayList<>();
        Checkpoint pendingCheckpoint;
        int epoch;
        long nanos;
        /** The next offset to read, or -1 while the request log is paused. */
        long reading = -1;
        boolean seeked;

        Shell(ReplicaCore core, World world) {
            this.core = core;
            this.world = world;
        }

        void assign(RoleAssignment a) {
            perform(core.onAssignment(a, NOW));
        }

        void readCheckpoints() {
            world.checkpoints.forEach((key, cp) -> perform(core.onCheckpoint(key, cp)));
        }

        void poll() {
            try {
                seeked = false;
                while (reading >= 0 && reading < world.log.size() && !seeked) {
                    long offset = reading++;
                    perform(core.onRequest(offset, world.log.get((int) offset), NOW));
                }
                perform(core.onTick(nanos, NOW));
            } catch (Fenced e) {
                perform(core.onFenced(e.getMessage()));
            }
        }

        private void perform(List<Decision> decisions) {
            for (Decision d : decisions) {
                if (d instanceof Say s) {
                    lines.add(s.line());
                } else if (d instanceof Reply r) {
                    pendingReplies.add(r.reply());
                } else if (d instanceof WriteCheckpoint c) {
                    pendingCheckpoint = c.checkpoint();
                } else if (d instanceof Commit) {
                    if (epoch < world.producerEpoch) {
                        pendingReplies.clear();
                        pendingCheckpoint = null;
                        throw new Fenced("ProducerFencedException: epoch " + epoch + " < " + world.producerEpoch);
                    }
                    world.replies.addAll(pendingReplies);
                    pendingReplies.clear();
                    if (pendingCheckpoint != null) {
                        world.checkpoints.put(ReplicaCore.PRIMARY_CHECKPOINT, pendingCheckpoint);
                        pendingCheckpoint = null;
                    }
                    perform(core.onCommitted(nanos));
                } else if (d instanceof TakeOver) {
                    epoch = ++world.producerEpoch;
                    perform(core.onTakenOver(world.checkpoints.get(ReplicaCore.PRIMARY_CHECKPOINT), nanos, nanos,
                        nanos));
                } else if (d instanceof Replay r) {
                    reading = r.from();
                    seeked = true;
                    perform(core.onLogEnd(world.log.size(), NOW));
                } else if (d instanceof StopWriting) {
                    reading = -1;
                } else {
                    throw new AssertionError("not expected in a passive scenario: " + d);
                }
            }
        }
    }

    private static final class Fenced extends RuntimeException {
        Fenced(String message) {
            super(message);
        }
    }
}
