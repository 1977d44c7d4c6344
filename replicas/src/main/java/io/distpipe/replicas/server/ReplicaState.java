package io.distpipe.replicas.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

import io.distpipe.common.PartitionOffset;
import io.distpipe.replicas.Checkpoint;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRequest;

/**
 * The replicated state machine: a status string, the number of requests applied and, per client, the last request
 * number applied. Applying a request is deterministic, so replicas that apply the same requests in the same order
 * hold the same state; a request whose number a client has already had applied is not applied again.
 *
 * <p>{@code position} is the next request-log offset this state has not seen: a state and its position always go
 * together, so loading any checkpoint and replaying the log from its position gives the right state.
 */
public final class ReplicaState {

    /** What applying one request did. */
    public record Outcome(boolean applied, String before, String after) {
    }

    private String status;
    private long applied;
    private final Map<String, Long> lastRequests;
    private long position;

    private ReplicaState(String status, long applied, Map<String, Long> lastRequests, long position) {
        this.status = status;
        this.applied = applied;
        this.lastRequests = new HashMap<>(lastRequests);
        this.position = position;
    }

    /** The state before any request, at the start of the request log. */
    public static ReplicaState initial() {
        return new ReplicaState("0000000000000000", 0, Map.of(), 0);
    }

    public static ReplicaState fromCheckpoint(Checkpoint checkpoint) {
        ReplicaState state = new ReplicaState(checkpoint.getState(), checkpoint.getRequestsApplied(),
            checkpoint.getLastRequests(), checkpoint.getPosition().getOffset());
        if (!state.hash().equals(checkpoint.getStateHash())) {
            throw new IllegalArgumentException("checkpoint #" + checkpoint.getCheckpointNum() + " of "
                + checkpoint.getReplicaId() + " does not match its hash (" + checkpoint.getStateHash() + " != "
                + state.hash() + ")");
        }
        return state;
    }

    public ReplicaState copy() {
        return new ReplicaState(status, applied, lastRequests, position);
    }

    /**
     * Applies the request found at {@code offset} of the request log, unless its client already had this request
     * number (or a later one) applied. A request from before this state's position is ignored altogether: the state
     * already reflects it.
     */
    public Outcome apply(long offset, ReplicaRequest request) {
        String before = status;
        if (offset < position) {
            return new Outcome(false, before, status);
        }
        position = offset + 1;
        long last = lastRequests.getOrDefault(request.getClient(), 0L);
        if (request.getRequestNum() <= last) {
            return new Outcome(false, before, status);
        }
        status = sha256(status + '|' + request.getClient() + '|' + request.getRequestNum() + '|'
            + request.getPayload()).substring(0, 16);
        applied++;
        lastRequests.put(request.getClient(), request.getRequestNum());
        return new Outcome(true, before, status);
    }

    public String status() {
        return status;
    }

    public long applied() {
        return applied;
    }

    public long position() {
        return position;
    }

    public Map<String, Long> lastRequests() {
        return Map.copyOf(lastRequests);
    }

    /** A hash of the whole state (status, count and the per-client numbers), equal on replicas that agree. */
    public String hash() {
        return sha256(status + '|' + applied + '|' + new TreeMap<>(lastRequests)).substring(0, 16);
    }

    public Checkpoint toCheckpoint(String replicaId, long epoch, long checkpointNum, String requestsTopic,
                                   Instant now) {
        return Checkpoint.newBuilder().setReplicaId(replicaId).setEpoch(epoch).setCheckpointNum(checkpointNum)
            .setState(status).setLastRequests(new HashMap<>(lastRequests)).setRequestsApplied(applied)
            .setPosition(new PartitionOffset(requestsTopic, 0, position)).setStateHash(hash()).setCreatedAt(now)
            .build();
    }

    public ReplicaReply reply(String server, ReplicaRequest request, long offset, boolean duplicate, Instant now) {
        return ReplicaReply.newBuilder().setClient(request.getClient()).setServer(server)
            .setRequestNum(request.getRequestNum()).setState(status).setRequestsApplied(applied)
            .setLastRequests(new HashMap<>(lastRequests)).setStateHash(hash()).setDuplicate(duplicate)
            .setRequestOffset(offset).setRepliedAt(now).build();
    }

    @Override
    public String toString() {
        return "state " + status + " (" + applied + " applied, next offset " + position + ", hash " + hash() + ")";
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
