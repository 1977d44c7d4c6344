package io.distpipe.replicas.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.replicas.ReplicaReply;

/**
 * Checks client histories against the final state of the live replicas: no acknowledged request lost, none applied
 * twice, every applied request sent by a client, replicas agreeing on the state after each request and at the end.
 *
 * <p>Clients send one request at a time and number them 1, 2, 3..., so a state whose per-client last numbers sum to
 * its count of applied requests has applied each of those requests exactly once.
 */
public final class HistoryChecker {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The outcome: {@code problems} is empty when the histories are correct. */
    public record Verdict(List<String> problems, int clients, long invoked, long acknowledged, long applied,
                          String finalHash, int liveReplicas) {

        public boolean ok() {
            return problems.isEmpty();
        }

        public String summary() {
            return String.format("%d clients, %d requests sent, %d acknowledged, %d applied by the live replicas "
                    + "(%d agreeing on state %s): %s", clients, invoked, acknowledged, applied, liveReplicas, finalHash,
                ok() ? "no acknowledged request lost or applied twice" : problems.size() + " problem(s)");
        }
    }

    private HistoryChecker() {
    }

    public static Verdict check(Collection<Path> histories, List<ReplicaReply> finalStates) throws IOException {
        List<JsonNode> events = new ArrayList<>();
        for (Path file : histories) {
            for (String line : Files.readAllLines(file)) {
                if (!line.isBlank()) {
                    events.add(JSON.readTree(line));
                }
            }
        }
        return check(events, finalStates);
    }

    static Verdict check(List<JsonNode> events, List<ReplicaReply> finalStates) {
        List<String> problems = new ArrayList<>();
        Map<String, Long> maxInvoked = new TreeMap<>();
        Map<String, Long> maxAcked = new TreeMap<>();
        Map<String, JsonNode> acks = new HashMap<>();
        Map<Long, String> byPosition = new HashMap<>();
        long invoked = 0;
        for (JsonNode e : events) {
            String client = e.path("client").asText();
            long n = e.path("requestNum").asLong();
            String type = e.path("type").asText();
            String request = client + "#" + n;
            switch (type) {
                case "invoke" -> {
                    invoked++;
                    maxInvoked.merge(client, n, Math::max);
                }
                case "ok" -> {
                    if (acks.putIfAbsent(request, e) != null) {
                        problems.add(request + " was acknowledged twice");
                    }
                    if (n > maxInvoked.getOrDefault(client, 0L)) {
                        problems.add(request + " was acknowledged before it was sent");
                    }
                    maxAcked.merge(client, n, Math::max);
                    if (!e.path("duplicate").asBoolean()) {
                        long position = e.path("applied").asLong();
                        String other = byPosition.putIfAbsent(position, request);
                        if (other != null && !other.equals(request)) {
                            problems.add(request + " and " + other + " were both reported as request number "
                                + position + " applied");
                        }
                    }
                }
                case "info" -> {
                    if (e.path("value").asText().contains("disagree")) {
                        problems.add(request + ": " + e.path("value").asText());
                    }
                }
                case "fail" -> {
                }
                default -> problems.add("unknown event type '" + type + "' for " + request);
            }
        }
        if (finalStates.isEmpty()) {
            problems.add("no live replica reported its state");
            return new Verdict(problems, maxInvoked.size(), invoked, acks.size(), 0, "none", 0);
        }
        ReplicaReply last = finalStates.get(0);
        for (ReplicaReply other : finalStates) {
            if (!other.getStateHash().equals(last.getStateHash())) {
                problems.add("live replicas disagree: " + last.getServer() + " has " + last.getStateHash() + ", "
                    + other.getServer() + " has " + other.getStateHash());
            }
        }
        Map<String, Long> applied = last.getLastRequests();
        long sum = applied.values().stream().mapToLong(Long::longValue).sum();
        if (sum != last.getRequestsApplied()) {
            problems.add(last.getServer() + " applied " + last.getRequestsApplied() + " requests but the clients' last "
                + "applied numbers sum to " + sum + ": a request was applied twice or skipped");
        }
        maxAcked.forEach((client, n) -> {
            long have = applied.getOrDefault(client, 0L);
            if (have < n) {
                problems.add("acknowledged request " + client + "#" + n + " is lost: the final state has only "
                    + client + " up to #" + have);
            }
        });
        applied.forEach((client, n) -> {
            if (maxInvoked.containsKey(client) && n > maxInvoked.get(client)) {
                problems.add("the final state has " + client + "#" + n + " applied, but " + client
                    + " sent only up to #"
                    + maxInvoked.get(client));
            }
        });
        for (Map.Entry<Long, String> p : byPosition.entrySet()) {
            if (p.getKey() > last.getRequestsApplied()) {
                problems.add(p.getValue() + " was acknowledged as request number " + p.getKey() + " applied, but the "
                    + "final state has only " + last.getRequestsApplied());
            }
        }
        return new Verdict(problems, maxInvoked.size(), invoked, acks.size(), last.getRequestsApplied(),
            last.getStateHash(), finalStates.size());
    }
}
