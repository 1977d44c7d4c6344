package io.distpipe.kv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.ChildJvm;
import io.distpipe.common.Poll;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvWrite;
import io.distpipe.kv.store.History;
import io.distpipe.kv.store.HistoryChecker;
import io.distpipe.kv.store.KvClient;
import io.distpipe.kv.store.KvLoad;
import io.distpipe.kv.store.KvLocal;
import io.distpipe.kv.store.KvSerdes;
import io.distpipe.kv.store.KvShell;
import io.distpipe.kv.store.Linearizability;
import io.distpipe.topics.serde.AvroSerdes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The key-value store with its coordinators and workers as separate processes (child JVMs of our CLI, killed with
 * SIGKILL), on one embedded broker shared by the scenarios, which run in order on the same store.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KvStoreIT {

    /** SETs of the sequential scenarios; -Dkv.it.rapidset=10000 for the full figure on an idle machine. */
    private static final int RAPIDSET = Integer.getInteger("kv.it.rapidset", 300);
    private static final int MULTISET = 10_000;
    private static final Duration BOUND = Duration.ofSeconds(120);

    private static EmbeddedKafka kafka;
    private static Path run;
    private static String registryUrl;
    private static KvSerdes serdes;
    private static final Map<String, ChildJvm> PROCESSES = new LinkedHashMap<>();

    @BeforeAll
    static void startStore() throws Exception {
        kafka = EmbeddedKafka.startTemporary();
        run = Files.createTempDirectory("kv-store-it");
        registryUrl = "mem://kv-store-it";
        AvroSerdes avro = AvroSerdes.connect(registryUrl);
        KvSerdes.prepare(kafka.bootstrapServers(), avro, 1);
        serdes = new KvSerdes(avro);
        List<ChildJvm> launched = new ArrayList<>();
        for (String id : List.of("C1", "C2")) {
            launched.add(launch(id, "coordinator"));
        }
        for (String id : List.of("W1", "W2", "W3")) {
            launched.add(launch(id, "worker"));
        }
        for (ChildJvm l : launched) {
            l.awaitReady();
            PROCESSES.put(l.id(), l);
        }
        KvLocal.awaitPool(kafka.bootstrapServers(), serdes, 3, BOUND);
    }

    private static ChildJvm launch(String id, String role) throws Exception {
        return KvProcess.spec(id, run, run.resolve("logs"), "200m", List.of("kv", role, "--id", id,
            "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registryUrl)).launch();
    }

    /** Starts {@code id} again after it was killed, and waits for it to be ready. */
    private static void relaunch(String id, String role) throws Exception {
        ChildJvm again = launch(id, role);
        again.awaitReady();
        PROCESSES.put(id, again);
    }

    /** The coordinator that commits a SET of probe={@code value} now (transaction ids start with its id). */
    private static String activeCoordinator(KvClient observer, String value) throws Exception {
        return observer.set("probe", value).get(60, TimeUnit.SECONDS).getTxId().split("-")[0];
    }

    @AfterAll
    static void stopStore() throws Exception {
        for (ChildJvm p : PROCESSES.values()) {
            p.stop(Duration.ofSeconds(10));
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    private static KvClient client() {
        return KvClient.open(kafka.bootstrapServers(), serdes, Duration.ofSeconds(30));
    }

    /** A rapidset started in the background, once its first SETs are visible. */
    private static CompletableFuture<KvShell.Result> rapidsetUnderway(KvShell shell, KvClient observer, String tag) {
        CompletableFuture<KvShell.Result> rapid = CompletableFuture.supplyAsync(() -> {
            try {
                return shell.execute("rapidset " + RAPIDSET + " " + tag);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Poll.until("the rapidset has committed its first SETs", BOUND, () -> found(observer, tag));
        return rapid;
    }

    /** All three workers verify equal, and the client's history checks against the store's database. */
    private static void assertAllThreeEqualAndTheHistoryValid(KvClient observer, History history, Path historyFile)
        throws Exception {
        KvReply after = verify(observer);
        assertThat(after.getOk()).as(after.getMessage()).isTrue();
        assertThat(after.getHashes()).containsOnlyKeys("W1", "W2", "W3");
        history.flush();
        KvReply db = observer.db().get(60, TimeUnit.SECONDS);
        HistoryChecker.Result check = HistoryChecker.check(History.read(historyFile), db.getEntries());
        assertThat(check.valid()).as(check.summary()).isTrue();
        assertThat(check.acknowledged()).isGreaterThan(0);
    }

    private static KvReply verify(KvClient client) throws Exception {
        return client.verify().get(60, TimeUnit.SECONDS);
    }

    @Test
    @Order(1)
    void shouldCommitRapidsetAndMultisetOnEveryWorkerProcess() throws Exception {
        try (KvClient client = client()) {
            KvShell shell = new KvShell(client, null, null);

            KvShell.Result rapid = shell.execute("rapidset " + RAPIDSET + " rapid-1");
            KvShell.Result multi = shell.execute("multiset " + MULTISET);

            assertThat(rapid.ok()).as(rapid.line()).isTrue();
            assertThat(rapid.line()).contains(RAPIDSET + " committed, 0 aborted");
            assertThat(multi.ok()).as(multi.line()).isTrue();
            assertThat(multi.line()).contains(MULTISET + " of " + MULTISET + " keys visible");
            KvReply verify = verify(client);
            assertThat(verify.getOk()).as(verify.getMessage()).isTrue();
            assertThat(verify.getHashes()).containsOnlyKeys("W1", "W2", "W3");
            assertThat(verify.getSize()).isGreaterThanOrEqualTo(MULTISET + 1);
        }
    }

    @Test
    @Order(2)
    void shouldRemoveAKilledWorkerAndLetItCatchUpWhenItReturns() throws Exception {
        Path historyFile = run.resolve("worker-kill.jsonl");
        try (KvClient client = client(); KvClient observer = client(); History history = History.open(historyFile)) {
            KvShell shell = new KvShell(client, history, null);
            CompletableFuture<KvShell.Result> rapid = rapidsetUnderway(shell, observer, "rapid-2");

            PROCESSES.get("W3").kill();

            Poll.until("W3 is removed from the pool", BOUND, () -> members(observer).equals(List.of("W1", "W2")));
            KvShell.Result result = rapid.get(5, TimeUnit.MINUTES);
            assertThat(result.ok()).as(result.line()).isTrue();
            KvReply during = verify(observer);
            assertThat(during.getOk()).as(during.getMessage()).isTrue();
            assertThat(during.getHashes()).containsOnlyKeys("W1", "W2");

            relaunch("W3", "worker");

            Poll.until("W3 rejoins the pool", BOUND, () -> members(observer).contains("W3"));
            assertAllThreeEqualAndTheHistoryValid(observer, history, historyFile);
        }
    }

    /**
     * A worker frozen (SIGSTOP) past the vote timeout, with SETs running: the coordinator removes it and commits on
     * without it; resumed (SIGCONT), it finds its open transaction aborted by the broker (it retries it rather than
     * taking that for fencing), catches up and rejoins. Every worker has the same database, and the client's history
     * checks against it.
     */
    @Test
    @Order(3)
    void shouldRemoveAPausedWorkerAndLetItCatchUpWhenItIsResumed() throws Exception {
        Path historyFile = run.resolve("worker-pause.jsonl");
        try (KvClient client = client(); KvClient observer = client(); History history = History.open(historyFile)) {
            KvShell shell = new KvShell(client, history, null);
            CompletableFuture<KvShell.Result> rapid = rapidsetUnderway(shell, observer, "rapid-3");
            ChildJvm frozen = PROCESSES.get("W2");

            frozen.pause();
            try {
                Poll.until("W2 is removed from the pool", BOUND, () -> members(observer).equals(List.of("W1", "W3")));
                KvShell.Result result = rapid.get(5, TimeUnit.MINUTES);
                assertThat(result.ok()).as(result.line()).isTrue();
            } finally {
                frozen.resume();
            }

            Poll.until("W2 rejoins the pool", BOUND, () -> members(observer).contains("W2"));
            assertThat(frozen.isAlive()).as("the resumed worker").isTrue();
            assertAllThreeEqualAndTheHistoryValid(observer, history, historyFile);
        }
    }

    @Test
    @Order(4)
    void shouldNeverShowAPartialMultisetWhenTheActiveCoordinatorIsKilled() throws Exception {
        Path historyFile = run.resolve("coordinator-kill.jsonl");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger acknowledged = new AtomicInteger();
        List<Map<String, String>> batches = java.util.Collections.synchronizedList(new ArrayList<>());
        try (KvClient observer = client(); History history = History.open(historyFile)) {
            String active = activeCoordinator(observer, "1");
            List<CompletableFuture<Void>> loads = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                int thread = t;
                loads.add(CompletableFuture.runAsync(() -> multisets(thread, history, stop, acknowledged, batches)));
            }
            Poll.until("two multisets committed before the kill", BOUND, () -> acknowledged.get() >= 2);

            PROCESSES.get(active).kill();
            int before = acknowledged.get();

            Poll.until("multisets commit again after the standby took over", BOUND,
                () -> acknowledged.get() >= before + 3);
            stop.set(true);
            CompletableFuture.allOf(loads.toArray(CompletableFuture[]::new)).get(2, TimeUnit.MINUTES);
            history.flush();

            KvReply db = observer.db().get(60, TimeUnit.SECONDS);
            Map<String, String> entries = db.getEntries();
            for (Map<String, String> batch : batches) {
                long visible = batch.entrySet().stream().filter(e -> e.getValue().equals(entries.get(e.getKey())))
                    .count();
                assertThat(visible).as("keys of one multiset visible").isIn(0L, (long) batch.size());
            }
            HistoryChecker.Result check = HistoryChecker.check(History.read(historyFile), entries);
            assertThat(check.valid()).as(check.summary()).isTrue();
            KvReply verify = verify(observer);
            assertThat(verify.getOk()).as(verify.getMessage()).isTrue();
            assertThat(verify.getMessage()).isNotEmpty();
            String now = activeCoordinator(observer, "2");
            assertThat(now).isNotEqualTo(active);
        }
    }

    /**
     * Sixteen clients GET and SET four keys (half reads) while a worker is killed, the stopped coordinator of the
     * scenario before is started again, and the active coordinator is killed: the recorded history must be
     * linearizable key by key (reads ordered through the log see every write answered before they began, even though
     * a write is answered at its decision, before the workers acknowledge it), no acknowledged write is lost, and
     * the workers still agree.
     */
    @Test
    @Order(5)
    void shouldStayLinearizableOnFewKeysThroughAWorkerKillAndACoordinatorKill() throws Exception {
        Path historyFile = run.resolve("linearizable.jsonl");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong acknowledged = new AtomicLong();
        try (KvClient observer = client(); KvClient loaded = client(); History history = History.open(historyFile)) {
            for (String id : List.of("C1", "C2")) {
                if (!PROCESSES.get(id).isAlive()) {
                    relaunch(id, "coordinator");
                }
            }
            KvLoad.Options options = new KvLoad.Options(16, 4, 0.5, "lin-");
            CompletableFuture<KvLoad.Result> load = CompletableFuture.supplyAsync(() -> {
                try {
                    return KvLoad.run(loaded, options, history, 0, System.nanoTime() + TimeUnit.MINUTES.toNanos(5),
                        stop::get, acknowledged, null);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Poll.until("20 writes committed", BOUND, () -> acknowledged.get() >= 20);

            PROCESSES.get("W1").kill();
            Poll.until("W1 is removed from the pool", BOUND, () -> members(observer).equals(List.of("W2", "W3")));
            long beforeCoordinatorKill = acknowledged.get();
            Poll.until("20 more writes committed without W1", BOUND,
                () -> acknowledged.get() >= beforeCoordinatorKill + 20);

            String active = activeCoordinator(observer, "3");
            PROCESSES.get(active).kill();
            long afterKill = acknowledged.get();
            Poll.until("20 more writes committed after the standby took over", BOUND,
                () -> acknowledged.get() >= afterKill + 20);

            relaunch("W1", "worker");
            Poll.until("W1 rejoins the pool", BOUND, () -> members(observer).contains("W1"));
            stop.set(true);
            KvLoad.Result result = load.get(2, TimeUnit.MINUTES);
            history.flush();

            assertThat(result.reads()).as("reads answered").isGreaterThan(0);
            List<History.Op> ops = History.read(historyFile);
            Linearizability.Result linear = Linearizability.check(ops);
            assertThat(linear.linearizable()).as(linear.summary()).isTrue();
            assertThat(linear.keys()).isEqualTo(4);
            KvReply db = observer.db().get(60, TimeUnit.SECONDS);
            HistoryChecker.Result check = HistoryChecker.check(ops, db.getEntries());
            assertThat(check.valid()).as(check.summary()).isTrue();
            KvReply verify = verify(observer);
            assertThat(verify.getOk()).as(verify.getMessage()).isTrue();
            assertThat(verify.getHashes()).containsOnlyKeys("W1", "W2", "W3");
        }
    }

    /** Multi-key transactions of 100 keys each, one after the other, recorded in the history. */
    private static void multisets(int thread, History history, AtomicBoolean stop, AtomicInteger acknowledged,
                                  List<Map<String, String>> batches) {
        try (KvClient client = client()) {
            for (int n = 0; !stop.get(); n++) {
                Map<String, String> values = new LinkedHashMap<>();
                List<KvWrite> writes = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    String key = "ck-" + thread + "-" + n + "-" + i;
                    values.put(key, "v" + n);
                    writes.add(new KvWrite(key, "v" + n));
                }
                batches.add(values);
                history.record(client.clientId(), "invoke", "write", values, null);
                try {
                    KvReply reply = client.setAll(writes).get();
                    history.record(client.clientId(), reply.getOk() ? "ok" : "fail", "write", values,
                        reply.getOk() ? null : reply.getMessage());
                    if (reply.getOk()) {
                        acknowledged.incrementAndGet();
                    }
                } catch (ExecutionException e) {
                    history.record(client.clientId(), "info", "write", values, e.getCause().toString());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean found(KvClient client, String key) {
        try {
            return client.get(key).get(30, TimeUnit.SECONDS).getFound();
        } catch (Exception e) {
            return false;
        }
    }

    private static List<String> members(KvClient client) {
        try {
            return client.verify().get(30, TimeUnit.SECONDS).getMembers();
        } catch (Exception e) {
            return List.of();
        }
    }
}
