package io.distpipe.kv.store;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks that a recorded {@link History} is linearizable, one key at a time: for every key there is a total order of
 * its writes and reads, consistent with real time (an operation that ended before another began comes first), in
 * which every read returns the latest write before it (or none: the key starts absent).
 *
 * <p>The search is Wing and Gong's, with Lowe's cache of (operations linearized, value) configurations already
 * explored, as in Jepsen's Knossos and Porcupine: walk the operations in order of invocation, linearize the first
 * pending one the register allows, backtrack at a completion whose operation could not be placed.
 *
 * <p>What counts: an {@code ok} write took effect inside its interval; a {@code fail} write certainly did not (the
 * store aborted it) and is left out; an {@code info} write (no answer) may have taken effect at any time after its
 * invocation, or never (it is placed, if needed, after everything else). An {@code ok} get is a read of its key
 * ({@code null}: not found) and an {@code ok} db a read of every key it shows (keys it does not show are not checked:
 * a db is wider than one key). Reads without an answer tell nothing and are left out. A multi-key write is one write
 * per key with the same interval: the check is per key, so it does not prove a multiset atomic across keys (that is
 * {@link HistoryChecker}'s and the ITs' job).
 */
public final class Linearizability {

    /** The search explores at most this many configurations per key before it gives up (a result, not a hang). */
    public static final int DEFAULT_BUDGET = 2_000_000;

    /** What the check found: {@code linearizable} only when every key was checked and none failed. */
    public record Result(boolean linearizable, int keys, int operations, List<String> failures,
                         List<String> undecided) {
        public String summary() {
            if (linearizable) {
                return "linearizable: " + operations + " operations on " + keys + " keys";
            }
            return "NOT shown linearizable: " + operations + " operations on " + keys + " keys; "
                + failures.size() + " keys fail" + (failures.isEmpty() ? "" : " (first: " + failures.get(0) + ")")
                + (undecided.isEmpty() ? "" : "; " + undecided.size() + " keys undecided within the search budget"
                + " (first: " + undecided.get(0) + ")");
        }
    }

    /** One operation on one key; {@code returnNs} is {@link Long#MAX_VALUE} when it may still take effect. */
    private record Op(int id, boolean write, String value, long callNs, long returnNs, String process, long index) {
        String describe() {
            return (write ? "write " : "read ") + value + " by " + process + " (history index " + index + ")";
        }
    }

    /** A call or return event of the doubly linked list the search lifts operations out of. */
    private static final class Entry {
        final Op op;
        final boolean call;
        Entry match;
        Entry prev;
        Entry next;

        Entry(Op op, boolean call) {
            this.op = op;
            this.call = call;
        }
    }

    private Linearizability() {
    }

    /** Checks {@code ops}, every key starting absent, with the default search budget. */
    public static Result check(List<History.Op> ops) {
        return check(ops, Map.of(), DEFAULT_BUDGET);
    }

    /** Checks {@code ops}; {@code initial} holds the keys that exist before the history starts. */
    public static Result check(List<History.Op> ops, Map<String, String> initial, int budget) {
        Map<String, List<Op>> byKey = perKey(ops);
        List<String> failures = new ArrayList<>();
        List<String> undecided = new ArrayList<>();
        int operations = 0;
        for (Map.Entry<String, List<Op>> e : byKey.entrySet()) {
            operations += e.getValue().size();
            Boolean ok = search(e.getValue(), initial.get(e.getKey()), budget);
            if (ok == null) {
                undecided.add(e.getKey() + " (" + e.getValue().size() + " operations)");
            } else if (!ok) {
                failures.add(e.getKey() + ": " + explain(e.getValue(), initial.get(e.getKey())));
            }
        }
        return new Result(failures.isEmpty() && undecided.isEmpty(), byKey.size(), operations, failures,
            undecided);
    }

    /** Pairs invocations with completions (per process, which runs one operation at a time) and splits per key. */
    private static Map<String, List<Op>> perKey(List<History.Op> ops) {
        Map<String, History.Op> open = new HashMap<>();
        Map<String, List<Op>> byKey = new TreeMap<>();
        int[] ids = new int[1];
        for (History.Op op : ops) {
            if (op.type().equals("invoke")) {
                History.Op earlier = open.put(op.process(), op);
                if (earlier != null) {
                    add(byKey, ids, earlier, "info", null, Long.MAX_VALUE);
                }
                continue;
            }
            History.Op invoke = open.remove(op.process());
            if (invoke == null) {
                throw new IllegalArgumentException("history index " + op.index() + ": a completion by "
                    + op.process() + " without an invocation");
            }
            add(byKey, ids, invoke, op.type(), op.values(), op.timeNs());
        }
        open.values().forEach(invoke -> add(byKey, ids, invoke, "info", null, Long.MAX_VALUE));
        return byKey;
    }

    private static void add(Map<String, List<Op>> byKey, int[] ids, History.Op invoke, String type,
                            Map<String, String> completed, long completedNs) {
        boolean write = invoke.f().equals("write");
        if (write) {
            if (type.equals("fail") || invoke.values() == null) {
                return;
            }
            long returnNs = type.equals("ok") ? completedNs : Long.MAX_VALUE;
            invoke.values().forEach((k, v) -> byKey.computeIfAbsent(k, x -> new ArrayList<>())
                .add(new Op(ids[0]++, true, v, invoke.timeNs(), returnNs, invoke.process(), invoke.index())));
        } else if (type.equals("ok") && completed != null) {
            completed.forEach((k, v) -> byKey.computeIfAbsent(k, x -> new ArrayList<>())
                .add(new Op(ids[0]++, false, v, invoke.timeNs(), completedNs, invoke.process(), invoke.index())));
        }
    }

    /** True if linearizable, false if not, null if the budget ran out first. */
    private static Boolean search(List<Op> ops, String initial, int budget) {
        int n = ops.size();
        Map<Integer, Integer> slot = new HashMap<>();
        for (int i = 0; i < n; i++) {
            slot.put(ops.get(i).id(), i);
        }
        Entry head = list(ops);
        BitSet linearized = new BitSet(n);
        Set<Configuration> seen = new HashSet<>();
        Deque<Entry> calls = new ArrayDeque<>();
        Deque<String> values = new ArrayDeque<>();
        String value = initial;
        Entry entry = head.next;
        int explored = 0;
        while (head.next != null) {
            if (++explored > budget) {
                return null;
            }
            if (entry.call) {
                Op op = entry.op;
                boolean allowed = op.write() || Objects.equals(op.value(), value);
                if (allowed) {
                    String after = op.write() ? op.value() : value;
                    BitSet next = (BitSet) linearized.clone();
                    next.set(slot.get(op.id()));
                    if (seen.add(new Configuration(next, after))) {
                        calls.push(entry);
                        values.push(value == null ? NONE : value);
                        value = after;
                        linearized = next;
                        lift(entry);
                        entry = head.next;
                        continue;
                    }
                }
                entry = entry.next;
            } else {
                // A completion of an operation that is not linearized yet: what came before must change.
                if (calls.isEmpty()) {
                    return false;
                }
                Entry undone = calls.pop();
                String before = values.pop();
                value = before == NONE ? null : before;
                linearized = (BitSet) linearized.clone();
                linearized.clear(slot.get(undone.op.id()));
                unlift(undone);
                entry = undone.next;
            }
        }
        return true;
    }

    /** Marks the absent value on the stack of values (an {@link ArrayDeque} holds no null). */
    private static final String NONE = new String("(absent)");

    private record Configuration(BitSet linearized, String value) {
    }

    /** The calls and returns in time order; a call before a return at the same instant (they overlap). */
    private static Entry list(List<Op> ops) {
        List<Entry> entries = new ArrayList<>();
        for (Op op : ops) {
            Entry call = new Entry(op, true);
            Entry ret = new Entry(op, false);
            call.match = ret;
            ret.match = call;
            entries.add(call);
            entries.add(ret);
        }
        entries.sort(Comparator.<Entry>comparingLong(e -> e.call ? e.op.callNs() : e.op.returnNs())
            .thenComparing(e -> e.call ? 0 : 1));
        Entry head = new Entry(null, false);
        Entry last = head;
        for (Entry e : entries) {
            last.next = e;
            e.prev = last;
            last = e;
        }
        return head;
    }

    private static void lift(Entry call) {
        call.prev.next = call.next;
        call.next.prev = call.prev;
        Entry ret = call.match;
        ret.prev.next = ret.next;
        if (ret.next != null) {
            ret.next.prev = ret.prev;
        }
    }

    private static void unlift(Entry call) {
        Entry ret = call.match;
        ret.prev.next = ret;
        if (ret.next != null) {
            ret.next.prev = ret;
        }
        call.prev.next = call;
        call.next.prev = call;
    }

    /** A read no write explains, or the first read that shows an older value than one acknowledged before it. */
    private static String explain(List<Op> ops, String initial) {
        for (Op read : ops) {
            if (read.write()) {
                continue;
            }
            boolean written = Objects.equals(read.value(), initial) || ops.stream().anyMatch(w -> w.write()
                && Objects.equals(w.value(), read.value()) && w.callNs() <= read.returnNs());
            if (!written) {
                return read.describe() + " shows a value no write before it wrote";
            }
        }
        return "no order of its " + ops.size() + " operations agrees with real time and with every read";
    }
}
