package io.distpipe.replicas.server;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.distpipe.replicas.ReplicaReply;

/**
 * Audits the committed replies of passive replication (replicas.replies read with read_committed, in log order),
 * independently of what the clients made of them: the replies form one history, and a primary that was replaced
 * acknowledges nothing after its successor began to.
 */
public final class RepliesAudit {

    /** A committed reply and its offset in the replies log. */
    public record Logged(long offset, ReplicaReply reply) {
        public Logged {
            Objects.requireNonNull(reply, "reply");
        }
    }

    private RepliesAudit() {
    }

    /**
     * One history: every reply that applied a request (not a duplicate) at the same place in the order
     * ({@code requestsApplied}) names the same request and the same state, whichever primary sent it (a new primary
     * replays, and so answers again, the requests after its checkpoint); the same holds per request-log offset.
     */
    public static List<String> oneHistory(List<Logged> replies) {
        List<String> problems = new ArrayList<>();
        Map<Long, Logged> byPlace = new HashMap<>();
        Map<Long, Logged> byRequestOffset = new HashMap<>();
        for (Logged l : replies) {
            ReplicaReply r = l.reply();
            if (r.getDuplicate()) {
                continue;
            }
            Logged first = byPlace.putIfAbsent(r.getRequestsApplied(), l);
            if (first != null && !(request(first).equals(request(l))
                && first.reply().getStateHash().equals(r.getStateHash()))) {
                problems.add("two histories at place " + r.getRequestsApplied() + ": " + describe(first) + " and "
                    + describe(l));
            }
            Logged sameRequest = byRequestOffset.putIfAbsent(r.getRequestOffset(), l);
            if (sameRequest != null && !(request(sameRequest).equals(request(l))
                && sameRequest.reply().getRequestsApplied() == r.getRequestsApplied()
                && sameRequest.reply().getStateHash().equals(r.getStateHash()))) {
                problems.add("two answers to the request at log offset " + r.getRequestOffset() + ": "
                    + describe(sameRequest) + " and " + describe(l));
            }
        }
        return problems;
    }

    /**
     * No two primaries acknowledge at once: among the replies at log offsets in {@code [from, to)}, none from
     * {@code replaced} comes after the first one from {@code successor}. {@code to} bounds the check to the time
     * before {@code replaced} could legitimately become primary again.
     */
    public static List<String> nothingFromReplacedAfterSuccessor(List<Logged> replies, String replaced,
                                                                 String successor, long from, long to) {
        List<String> problems = new ArrayList<>();
        Logged firstOfSuccessor = null;
        for (Logged l : replies) {
            if (l.offset() < from || l.offset() >= to) {
                continue;
            }
            String server = l.reply().getServer();
            if (firstOfSuccessor == null && server.equals(successor)) {
                firstOfSuccessor = l;
            } else if (firstOfSuccessor != null && server.equals(replaced)) {
                problems.add(replaced + " acknowledged after its successor " + successor + " had: "
                    + describe(l) + " after " + describe(firstOfSuccessor));
            }
        }
        if (firstOfSuccessor == null) {
            problems.add("no committed reply from " + successor + " at offsets " + from + " to " + to);
        }
        return problems;
    }

    private static String request(Logged l) {
        return l.reply().getClient() + "#" + l.reply().getRequestNum();
    }

    private static String describe(Logged l) {
        ReplicaReply r = l.reply();
        return request(l) + " by " + r.getServer() + " (reply offset " + l.offset() + ", request offset "
            + r.getRequestOffset() + ", place " + r.getRequestsApplied() + ", state " + r.getStateHash() + ")";
    }
}
