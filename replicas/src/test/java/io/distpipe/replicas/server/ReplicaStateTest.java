package io.distpipe.replicas.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;

import io.distpipe.replicas.Checkpoint;
import io.distpipe.replicas.ReplicaRequest;
import org.junit.jupiter.api.Test;

class ReplicaStateTest {

    private static final Instant NOW = Instant.ofEpochMilli(1_700_000_000_000L);

    private static ReplicaRequest req(String client, long n) {
        return ReplicaRequest.newBuilder().setClient(client).setRequestNum(n).setPayload("op " + n).setSentAt(NOW)
            .build();
    }

    /** The request log of these tests: offset i holds LOG.get(i); C1#2 appears twice (a resend). */
    private static final List<ReplicaRequest> LOG = List.of(req("C1", 1), req("C2", 1), req("C1", 2), req("C1", 2),
        req("C2", 2), req("C1", 3));

    private static ReplicaState replay(ReplicaState state, int from) {
        for (int i = from; i < LOG.size(); i++) {
            state.apply(i, LOG.get(i));
        }
        return state;
    }

    @Test
    void shouldApplyEachRequestOnceAndGiveTheSameStateInTheSameOrder() {
        ReplicaState a = replay(ReplicaState.initial(), 0);
        ReplicaState b = replay(ReplicaState.initial(), 0);
        assertThat(a.hash()).isEqualTo(b.hash());
        assertThat(a.applied()).as("the resent C1#2 is not applied again").isEqualTo(5);
        assertThat(a.lastRequests()).containsEntry("C1", 3L).containsEntry("C2", 2L);
        assertThat(a.position()).isEqualTo(LOG.size());

        ReplicaState swapped = ReplicaState.initial();
        swapped.apply(0, LOG.get(1));
        swapped.apply(1, LOG.get(0));
        ReplicaState inOrder = ReplicaState.initial();
        inOrder.apply(0, LOG.get(0));
        inOrder.apply(1, LOG.get(1));
        assertThat(swapped.status()).as("the status depends on the order").isNotEqualTo(inOrder.status());
    }

    @Test
    void shouldReplyToADuplicateWithoutApplyingIt() {
        ReplicaState state = ReplicaState.initial();
        assertThat(state.apply(0, req("C1", 1)).applied()).isTrue();
        String after = state.status();
        ReplicaState.Outcome again = state.apply(1, req("C1", 1));
        assertThat(again.applied()).isFalse();
        assertThat(again.after()).isEqualTo(after);
        assertThat(state.reply("S1", req("C1", 1), 1, true, NOW).getDuplicate()).isTrue();
    }

    @Test
    void shouldChangeNothingWhenAStaleCheckpointIsReplayedTwice() {
        ReplicaState atTwo = replay(ReplicaState.initial(), 0);
        ReplicaState partial = ReplicaState.initial();
        for (int i = 0; i < 2; i++) {
            partial.apply(i, LOG.get(i));
        }
        Checkpoint stale = partial.toCheckpoint("S1", 3, 7, "replicas.requests", NOW);
        String expected = atTwo.hash();

        ReplicaState once = replay(ReplicaState.fromCheckpoint(stale), (int) stale.getPosition().getOffset());
        ReplicaState twice = replay(replay(ReplicaState.fromCheckpoint(stale), 2), 2);
        assertThat(once.hash()).isEqualTo(expected);
        assertThat(twice.hash()).as("replaying the same log again changes nothing").isEqualTo(expected);

        // The stale checkpoint's requests offered again to an up-to-date state: below its position, ignored.
        ReplicaState current = replay(ReplicaState.initial(), 0);
        replay(current, 0);
        assertThat(current.hash()).isEqualTo(expected);
        assertThat(current.applied()).isEqualTo(5);
    }

    @Test
    void shouldRoundTripThroughACheckpointAndRejectATamperedOne() {
        ReplicaState state = replay(ReplicaState.initial(), 0);
        Checkpoint cp = state.toCheckpoint("S2", 4, 1, "replicas.requests", NOW);
        assertThat(ReplicaState.fromCheckpoint(cp).hash()).isEqualTo(state.hash());
        assertThat(cp.getPosition().getOffset()).isEqualTo(LOG.size());
        Checkpoint tampered = Checkpoint.newBuilder(cp).setRequestsApplied(99).build();
        assertThatThrownBy(() -> ReplicaState.fromCheckpoint(tampered)).hasMessageContaining("does not match");
    }
}
