package io.distpipe.replicas.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.server.RepliesAudit.Logged;
import org.junit.jupiter.api.Test;

class RepliesAuditTest {

    private static Logged reply(long offset, String server, String client, long num, long requestOffset, long place,
                                String hash) {
        return new Logged(offset, ReplicaReply.newBuilder().setClient(client).setServer(server).setRequestNum(num)
            .setState("s").setRequestsApplied(place).setLastRequests(Map.of(client, num)).setStateHash(hash)
            .setDuplicate(false).setRequestOffset(requestOffset).setRepliedAt(Instant.EPOCH).build());
    }

    @Test
    void shouldAcceptANewPrimaryReplayingTheRequestsAfterItsCheckpoint() {
        List<Logged> replies = List.of(reply(0, "S1", "C1", 1, 0, 1, "a"), reply(1, "S1", "C2", 1, 1, 2, "b"),
            reply(2, "S2", "C2", 1, 1, 2, "b"), reply(3, "S2", "C1", 2, 2, 3, "c"));

        assertThat(RepliesAudit.oneHistory(replies)).isEmpty();
        assertThat(RepliesAudit.nothingFromReplacedAfterSuccessor(replies, "S1", "S2", 0, 4)).isEmpty();
    }

    @Test
    void shouldReportTwoRequestsAcknowledgedAtTheSamePlace() {
        List<Logged> replies = List.of(reply(0, "S1", "C1", 1, 0, 1, "a"), reply(1, "S1", "C1", 2, 1, 2, "b"),
            reply(2, "S2", "C2", 1, 2, 2, "x"));

        assertThat(RepliesAudit.oneHistory(replies)).singleElement().asString()
            .startsWith("two histories at place 2: C1#2 by S1").contains("C2#1 by S2");
    }

    @Test
    void shouldReportTwoStatesForTheSameRequest() {
        List<Logged> replies = List.of(reply(0, "S1", "C1", 1, 0, 1, "a"), reply(1, "S2", "C1", 1, 0, 1, "z"));

        assertThat(RepliesAudit.oneHistory(replies)).anyMatch(p -> p.startsWith("two answers to the request at log "
            + "offset 0"));
    }

    @Test
    void shouldReportAReplacedPrimaryThatAcknowledgesAfterItsSuccessor() {
        List<Logged> replies = List.of(reply(5, "S1", "C1", 1, 0, 1, "a"), reply(6, "S2", "C1", 2, 1, 2, "b"),
            reply(7, "S1", "C2", 1, 2, 3, "c"), reply(9, "S1", "C2", 2, 3, 4, "d"));

        assertThat(RepliesAudit.nothingFromReplacedAfterSuccessor(replies, "S1", "S2", 5, 9)).singleElement()
            .asString().startsWith("S1 acknowledged after its successor S2 had: C2#1 by S1 (reply offset 7");
        assertThat(RepliesAudit.nothingFromReplacedAfterSuccessor(replies, "S1", "S3", 0, 10)).singleElement()
            .asString().isEqualTo("no committed reply from S3 at offsets 0 to 10");
    }
}
