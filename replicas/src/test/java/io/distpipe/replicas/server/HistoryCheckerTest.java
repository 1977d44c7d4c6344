package io.distpipe.replicas.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.replicas.ReplicaReply;
import org.junit.jupiter.api.Test;

class HistoryCheckerTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<JsonNode> events = new ArrayList<>();

    private void invoke(String client, long n) {
        events.add(JSON.createObjectNode().put("client", client).put("requestNum", n).put("type", "invoke"));
    }

    private void ok(String client, long n, long applied) {
        events.add(JSON.createObjectNode().put("client", client).put("requestNum", n).put("type", "ok")
            .put("applied", applied).put("duplicate", false));
    }

    private static ReplicaReply finalState(String server, Map<String, Long> last, long applied, String hash) {
        return ReplicaReply.newBuilder().setClient("probe").setServer(server).setRequestNum(1).setState("s")
            .setRequestsApplied(applied).setLastRequests(last).setStateHash(hash).setDuplicate(false)
            .setRequestOffset(9).setRepliedAt(Instant.EPOCH).build();
    }

    @Test
    void shouldAcceptACorrectHistory() {
        invoke("C1", 1);
        ok("C1", 1, 1);
        invoke("C2", 1);
        ok("C2", 1, 2);
        invoke("C1", 2);
        HistoryChecker.Verdict v = HistoryChecker.check(events, List.of(
            finalState("S1", Map.of("C1", 2L, "C2", 1L), 3, "h"),
            finalState("S2", Map.of("C1", 2L, "C2", 1L), 3, "h")));
        assertThat(v.problems()).isEmpty();
        assertThat(v.acknowledged()).isEqualTo(2);
    }

    @Test
    void shouldReportALostAcknowledgedRequest() {
        invoke("C1", 1);
        ok("C1", 1, 1);
        invoke("C1", 2);
        ok("C1", 2, 2);
        HistoryChecker.Verdict v = HistoryChecker.check(events, List.of(finalState("S1", Map.of("C1", 1L), 1, "h")));
        assertThat(v.ok()).isFalse();
        assertThat(v.problems()).anyMatch(p -> p.contains("C1#2 is lost"));
    }

    @Test
    void shouldReportARequestAppliedTwice() {
        invoke("C1", 1);
        ok("C1", 1, 1);
        invoke("C2", 1);
        ok("C2", 1, 1);
        HistoryChecker.Verdict v = HistoryChecker.check(events, List.of(
            finalState("S1", Map.of("C1", 1L, "C2", 1L), 3, "h")));
        assertThat(v.problems()).anyMatch(p -> p.contains("both reported")).anyMatch(p -> p.contains("applied twice"));
    }

    @Test
    void shouldReportReplicasThatDisagree() {
        invoke("C1", 1);
        ok("C1", 1, 1);
        HistoryChecker.Verdict v = HistoryChecker.check(events, List.of(finalState("S1", Map.of("C1", 1L), 1, "a"),
            finalState("S3", Map.of("C1", 1L), 1, "b")));
        assertThat(v.problems()).anyMatch(p -> p.contains("disagree"));
    }
}
