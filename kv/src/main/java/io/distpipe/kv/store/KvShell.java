package io.distpipe.kv.store;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvWrite;

/**
 * The commands of {@code kv shell} and the one-shot {@code kv} commands: each line gives one result line, and
 * whether it failed. Every operation goes to the history when one is kept.
 */
public final class KvShell {

    /** One command's outcome: its result line, and false when the command failed. */
    public record Result(boolean ok, String line) {
    }

    public static final String HELP = "get KEY            the value of KEY\n"
        + "set KEY VALUE      set KEY (VALUE is the rest of the line)\n"
        + "db                 every key and value\n"
        + "verify             check that all workers of the pool hold identical databases\n"
        + "rapidset N [KEY]   N sequential SETs on one key; checks that they committed and the last one stays\n"
        + "multiset N         N SETs on different keys in one transaction; checks all are visible, then verify\n"
        + "help               this list;  quit / exit  leave the shell";

    private final KvClient client;
    private final History history;
    private final PrintStream progress;
    private final String process;
    private String lastError = "";

    public KvShell(KvClient client, History history, PrintStream progress) {
        this.client = client;
        this.history = history;
        this.progress = progress;
        this.process = client.clientId();
    }

    /** Runs one command line; null for a blank line or a comment. */
    public Result execute(String line) throws InterruptedException {
        String text = line.strip();
        if (text.isEmpty() || text.startsWith("#")) {
            return null;
        }
        String[] words = text.split("\\s+", 3);
        String command = words[0].toLowerCase(java.util.Locale.ROOT);
        try {
            return switch (command) {
                case "get" -> words.length == 2 ? get(words[1]) : usage("get KEY");
                case "set" -> words.length == 3 ? set(words[1], words[2]) : usage("set KEY VALUE");
                case "db" -> words.length == 1 ? db() : usage("db");
                case "verify" -> words.length == 1 ? verify() : usage("verify");
                case "rapidset" -> words.length >= 2 && words.length <= 3 && count(words[1]) > 0
                    ? rapidset(count(words[1]), words.length == 3 ? words[2] : "rapid") : usage("rapidset N [KEY]");
                case "multiset" -> words.length == 2 && count(words[1]) > 0 ? multiset(count(words[1]))
                    : usage("multiset N");
                case "help" -> new Result(true, HELP);
                default -> new Result(false, "unknown command '" + words[0] + "' (try help)");
            };
        } catch (IOException e) {
            return new Result(false, command + ": cannot write the history: " + e.getMessage());
        }
    }

    private static int count(String text) {
        try {
            int n = Integer.parseInt(text);
            return n > 0 ? n : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Result usage(String usage) {
        return new Result(false, "usage: " + usage + " (N a positive integer)");
    }

    /** The reply, or null when none came (the outcome is unknown); records invoke and completion. */
    private KvReply call(String f, Map<String, String> written, CompletableFuture<KvReply> future)
        throws InterruptedException, IOException {
        try {
            KvReply reply = future.get();
            if (history != null) {
                boolean write = f.equals("write");
                Map<String, String> values = write ? written : reply.getOk() ? readValues(f, written, reply) : null;
                history.record(process, reply.getOk() ? "ok" : "fail", f, values, reply.getOk() ? null
                    : reply.getMessage());
            }
            return reply;
        } catch (ExecutionException e) {
            lastError = e.getCause() instanceof TimeoutException ? "no reply within the timeout"
                : "not sent: " + String.valueOf(e.getCause().getMessage()).replaceAll("\\.$", "");
            if (history != null) {
                history.record(process, "info", f, f.equals("write") ? written : null, lastError);
            }
            return null;
        }
    }

    private static Map<String, String> readValues(String f, Map<String, String> asked, KvReply reply) {
        if (f.equals("db")) {
            return reply.getEntries();
        }
        Map<String, String> values = new LinkedHashMap<>();
        asked.keySet().forEach(k -> values.put(k, reply.getFound() ? reply.getValue() : null));
        return values;
    }

    private CompletableFuture<KvReply> invoke(String f, Map<String, String> values,
                                              java.util.function.Supplier<CompletableFuture<KvReply>> send) {
        if (history != null) {
            history.record(process, "invoke", f, f.equals("write") ? values : null, null);
        }
        return send.get();
    }

    private Result get(String key) throws InterruptedException, IOException {
        Map<String, String> asked = new LinkedHashMap<>();
        asked.put(key, null);
        KvReply reply = call("get", asked, invoke("get", asked, () -> client.get(key)));
        if (reply == null) {
            return new Result(false, "get " + key + ": no reply (is the store running?)");
        }
        if (!reply.getOk()) {
            return new Result(false, "get " + key + ": " + reply.getMessage());
        }
        return reply.getFound() ? new Result(true, key + "=" + reply.getValue())
            : new Result(false, "get " + key + ": no such key");
    }

    private Result set(String key, String value) throws InterruptedException, IOException {
        Map<String, String> writes = Map.of(key, value);
        long start = System.nanoTime();
        KvReply reply = call("write", writes, invoke("write", writes, () -> client.set(key, value)));
        long ms = (System.nanoTime() - start) / 1_000_000;
        if (reply == null) {
            return new Result(false, "set " + key + ": " + lastError + "; the outcome is unknown");
        }
        return reply.getOk() ? new Result(true, "OK " + key + "=" + value + " (transaction " + reply.getTxId() + ", "
            + ms + " ms)") : new Result(false, "set " + key + ": " + reply.getMessage());
    }

    private KvReply dbReply() throws InterruptedException, IOException {
        return call("db", null, invoke("db", null, client::db));
    }

    private Result db() throws InterruptedException, IOException {
        KvReply reply = dbReply();
        if (reply == null || !reply.getOk()) {
            return new Result(false, "db: " + (reply == null ? "no reply (is the store running?)"
                : reply.getMessage()));
        }
        String entries = new java.util.TreeMap<>(reply.getEntries()).entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" "));
        return new Result(true, reply.getEntries().size() + " keys" + (entries.isEmpty() ? "" : ": " + entries));
    }

    private Result verify() throws InterruptedException {
        KvReply reply;
        try {
            reply = client.verify().get();
        } catch (ExecutionException e) {
            return new Result(false, "verify: no reply (is the store running?)");
        }
        return new Result(reply.getOk(), (reply.getOk() ? "OK " : "verify FAILED: ") + reply.getMessage() + " "
            + reply.getHashes());
    }

    private Result rapidset(int n, String key) throws InterruptedException, IOException {
        String run = UUID.randomUUID().toString().substring(0, 6);
        long start = System.nanoTime();
        long lastProgress = start;
        int committed = 0;
        int aborted = 0;
        int unknown = 0;
        boolean firstCommitted = false;
        String lastCommitted = null;
        List<String> unknownAfterLast = new ArrayList<>();
        String firstFailure = null;
        for (int i = 1; i <= n; i++) {
            String value = run + "-" + i;
            Map<String, String> writes = Map.of(key, value);
            KvReply reply = call("write", writes, invoke("write", writes, () -> client.set(key, value)));
            if (reply == null) {
                unknown++;
                unknownAfterLast.add(value);
            } else if (reply.getOk()) {
                committed++;
                lastCommitted = value;
                unknownAfterLast.clear();
                firstCommitted |= i == 1;
            } else {
                aborted++;
                firstFailure = firstFailure == null ? reply.getMessage() : firstFailure;
            }
            long now = System.nanoTime();
            if (progress != null && now - lastProgress > 2_000_000_000L) {
                lastProgress = now;
                progress.printf("rapidset: %d/%d (%d committed, %d aborted, %d unknown)%n", i, n, committed,
                    aborted, unknown);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        String counts = String.format("%d committed, %d aborted, %d unknown in %.1f s (%.0f/s)", committed, aborted,
            unknown, seconds, n / seconds);
        Map<String, String> asked = new LinkedHashMap<>();
        asked.put(key, null);
        KvReply last = call("get", asked, invoke("get", asked, () -> client.get(key)));
        String finalValue = last != null && last.getOk() && last.getFound() ? last.getValue() : null;
        boolean finalOk = last != null && last.getOk() && finalValue != null
            && (finalValue.equals(lastCommitted) || unknownAfterLast.contains(finalValue));
        boolean ok = firstCommitted && finalOk;
        String check = (firstCommitted ? "first committed" : "FIRST DID NOT COMMIT" + (firstFailure == null ? ""
            : " (" + firstFailure + ")")) + ", final " + key + "=" + finalValue + (finalOk ? " is the last committed"
            : " but the last committed was " + lastCommitted);
        return new Result(ok, (ok ? "OK " : "FAILED ") + "rapidset " + n + ": " + counts + "; " + check
            + (aborted > 0 && firstFailure != null ? "; first abort: " + firstFailure : ""));
    }

    private Result multiset(int n) throws InterruptedException, IOException {
        String run = UUID.randomUUID().toString().substring(0, 6);
        List<KvWrite> writes = new ArrayList<>(n);
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 1; i <= n; i++) {
            writes.add(new KvWrite("m-" + run + "-" + i, run + "-" + i));
            values.put("m-" + run + "-" + i, run + "-" + i);
        }
        long start = System.nanoTime();
        KvReply reply = call("write", values, invoke("write", values, () -> client.setAll(writes)));
        long ms = (System.nanoTime() - start) / 1_000_000;
        KvReply db = dbReply();
        if (db == null || !db.getOk()) {
            return new Result(false, "multiset " + n + ": could not read the database back");
        }
        long visible = values.entrySet().stream().filter(e -> e.getValue().equals(db.getEntries().get(e.getKey())))
            .count();
        Result verify = verify();
        if (reply == null) {
            return new Result(false, "multiset " + n + ": " + lastError + "; " + visible + " of " + n
                + " keys visible (" + (visible == 0 || visible == n ? "atomic" : "PARTIAL") + ")");
        }
        if (!reply.getOk()) {
            return new Result(false, "multiset " + n + ": " + reply.getMessage() + "; " + visible + " of " + n
                + " keys visible" + (visible == 0 ? " (none, as it must be)" : " (PARTIAL: a bug)"));
        }
        boolean ok = visible == n && verify.ok();
        return new Result(ok, (ok ? "OK " : "FAILED ") + "multiset " + n + ": committed in one transaction ("
            + reply.getTxId() + ", " + ms + " ms); " + visible + " of " + n + " keys visible; " + verify.line());
    }
}
