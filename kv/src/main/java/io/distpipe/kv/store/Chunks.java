package io.distpipe.kv.store;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvWrite;
import io.distpipe.kv.ReadResult;
import io.distpipe.kv.Vote;

/**
 * The size rules of the key-value store: one request's limit, and how writes and database entries are cut into parts
 * so that no record the store sends comes near the producer's max.request.size (1 MiB by default).
 */
public final class Chunks {

    /** One request's limit: the UTF-8 bytes of all its keys and values. */
    public static final int MAX_REQUEST_BYTES = 1 << 20;

    /**
     * The most one part may hold, in Avro bytes (an upper bound: {@link #encodedSize}); a part's record then stays far
     * below the producer's 1 MiB whatever else it carries. One write (a key of 1 024 characters, a value of 64 Ki
     * characters, 3 UTF-8 bytes each at most) is below it, so a part is never empty.
     */
    public static final int PART_BYTES = 256 * 1024;

    /**
     * The largest record a component sends as it is: larger ones are answered by an error instead (a worker's
     * defence if a part were ever larger than planned), below the producer's default max.request.size.
     */
    public static final int MAX_RECORD_BYTES = 1_000_000;

    private Chunks() {
    }

    /** The UTF-8 bytes of a string, without encoding it. */
    public static int utf8Length(CharSequence s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    /** The bytes of keys and values a transaction holds: what {@link #MAX_REQUEST_BYTES} limits. */
    public static long requestBytes(List<KvWrite> writes) {
        long n = 0;
        for (KvWrite w : writes) {
            n += utf8Length(w.getKey()) + utf8Length(w.getValue());
        }
        return n;
    }

    /** Why a request of {@code bytes} bytes of keys and values is refused, or null if it is within the limit. */
    public static String refusal(long bytes) {
        if (bytes <= MAX_REQUEST_BYTES) {
            return null;
        }
        return String.format("refused: the request holds %,d bytes of keys and values, above one request's "
            + "limit of %,d (1 MiB); nothing was written", bytes, MAX_REQUEST_BYTES);
    }

    /** An upper bound of one key and value in Avro: their UTF-8 bytes and two length prefixes of at most 5 bytes. */
    public static int encodedSize(String key, String value) {
        return utf8Length(key) + (value == null ? 1 : utf8Length(value)) + 10;
    }

    /** The writes cut into consecutive parts of at most {@code partBytes} each (at least one part, in order). */
    public static List<List<KvWrite>> splitWrites(List<KvWrite> writes, int partBytes) {
        List<List<KvWrite>> parts = new ArrayList<>();
        List<KvWrite> part = new ArrayList<>();
        int size = 0;
        for (KvWrite w : writes) {
            int s = encodedSize(w.getKey(), w.getValue());
            if (!part.isEmpty() && size + s > partBytes) {
                parts.add(part);
                part = new ArrayList<>();
                size = 0;
            }
            part.add(w);
            size += s;
        }
        parts.add(part);
        return parts;
    }

    /**
     * The entries, in key order, cut into parts of at most {@code partBytes} each; an empty or null map is one part
     * (null stays null).
     */
    public static List<Map<String, String>> splitEntries(Map<String, String> entries, int partBytes) {
        List<Map<String, String>> parts = new ArrayList<>();
        if (entries == null) {
            parts.add(null);
            return parts;
        }
        Map<String, String> part = new LinkedHashMap<>();
        int size = 0;
        for (Map.Entry<String, String> e : new TreeMap<>(entries).entrySet()) {
            int s = encodedSize(e.getKey(), e.getValue());
            if (!part.isEmpty() && size + s > partBytes) {
                parts.add(part);
                part = new LinkedHashMap<>();
                size = 0;
            }
            part.put(e.getKey(), e.getValue());
            size += s;
        }
        parts.add(part);
        return parts;
    }

    /** A worker's answer in parts: a DB result's entries cut into parts of {@code partBytes}, any other as it is. */
    public static List<Object> answerParts(Object answer, int partBytes) {
        if (!(answer instanceof ReadResult result) || result.getEntries() == null) {
            return List.of(answer);
        }
        List<Map<String, String>> entries = splitEntries(result.getEntries(), partBytes);
        List<Object> parts = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            parts.add(ReadResult.newBuilder(result).setEntries(entries.get(i)).setPart(i).setParts(entries.size())
                .build());
        }
        return parts;
    }

    /** The parts of one worker's answer, joined (in part order). */
    public static ReadResult joinResults(List<ReadResult> parts) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        Map<String, String> entries = new LinkedHashMap<>();
        parts.forEach(p -> entries.putAll(p.getEntries()));
        return ReadResult.newBuilder(parts.get(0)).setEntries(entries).setPart(0).setParts(1).build();
    }

    /**
     * What a worker sends instead of an answer too large to send, so that it answers the log entry rather than fail
     * on it again after every restart: an error result for a read, a no for a vote; null (nothing) otherwise.
     */
    public static Object tooLarge(Object answer, String why) {
        if (answer instanceof ReadResult result) {
            return ReadResult.newBuilder(result).setFound(false).setValue(null).setEntries(null).setPart(0)
                .setParts(1).setError(why).build();
        }
        if (answer instanceof Vote vote) {
            return new Vote(vote.getTxId(), false, why);
        }
        return null;
    }

    /** A reply in parts: a DB reply's entries cut into parts of {@code partBytes}, any other reply as it is. */
    public static List<KvReply> replyParts(KvReply reply, int partBytes) {
        if (reply.getEntries() == null) {
            return List.of(reply);
        }
        List<Map<String, String>> entries = splitEntries(reply.getEntries(), partBytes);
        List<KvReply> parts = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            parts.add(KvReply.newBuilder(reply).setEntries(entries.get(i)).setPart(i).setParts(entries.size())
                .build());
        }
        return parts;
    }

    /** The parts of one reply, joined (in part order). */
    public static KvReply joinReplies(List<KvReply> parts) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        Map<String, String> entries = new LinkedHashMap<>();
        parts.forEach(p -> entries.putAll(p.getEntries()));
        return KvReply.newBuilder(parts.get(0)).setEntries(entries).setPart(0).setParts(1).build();
    }

    /**
     * Collects the parts of messages that arrive in pieces, by an id: {@link #add} returns all parts in order once
     * the last is there. A part 0 starts the message again (an answer sent anew); a part with no start before it,
     * or whose count disagrees, is an orphan ({@link Added#orphan}).
     */
    public static final class Assembler<T> {

        /** What {@link #add} made of a part: the whole message once complete, or an orphan, or neither (wait). */
        public record Added<T>(List<T> complete, boolean orphan) {
        }

        private final Map<String, List<T>> partial = new LinkedHashMap<>();
        private final Map<String, Integer> expected = new LinkedHashMap<>();

        public Added<T> add(String id, int part, int parts, T value) {
            if (parts <= 1 && part == 0) {
                partial.remove(id);
                expected.remove(id);
                return new Added<>(List.of(value), false);
            }
            if (part == 0) {
                partial.put(id, new ArrayList<>());
                expected.put(id, parts);
            }
            List<T> got = partial.get(id);
            if (got == null || expected.get(id) != parts || got.size() != part) {
                partial.remove(id);
                expected.remove(id);
                return new Added<>(null, true);
            }
            got.add(value);
            if (got.size() < parts) {
                return new Added<>(null, false);
            }
            partial.remove(id);
            expected.remove(id);
            return new Added<>(got, false);
        }

        /** Forgets the parts collected under {@code id}. */
        public void remove(String id) {
            partial.remove(id);
            expected.remove(id);
        }

        /** Whether parts of {@code id} wait for the rest. */
        public boolean waiting(String id) {
            return partial.containsKey(id);
        }

        public int size() {
            return partial.size();
        }

        public void clear() {
            partial.clear();
            expected.clear();
        }
    }
}
