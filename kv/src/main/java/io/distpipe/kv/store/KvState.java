package io.distpipe.kv.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import io.distpipe.kv.Ack;
import io.distpipe.kv.Decision;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvWrite;
import io.distpipe.kv.Outcome;
import io.distpipe.kv.PoolChange;
import io.distpipe.kv.ReadRequest;
import io.distpipe.kv.ReadResult;
import io.distpipe.kv.Vote;
import io.distpipe.kv.VoteRequest;

/**
 * The deterministic state machine every worker runs over the coordinator's log: the database, the transactions that
 * voted and wait for a decision, the keys they lock, and the pool of voters. Two workers that applied the same log
 * prefix hold the same state, which is why any of them can answer a read placed in the log.
 */
public final class KvState {

    public static final int MAX_KEY_CHARS = 1024;
    public static final int MAX_VALUE_CHARS = 64 * 1024;

    private final Map<String, String> db = new HashMap<>();
    private final Map<String, VoteRequest> prepared = new HashMap<>();
    private final Map<String, String> locks = new HashMap<>();
    private final Set<String> members = new TreeSet<>();
    /** The parts of a vote request seen so far: one Kafka transaction wrote them all, in order. */
    private final Chunks.Assembler<VoteRequest> voteParts = new Chunks.Assembler<>();
    private long commits;
    private long aborts;
    private long unknownCommits;

    /**
     * Applies one log entry and returns what worker {@code self} has to send about it: a {@link Vote}, an
     * {@link Ack}, a {@link ReadResult}, or null when it has nothing to say.
     */
    public Object apply(KvLogEntry entry, String self) {
        Object payload = entry.getPayload();
        if (payload instanceof VoteRequest part) {
            Chunks.Assembler.Added<VoteRequest> added = voteParts.add(part.getTxId(), part.getPart(),
                part.getParts(), part);
            if (added.orphan()) {
                // Cannot happen while the coordinator writes all parts in one Kafka transaction; vote no, not never.
                return part.getParticipants().contains(self) ? new Vote(part.getTxId(), false,
                    "part " + part.getPart() + " of the vote request arrived without the parts before it") : null;
            }
            return added.complete() == null ? null : prepare(whole(added.complete()), self);
        }
        if (payload instanceof Decision decision) {
            return decide(decision, self);
        }
        if (payload instanceof ReadRequest read) {
            return read.getTargets().contains(self) ? read(read) : null;
        }
        if (payload instanceof PoolChange change) {
            members.clear();
            members.addAll(change.getMembers());
            return null;
        }
        throw new IllegalArgumentException("Unknown log entry " + payload);
    }

    private static VoteRequest whole(List<VoteRequest> parts) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        List<KvWrite> writes = new ArrayList<>();
        parts.forEach(p -> writes.addAll(p.getWrites()));
        return VoteRequest.newBuilder(parts.get(parts.size() - 1)).setWrites(writes).setPart(0).setParts(1).build();
    }

    private Vote prepare(VoteRequest request, String self) {
        String reason = invalid(request.getWrites());
        if (reason == null) {
            for (KvWrite write : request.getWrites()) {
                String holder = locks.get(write.getKey());
                if (holder != null && !holder.equals(request.getTxId())) {
                    reason = "key '" + write.getKey() + "' is locked by transaction " + holder;
                    break;
                }
            }
        }
        if (reason == null) {
            prepared.put(request.getTxId(), request);
            for (KvWrite write : request.getWrites()) {
                locks.put(write.getKey(), request.getTxId());
            }
        }
        return request.getParticipants().contains(self) ? new Vote(request.getTxId(), reason == null, reason) : null;
    }

    private Ack decide(Decision decision, String self) {
        VoteRequest request = prepared.remove(decision.getTxId());
        if (request != null) {
            for (KvWrite write : request.getWrites()) {
                locks.remove(write.getKey(), request.getTxId());
            }
        }
        if (decision.getOutcome() == Outcome.ABORT) {
            aborts++;
            return null;
        }
        if (request == null) {
            // Cannot happen while every worker replays the whole log: the coordinator commits only after all yes.
            unknownCommits++;
            return null;
        }
        for (KvWrite write : request.getWrites()) {
            db.put(write.getKey(), write.getValue());
        }
        commits++;
        return request.getParticipants().contains(self) ? new Ack(decision.getTxId(), Outcome.COMMIT) : null;
    }

    private ReadResult read(ReadRequest read) {
        ReadResult.Builder result = ReadResult.newBuilder().setReadId(read.getReadId()).setFound(false)
            .setValue(null).setEntries(null).setSize(db.size()).setHash("");
        switch (read.getKind()) {
            case GET -> {
                String value = db.get(read.getKey());
                result.setFound(value != null).setValue(value);
            }
            case DB -> result.setFound(true).setEntries(new TreeMap<>(db));
            case VERIFY -> result.setFound(true).setHash(hash());
            case SYNC -> result.setFound(true);
            default -> throw new IllegalArgumentException("Unknown read kind " + read.getKind());
        }
        return result.build();
    }

    /** Why a set of writes cannot commit anywhere (empty, a bad key or value, a key twice), or null. */
    public static String invalid(List<KvWrite> writes) {
        if (writes.isEmpty()) {
            return "a transaction needs at least one write";
        }
        Set<String> keys = new HashSet<>();
        for (KvWrite write : writes) {
            String key = write.getKey();
            if (key == null || key.isEmpty() || key.length() > MAX_KEY_CHARS || key.chars().anyMatch(
                Character::isWhitespace)) {
                return "key '" + key + "' is invalid (1 to " + MAX_KEY_CHARS + " characters, no whitespace)";
            }
            if (write.getValue() == null || write.getValue().length() > MAX_VALUE_CHARS) {
                return "the value of key '" + key + "' is missing or longer than " + MAX_VALUE_CHARS + " characters";
            }
            if (!keys.add(key)) {
                return "key '" + key + "' appears twice in one transaction";
            }
        }
        return null;
    }

    /** SHA-256 over the database in key order; equal databases have equal hashes. */
    public String hash() {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, String> e : new TreeMap<>(db).entrySet()) {
                digest.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                digest.update((byte) 0);
                digest.update(e.getValue().getBytes(StandardCharsets.UTF_8));
                digest.update((byte) '\n');
            }
            return HexFormat.of().formatHex(digest.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public Map<String, String> db() {
        return Map.copyOf(db);
    }

    public Set<String> members() {
        return Set.copyOf(members);
    }

    public int size() {
        return db.size();
    }

    public int preparedCount() {
        return prepared.size();
    }

    public long commits() {
        return commits;
    }

    public long aborts() {
        return aborts;
    }

    /** COMMIT decisions for transactions this state never prepared; non-zero means the log is inconsistent. */
    public long unknownCommits() {
        return unknownCommits;
    }
}
