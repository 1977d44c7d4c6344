package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import io.distpipe.kv.Ack;
import io.distpipe.kv.Decision;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvWrite;
import io.distpipe.kv.Outcome;
import io.distpipe.kv.PoolChange;
import io.distpipe.kv.PoolChangeType;
import io.distpipe.kv.ReadKind;
import io.distpipe.kv.ReadRequest;
import io.distpipe.kv.ReadResult;
import io.distpipe.kv.Vote;
import io.distpipe.kv.VoteRequest;
import org.junit.jupiter.api.Test;

class KvStateTest {

    private static KvLogEntry entry(Object payload) {
        return new KvLogEntry(payload, Instant.EPOCH);
    }

    private static KvLogEntry prepare(String txId, List<String> participants, KvWrite... writes) {
        return entry(new VoteRequest(txId, "r-" + txId, "c", List.of(writes), participants, "C1", 0, 1));
    }

    private static KvLogEntry decide(String txId, Outcome outcome) {
        return entry(new Decision(txId, "r-" + txId, "c", outcome, null, "C1"));
    }

    private static KvLogEntry read(ReadKind kind, String key, List<String> targets) {
        return entry(new ReadRequest("read-1", "r", "c", kind, key, targets));
    }

    @Test
    void shouldVoteNoWhileAKeyIsLockedByAnotherTransactionAndYesAfterItsDecision() {
        KvState state = new KvState();
        List<String> pool = List.of("W1", "W2");

        Vote first = (Vote) state.apply(prepare("tx1", pool, new KvWrite("a", "1")), "W1");
        Vote second = (Vote) state.apply(prepare("tx2", pool, new KvWrite("b", "2"), new KvWrite("a", "2")), "W1");
        Ack ack = (Ack) state.apply(decide("tx1", Outcome.COMMIT), "W1");
        Vote third = (Vote) state.apply(prepare("tx3", pool, new KvWrite("a", "3")), "W1");

        assertThat(first.getYes()).isTrue();
        assertThat(second.getYes()).isFalse();
        assertThat(second.getReason()).contains("'a'", "tx1");
        assertThat(ack.getTxId()).isEqualTo("tx1");
        assertThat(third.getYes()).isTrue();
        assertThat(state.db()).containsExactlyInAnyOrderEntriesOf(java.util.Map.of("a", "1"));
        assertThat(state.preparedCount()).isEqualTo(1);
    }

    @Test
    void shouldApplyNothingOfAnAbortedMultiKeyTransactionAndReleaseItsLocks() {
        KvState state = new KvState();
        List<String> pool = List.of("W1");

        state.apply(prepare("tx1", pool, new KvWrite("a", "1"), new KvWrite("b", "1")), "W1");
        Object ack = state.apply(decide("tx1", Outcome.ABORT), "W1");
        Vote again = (Vote) state.apply(prepare("tx2", pool, new KvWrite("b", "2")), "W1");

        assertThat(ack).isNull();
        assertThat(state.db()).isEmpty();
        assertThat(again.getYes()).isTrue();
    }

    @Test
    void shouldVoteNoOnInvalidWritesAndStayQuietWhenNotAParticipant() {
        KvState state = new KvState();

        Vote empty = (Vote) state.apply(prepare("tx1", List.of("W1"), new KvWrite("", "x")), "W1");
        Vote twice = (Vote) state.apply(prepare("tx2", List.of("W1"), new KvWrite("k", "1"), new KvWrite("k", "2")),
            "W1");
        Object outsider = state.apply(prepare("tx3", List.of("W1"), new KvWrite("k", "1")), "W9");

        assertThat(empty.getYes()).isFalse();
        assertThat(twice.getYes()).isFalse();
        assertThat(twice.getReason()).contains("twice");
        assertThat(outsider).isNull();
    }

    @Test
    void shouldAnswerReadsFromTheStateBeforeThemAndHashEqualDatabasesEqually() {
        KvState one = new KvState();
        KvState two = new KvState();
        for (KvState s : List.of(one, two)) {
            s.apply(prepare("tx1", List.of("W1", "W2"), new KvWrite("x", "1"), new KvWrite("y", "2")), "W1");
            s.apply(decide("tx1", Outcome.COMMIT), "W1");
            s.apply(entry(new PoolChange("W3", PoolChangeType.JOINED, List.of("W1", "W2", "W3"), "test", "C1")),
                "W1");
        }

        ReadResult get = (ReadResult) one.apply(read(ReadKind.GET, "x", List.of("W1")), "W1");
        ReadResult missing = (ReadResult) one.apply(read(ReadKind.GET, "nope", List.of("W1")), "W1");
        ReadResult verify = (ReadResult) one.apply(read(ReadKind.VERIFY, null, List.of("W1")), "W1");

        assertThat(get.getFound()).isTrue();
        assertThat(get.getValue()).isEqualTo("1");
        assertThat(missing.getFound()).isFalse();
        assertThat(verify.getHash()).isEqualTo(two.hash()).isNotEqualTo(new KvState().hash());
        assertThat(one.members()).containsExactlyInAnyOrder("W1", "W2", "W3");
        assertThat(one.unknownCommits()).isZero();
    }

    @Test
    void shouldVoteOnceOnAVoteRequestInPartsWithAllItsWritesAndCommitThemAll() {
        KvState state = new KvState();
        List<String> pool = List.of("W1");
        List<KvWrite> first = List.of(new KvWrite("a", "1"), new KvWrite("b", "2"));
        List<KvWrite> second = List.of(new KvWrite("c", "3"));

        Object afterFirst = state.apply(entry(new VoteRequest("tx1", "r", "c", first, pool, "C1", 0, 2)), "W1");
        Object afterLast = state.apply(entry(new VoteRequest("tx1", "r", "c", second, pool, "C1", 1, 2)), "W1");
        // A key of part 0 is locked: another transaction on it is refused until tx1 is decided.
        Object other = state.apply(prepare("tx2", pool, new KvWrite("a", "9")), "W1");
        state.apply(decide("tx1", Outcome.COMMIT), "W1");

        assertThat(afterFirst).isNull();
        assertThat(afterLast).isEqualTo(new Vote("tx1", true, null));
        assertThat(((Vote) other).getYes()).isFalse();
        assertThat(state.db()).containsOnly(java.util.Map.entry("a", "1"), java.util.Map.entry("b", "2"),
            java.util.Map.entry("c", "3"));
    }

    @Test
    void shouldVoteNoOnAPartOfAVoteRequestWhoseFirstPartsItNeverSaw() {
        KvState state = new KvState();
        Object vote = state.apply(entry(new VoteRequest("tx1", "r", "c", List.of(new KvWrite("c", "3")),
            List.of("W1"), "C1", 1, 2)), "W1");

        assertThat(vote).isInstanceOfSatisfying(Vote.class, v -> assertThat(v.getYes()).isFalse());
        assertThat(state.preparedCount()).isZero();
    }
}
