package io.distpipe.kv.store;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;

import io.distpipe.kv.KvReply;

/**
 * A closed-loop load on the store: {@code clients} logical clients, each with one operation in flight, a GET with
 * probability {@code readRatio} and a SET of a fresh value otherwise, on keys picked at random from {@code keys}.
 * Every operation can be recorded in a {@link History} (the client is the process), so the same load serves the
 * benchmark and the linearizability ITs.
 */
public final class KvLoad {

    /** Who loads what: keys are {@code keyPrefix + 0 .. keys - 1}. */
    public record Options(int clients, int keys, double readRatio, String keyPrefix) {
        public Options {
            if (clients < 1 || keys < 1 || readRatio < 0 || readRatio > 1) {
                throw new IllegalArgumentException("clients and keys must be positive and the read ratio within "
                    + "0..1, got " + clients + ", " + keys + ", " + readRatio);
            }
        }
    }

    /** What the clients saw among the operations sent while measuring; latencies in microseconds, sorted. */
    public record Result(long commits, long reads, long aborted, long failedReads, long unanswered,
                         List<Long> writeMicros, List<Long> readMicros) {

        /** The {@code p}-th percentile (0 to 100) of {@code sortedMicros} in milliseconds; -1 if empty. */
        public static double percentileMs(List<Long> sortedMicros, double p) {
            if (sortedMicros.isEmpty()) {
                return -1;
            }
            int index = (int) Math.ceil(p / 100.0 * sortedMicros.size()) - 1;
            return sortedMicros.get(Math.max(0, Math.min(sortedMicros.size() - 1, index))) / 1000.0;
        }
    }

    private KvLoad() {
    }

    /**
     * Runs the load until {@code endNs} (monotonic) or until {@code stop} says so, and waits for every operation in
     * flight to end; operations sent from {@code measureFromNs} on count in the result. {@code history} may be
     * null; {@code acknowledged} (may be null) counts every committed write as it is answered, warm-up included;
     * {@code progress} hears the measured commits so far about every 5 s (may be null).
     */
    public static Result run(KvClient client, Options options, History history, long measureFromNs, long endNs,
                             BooleanSupplier stop, AtomicLong acknowledged, LongConsumer progress)
        throws InterruptedException {
        AtomicLong commits = new AtomicLong();
        AtomicLong reads = new AtomicLong();
        AtomicLong aborted = new AtomicLong();
        AtomicLong failedReads = new AtomicLong();
        AtomicLong unanswered = new AtomicLong();
        List<Long> writes = Collections.synchronizedList(new ArrayList<>());
        List<Long> readLatencies = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch done = new CountDownLatch(options.clients());
        for (int c = 0; c < options.clients(); c++) {
            String process = client.clientId() + "-" + c;
            new Object() {
                long sequence;

                void next() {
                    long sent = System.nanoTime();
                    if (sent >= endNs || stop.getAsBoolean()) {
                        done.countDown();
                        return;
                    }
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    String key = options.keyPrefix() + random.nextInt(options.keys());
                    boolean read = random.nextDouble() < options.readRatio();
                    String value = process + "-" + sequence++;
                    Map<String, String> values = new LinkedHashMap<>();
                    values.put(key, read ? null : value);
                    record(history, process, "invoke", read ? "get" : "write", read ? null : values, null);
                    CompletableFuture<KvReply> call = read ? client.get(key) : client.set(key, value);
                    call.whenComplete((reply, e) -> {
                        long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - sent);
                        boolean counted = sent >= measureFromNs;
                        String f = read ? "get" : "write";
                        if (e != null) {
                            record(history, process, "info", f, read ? null : values, String.valueOf(e));
                            count(counted, unanswered);
                        } else if (!reply.getOk()) {
                            record(history, process, "fail", f, read ? null : values, reply.getMessage());
                            count(counted, read ? failedReads : aborted);
                        } else {
                            if (read) {
                                values.put(key, reply.getFound() ? reply.getValue() : null);
                            }
                            record(history, process, "ok", f, values, null);
                            if (!read && acknowledged != null) {
                                acknowledged.incrementAndGet();
                            }
                            if (counted) {
                                (read ? reads : commits).incrementAndGet();
                                (read ? readLatencies : writes).add(micros);
                            }
                        }
                        next();
                    });
                }
            }.next();
        }
        long lastReport = System.nanoTime();
        while (!done.await(1, TimeUnit.SECONDS)) {
            if (progress != null && System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(5)) {
                lastReport = System.nanoTime();
                progress.accept(commits.get());
            }
        }
        List<Long> w = new ArrayList<>(writes);
        List<Long> r = new ArrayList<>(readLatencies);
        Collections.sort(w);
        Collections.sort(r);
        return new Result(commits.get(), reads.get(), aborted.get(), failedReads.get(), unanswered.get(), w, r);
    }

    private static void record(History history, String process, String type, String f, Map<String, String> values,
                               String error) {
        if (history != null) {
            history.record(process, type, f, values, error);
        }
    }

    private static void count(boolean counted, AtomicLong counter) {
        if (counted) {
            counter.incrementAndGet();
        }
    }
}
