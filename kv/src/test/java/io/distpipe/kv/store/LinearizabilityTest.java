package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

class LinearizabilityTest {

    private final List<History.Op> ops = new ArrayList<>();

    private void op(String process, String type, String f, Map<String, String> values, long timeNs) {
        ops.add(new History.Op(ops.size(), process, type, f, values, timeNs, null));
    }

    private static Map<String, String> kv(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(key, value);
        return m;
    }

    /** A write of key=value by process from start to end, ending with type (ok, fail, info). */
    private void write(String process, String key, String value, long start, long end, String type) {
        op(process, "invoke", "write", kv(key, value), start);
        op(process, type, "write", kv(key, value), end);
    }

    private void get(String process, String key, String value, long start, long end) {
        op(process, "invoke", "get", null, start);
        op(process, "ok", "get", kv(key, value), end);
    }

    private Linearizability.Result check() {
        List<History.Op> sorted = new ArrayList<>(ops);
        sorted.sort(Comparator.comparingLong(History.Op::timeNs));
        return Linearizability.check(sorted);
    }

    @Test
    void shouldAcceptReadsOfTheLatestWriteAndOfNothingBeforeTheFirst() {
        get("c1", "a", null, 0, 5);
        write("c1", "a", "1", 10, 20, "ok");
        get("c2", "a", "1", 30, 40);
        write("c2", "a", "2", 50, 60, "ok");
        get("c1", "a", "2", 70, 80);

        Linearizability.Result result = check();
        assertThat(result.linearizable()).as(result.summary()).isTrue();
        assertThat(result.keys()).isEqualTo(1);
        assertThat(result.operations()).isEqualTo(5);
    }

    @Test
    void shouldRejectAStaleReadAfterANewerWriteWasAcknowledged() {
        write("c1", "a", "1", 0, 10, "ok");
        write("c1", "a", "2", 20, 30, "ok");
        get("c2", "a", "1", 40, 50);

        Linearizability.Result result = check();
        assertThat(result.linearizable()).isFalse();
        assertThat(result.failures()).singleElement().asString().startsWith("a: ");
        assertThat(result.summary()).contains("NOT shown linearizable", "1 keys fail");
    }

    @Test
    void shouldLetAReadOverlappingAWriteSeeEitherValueButNotGoBackAfterSeeingTheNewOne() {
        write("c1", "a", "1", 0, 10, "ok");
        write("c1", "a", "2", 20, 100, "ok");
        get("c2", "a", "1", 30, 40);
        get("c3", "a", "2", 30, 50);
        assertThat(check().linearizable()).as("old and new during the write").isTrue();

        // Once a read has returned the new value, a read that starts after it cannot return the old one.
        get("c2", "a", "1", 60, 70);
        assertThat(check().linearizable()).isFalse();
    }

    @Test
    void shouldRejectAReadOfAnAbortedWriteAndOfAValueNobodyWrote() {
        write("c1", "a", "1", 0, 10, "fail");
        get("c2", "a", "1", 20, 30);
        Linearizability.Result aborted = check();
        assertThat(aborted.linearizable()).isFalse();
        assertThat(aborted.failures().get(0)).contains("read 1 by c2", "no write before it wrote");

        ops.clear();
        write("c1", "a", "1", 0, 10, "ok");
        get("c2", "a", "7", 20, 30);
        assertThat(check().linearizable()).isFalse();
    }

    @Test
    void shouldLetAWriteWithoutAnAnswerTakeEffectLateOrNeverButOnlyOnce() {
        write("c1", "a", "1", 0, 10, "ok");
        write("c2", "a", "2", 20, 30, "info");
        get("c3", "a", "1", 40, 50);
        get("c3", "a", "2", 1_000, 1_010);
        assertThat(check().linearizable()).as("took effect after the first read").isTrue();

        get("c3", "a", "1", 2_000, 2_010);
        assertThat(check().linearizable()).as("back to 1 after 2 was seen, with nobody writing 1 again").isFalse();
    }

    @Test
    void shouldTreatAnInvocationWithoutCompletionAsAWriteThatMayHaveHappened() {
        write("c1", "a", "1", 0, 10, "ok");
        op("c2", "invoke", "write", kv("a", "2"), 20);
        get("c3", "a", "2", 40, 50);
        assertThat(check().linearizable()).isTrue();
    }

    @Test
    void shouldCheckEveryKeyOfAMultiKeyWriteAndADatabaseRead() {
        Map<String, String> both = new LinkedHashMap<>();
        both.put("a", "1");
        both.put("b", "1");
        op("c1", "invoke", "write", both, 0);
        op("c1", "ok", "write", both, 10);
        Map<String, String> db = new LinkedHashMap<>();
        db.put("a", "1");
        db.put("b", "0");
        op("c2", "invoke", "db", null, 20);
        op("c2", "ok", "db", db, 30);

        Linearizability.Result result = check();
        assertThat(result.linearizable()).isFalse();
        assertThat(result.keys()).isEqualTo(2);
        assertThat(result.failures()).singleElement().asString().startsWith("b: ");
    }

    @Test
    void shouldStartFromTheGivenDatabase() {
        get("c1", "a", "0", 0, 10);
        assertThat(Linearizability.check(ops, Map.of("a", "0"), Linearizability.DEFAULT_BUDGET).linearizable())
            .isTrue();
        assertThat(Linearizability.check(ops).linearizable()).as("absent at the start").isFalse();
    }

    @Test
    void shouldAcceptAGeneratedLinearizableHistoryOfManyOverlappingOperationsAndRejectItWithOneStaleRead() {
        List<History.Op> history = generated(new Random(42), 8, 3, 400);
        Linearizability.Result result = Linearizability.check(history);
        assertThat(result.linearizable()).as(result.summary()).isTrue();
        assertThat(result.operations()).isEqualTo(400);

        // Make the last read of k0 return a value that two acknowledged writes, one after the other, both ended
        // before the read began: the first write's value is stale, whatever order the search tries.
        record Interval(String value, long start, long end) {
        }
        Map<String, History.Op> open = new HashMap<>();
        List<Interval> writes = new ArrayList<>();
        int lastRead = -1;
        long lastReadStart = 0;
        for (int i = 0; i < history.size(); i++) {
            History.Op op = history.get(i);
            if (op.type().equals("invoke")) {
                open.put(op.process(), op);
                continue;
            }
            History.Op invoke = open.remove(op.process());
            if (!op.values().containsKey("k0")) {
                continue;
            }
            if (op.f().equals("write")) {
                writes.add(new Interval(op.values().get("k0"), invoke.timeNs(), op.timeNs()));
            } else {
                lastRead = i;
                lastReadStart = invoke.timeNs();
            }
        }
        long readStart = lastReadStart;
        Interval stale = writes.stream().filter(w1 -> writes.stream().anyMatch(w2 -> w1.end() < w2.start()
            && w2.end() < readStart)).findFirst().orElseThrow();
        List<History.Op> broken = new ArrayList<>(history);
        History.Op read = broken.get(lastRead);
        broken.set(lastRead, new History.Op(read.index(), read.process(), read.type(), read.f(),
            kv("k0", stale.value()), read.timeNs(), null));
        assertThat(Linearizability.check(broken).linearizable()).isFalse();
    }

    @Test
    void shouldSayUndecidedRatherThanValidWhenTheSearchBudgetRunsOut() {
        List<History.Op> history = generated(new Random(7), 8, 1, 200);
        Linearizability.Result result = Linearizability.check(history, Map.of(), 10);
        assertThat(result.linearizable()).isFalse();
        assertThat(result.failures()).isEmpty();
        assertThat(result.undecided()).singleElement().asString().startsWith("k0 (");
        assertThat(result.summary()).contains("undecided within the search budget");
    }

    /**
     * A history of {@code count} operations of {@code processes} processes on {@code keys} registers that is
     * linearizable by construction: each operation takes effect at a random instant inside its random interval,
     * on a register that then holds the value, and a read returns the value at its instant.
     */
    private static List<History.Op> generated(Random random, int processes, int keys, int count) {
        record Planned(String process, boolean write, String key, String value, long start, long at, long end) {
        }
        List<Planned> planned = new ArrayList<>();
        long[] free = new long[processes];
        for (int i = 0; i < count; i++) {
            int p = random.nextInt(processes);
            long start = free[p] + random.nextInt(50);
            long at = start + 1 + random.nextInt(100);
            long end = at + 1 + random.nextInt(100);
            free[p] = end + 1;
            String key = "k" + random.nextInt(keys);
            planned.add(new Planned("c" + p, random.nextBoolean(), key, key + "-" + i, start, at, end));
        }
        // Values by the instants of effect, in order.
        List<Planned> byEffect = new ArrayList<>(planned);
        byEffect.sort(Comparator.comparingLong(Planned::at));
        Map<String, String> register = new HashMap<>();
        Map<Planned, String> seen = new HashMap<>();
        for (Planned op : byEffect) {
            if (op.write()) {
                register.put(op.key(), op.value());
            } else {
                seen.put(op, register.get(op.key()));
            }
        }
        record Event(long timeNs, int order, String process, String type, String f, Map<String, String> values) {
        }
        List<Event> events = new ArrayList<>();
        int order = 0;
        for (Planned op : planned) {
            String f = op.write() ? "write" : "get";
            events.add(new Event(op.start(), order++, op.process(), "invoke", f, op.write()
                ? kv(op.key(), op.value()) : null));
            events.add(new Event(op.end(), order++, op.process(), "ok", f, op.write() ? kv(op.key(), op.value())
                : kv(op.key(), seen.get(op))));
        }
        events.sort(Comparator.comparingLong(Event::timeNs).thenComparingInt(Event::order));
        List<History.Op> history = new ArrayList<>();
        for (Event e : events) {
            history.add(new History.Op(history.size(), e.process(), e.type(), e.f(), e.values(), e.timeNs(), null));
        }
        return history;
    }
}
