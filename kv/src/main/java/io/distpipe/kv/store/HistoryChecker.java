package io.distpipe.kv.store;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a recorded {@link History} for the two things a replicated store must never do: lose an acknowledged write
 * (the final database, or a later read, shows an older value or none) and show a value that was never committed (a
 * write that failed, i.e. aborted, or one nobody wrote). Operations by one process must not overlap.
 */
public final class HistoryChecker {

    private static final long NEVER = Long.MAX_VALUE;

    /** One write of one key, with the interval in which it took effect if it did. */
    private record Write(String key, String value, String status, long invokedNs, long completedNs) {
    }

    private record Read(String key, String value, long invokedNs, long completedNs) {
    }

    /** What the check found; {@code valid} when no anomaly. */
    public record Result(boolean valid, int writes, int acknowledged, int reads, List<String> anomalies) {
        public String summary() {
            return (valid ? "valid" : "INVALID") + ": " + writes + " writes (" + acknowledged + " acknowledged), "
                + reads + " reads checked" + (valid ? "" : "; " + anomalies.size() + " anomalies, first: "
                + anomalies.get(0));
        }
    }

    private HistoryChecker() {
    }

    /**
     * Checks {@code ops} against {@code finalDb}, the database read after every operation ended (null: only the
     * reads in the history are checked).
     */
    public static Result check(List<History.Op> ops, Map<String, String> finalDb) {
        Map<String, History.Op> open = new HashMap<>();
        Map<String, List<Write>> writes = new HashMap<>();
        List<Read> reads = new ArrayList<>();
        List<String> anomalies = new ArrayList<>();
        for (History.Op op : ops) {
            if (op.type().equals("invoke")) {
                History.Op earlier = open.put(op.process(), op);
                if (earlier != null) {
                    writesOf(earlier, "info", NEVER).forEach(w -> writes.computeIfAbsent(w.key(),
                        k -> new ArrayList<>()).add(w));
                }
                continue;
            }
            History.Op invoke = open.remove(op.process());
            if (invoke == null) {
                anomalies.add("completion without invoke: " + op);
                continue;
            }
            if (invoke.f().equals("write")) {
                long completed = op.type().equals("info") ? NEVER : op.timeNs();
                for (Write w : writesOf(invoke, op.type(), completed)) {
                    writes.computeIfAbsent(w.key(), k -> new ArrayList<>()).add(w);
                }
            } else if (op.type().equals("ok") && op.values() != null) {
                op.values().forEach((k, v) -> reads.add(new Read(k, v, invoke.timeNs(), op.timeNs())));
            }
        }
        for (History.Op invoke : open.values()) {
            if (invoke.f().equals("write")) {
                writesOf(invoke, "info", NEVER).forEach(w -> writes.computeIfAbsent(w.key(),
                    k -> new ArrayList<>()).add(w));
            }
        }
        int acknowledged = 0;
        for (List<Write> list : writes.values()) {
            acknowledged += (int) list.stream().filter(w -> w.status().equals("ok")).count();
        }
        for (Read read : reads) {
            checkRead(read, writes.get(read.key()), anomalies);
        }
        if (finalDb != null) {
            for (Map.Entry<String, List<Write>> e : writes.entrySet()) {
                String value = finalDb.get(e.getKey());
                checkRead(new Read(e.getKey(), value, NEVER - 1, NEVER - 1), e.getValue(), anomalies);
            }
        }
        int total = writes.values().stream().mapToInt(List::size).sum();
        return new Result(anomalies.isEmpty(), total, acknowledged, reads.size(), anomalies);
    }

    private static List<Write> writesOf(History.Op invoke, String status, long completedNs) {
        List<Write> list = new ArrayList<>();
        if (invoke.values() != null) {
            invoke.values().forEach((k, v) -> list.add(new Write(k, v, status, invoke.timeNs(), completedNs)));
        }
        return list;
    }

    private static void checkRead(Read read, List<Write> writes, List<String> anomalies) {
        if (writes == null) {
            return;
        }
        String where = read.invokedNs() == NEVER - 1 ? "the final database" : "a read";
        Write source = null;
        boolean aborted = false;
        if (read.value() != null) {
            for (Write w : writes) {
                if (w.value().equals(read.value()) && w.invokedNs() <= read.completedNs()) {
                    if (w.status().equals("fail")) {
                        aborted = true;
                    } else {
                        source = w;
                    }
                }
            }
            if (source == null) {
                anomalies.add(where + " shows " + read.key() + "=" + read.value() + (aborted
                    ? " of an aborted write" : ", which no one wrote before"));
                return;
            }
        }
        for (Write w : writes) {
            boolean acknowledgedBefore = w.status().equals("ok") && w.completedNs() < read.invokedNs();
            boolean newer = source == null || source.completedNs() < w.invokedNs();
            if (acknowledgedBefore && newer && !w.value().equals(read.value())) {
                anomalies.add(where + " shows " + read.key() + "=" + read.value() + " but the acknowledged write "
                    + read.key() + "=" + w.value() + " is newer (lost write)");
                return;
            }
        }
    }
}
