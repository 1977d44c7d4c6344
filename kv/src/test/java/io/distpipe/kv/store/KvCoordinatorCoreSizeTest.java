package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvOp;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvRequest;
import io.distpipe.kv.KvWrite;
import io.distpipe.kv.PoolChange;
import io.distpipe.kv.PoolChangeType;
import io.distpipe.kv.ReadRequest;
import io.distpipe.kv.ReadResult;
import io.distpipe.kv.VoteRequest;
import io.distpipe.kv.WorkerMessage;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Sizes at the coordinator, without a broker: what it writes to the log and sends to clients stays far below the
 * producer's 1 MiB whatever a client may legitimately ask, and a transaction above one request's limit never enters
 * the log. Workers are plain {@link KvState}s that answer the way {@link KvWorker} does (a database in parts).
 */
class KvCoordinatorCoreSizeTest {

    private static final int VOTE_MS = 100;
    /** The producer's default max.request.size. */
    private static final int ONE_MIB = 1 << 20;

    private final KvCoordinatorCore core = new KvCoordinatorCore("C1", VOTE_MS, 300);
    private final Map<String, KvState> workers = new TreeMap<>();
    private final Map<String, List<WorkerMessage>> outbox = new TreeMap<>();
    private final List<KvLogEntry> log = new ArrayList<>();
    private final List<KvReply> replies = new ArrayList<>();
    private long nowNs = 5_000_000_000L;

    @BeforeEach
    void serve() {
        List<String> pool = List.of("W1", "W2", "W3");
        KvLogEntry joined = new KvLogEntry(new PoolChange("W3", PoolChangeType.JOINED, pool, "test", "C0"),
            Instant.EPOCH);
        for (String id : pool) {
            workers.put(id, new KvState());
            outbox.put(id, new ArrayList<>());
            workers.get(id).apply(joined, id);
        }
        KvCoordinatorCore.Replay replay = new KvCoordinatorCore.Replay(0);
        replay.apply(joined);
        core.activate("C1-7-", replay, nowNs);
        settle();
        replies.clear();
        log.clear();
    }

    private void settle() {
        for (int i = 0; i < 50; i++) {
            KvCoordinatorCore.Cycle cycle = core.endCycle(nowNs);
            replies.addAll(cycle.replies());
            replies.addAll(core.committed(nowNs));
            for (KvCoordinatorCore.Append append : cycle.log()) {
                KvLogEntry entry = new KvLogEntry(append.payload(), Instant.EPOCH);
                log.add(entry);
                workers.forEach((id, state) -> {
                    Object answer = state.apply(entry, id);
                    if (answer != null) {
                        for (Object part : Chunks.answerParts(answer, Chunks.PART_BYTES)) {
                            outbox.get(id).add(WorkerMessage.newBuilder().setWorker(id).setLogOffset(0)
                                .setPayload(part).setSentAt(Instant.EPOCH).build());
                        }
                    }
                });
            }
            boolean answers = outbox.values().stream().anyMatch(l -> !l.isEmpty());
            outbox.values().forEach(l -> {
                l.forEach(core::fromWorker);
                l.clear();
            });
            if (cycle.log().isEmpty() && !answers) {
                return;
            }
        }
        throw new AssertionError("the protocol did not settle within 50 cycles");
    }

    private static List<KvWrite> writes(String run, int n) {
        List<KvWrite> writes = new ArrayList<>(n);
        for (int i = 1; i <= n; i++) {
            writes.add(new KvWrite("m-" + run + "-" + i, run + "-" + i));
        }
        return writes;
    }

    private static KvRequest request(String requestId, KvOp op, List<KvWrite> writes) {
        return KvRequest.newBuilder().setRequestId(requestId).setClientId("client-1").setOp(op).setWrites(writes)
            .setKey(null).setSentAt(Instant.EPOCH).build();
    }

    /** The log entries written, by type (an assertion on them would print whole transactions). */
    private List<String> kinds() {
        return log.stream().map(e -> e.getPayload().getClass().getSimpleName()).toList();
    }

    private List<KvReply> repliesTo(String requestId) {
        return replies.stream().filter(r -> r.getRequestId().equals(requestId)).toList();
    }

    /** The record's Avro bytes, as a serializer writes them (without the 5 bytes of registry framing). */
    private static int avroBytes(SpecificRecord record) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
            new SpecificDatumWriter<SpecificRecord>(record.getSchema()).write(record, encoder);
            encoder.flush();
            return out.size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void shouldRefuseATransactionAboveTheLimitBeforeItEntersTheLogAndServeTheNextOne() {
        // 60 000 writes of 26 bytes: about 1.5 MB of keys and values.
        core.request(request("big", KvOp.WRITE, writes("abcdef", 60_000)), nowNs);
        settle();

        assertThat(kinds()).as("log entries written for a transaction above the limit").isEmpty();
        assertThat(repliesTo("big")).singleElement().satisfies(r -> {
            assertThat(r.getOk()).isFalse();
            assertThat(r.getMessage()).startsWith("refused: ").contains("limit of 1,048,576");
        });

        core.request(request("next", KvOp.WRITE, List.of(new KvWrite("b", "2"))), nowNs);
        settle();
        assertThat(repliesTo("next")).singleElement().satisfies(r -> assertThat(r.getOk()).isTrue());
        assertThat(workers.values()).allSatisfy(w -> assertThat(w.db()).containsOnly(Map.entry("b", "2")));
    }

    @Test
    void shouldWriteATransactionAtTheLimitInLogEntriesFarBelowOneMebibyte() {
        List<KvWrite> writes = new ArrayList<>();
        for (int i = 0; i < 40_000; i++) {
            writes.add(new KvWrite(String.format("k-%06d", i), String.format("value-%012d", i)));
        }
        assertThat(Chunks.requestBytes(writes)).isEqualTo(1_040_000).isLessThanOrEqualTo(Chunks.MAX_REQUEST_BYTES);

        core.request(request("limit", KvOp.WRITE, writes), nowNs);
        settle();

        assertThat(repliesTo("limit")).singleElement().satisfies(r -> assertThat(r.getOk()).as(r.getMessage())
            .isTrue());
        assertThat(log.stream().map(KvCoordinatorCoreSizeTest::avroBytes).toList()).as("log entry sizes")
            .isNotEmpty().allSatisfy(n -> assertThat(n).isLessThan(ONE_MIB / 2));
        assertThat(workers.values()).allSatisfy(w -> assertThat(w.size()).isEqualTo(40_000));
    }

    @Test
    void shouldAnswerADatabaseOfSixtyThousandKeysInRepliesFarBelowOneMebibyte() {
        for (String run : List.of("aaaaaa", "bbbbbb", "cccccc")) {
            core.request(request("set-" + run, KvOp.WRITE, writes(run, 20_000)), nowNs);
            settle();
            assertThat(repliesTo("set-" + run)).singleElement().satisfies(r -> assertThat(r.getOk()).isTrue());
        }

        core.request(request("db", KvOp.DB, List.of()), nowNs);
        settle();

        List<KvReply> db = repliesTo("db");
        assertThat(db.stream().map(KvCoordinatorCoreSizeTest::avroBytes).toList()).as("reply sizes")
            .allSatisfy(n -> assertThat(n).isLessThan(ONE_MIB / 2));
        Map<String, String> entries = new HashMap<>();
        db.forEach(r -> entries.putAll(r.getEntries()));
        assertThat(entries.size()).isEqualTo(60_000);
        assertThat(entries.equals(workers.get("W1").db())).as("the replies hold the workers' database").isTrue();
        assertThat(db).allSatisfy(r -> assertThat(r.getSize()).isEqualTo(60_000));
    }

    @Test
    void shouldJoinARequestThatArrivesInPartsIntoOneTransactionThatCommitsAllOrNothing() {
        List<List<KvWrite>> parts = Chunks.splitWrites(writes("abcdef", 30_000), Chunks.PART_BYTES);
        assertThat(parts).hasSizeGreaterThan(2);
        for (int i = 0; i < parts.size(); i++) {
            core.request(KvRequest.newBuilder(request("parts", KvOp.WRITE, parts.get(i))).setPart(i)
                .setParts(parts.size()).build(), nowNs);
            if (i < parts.size() - 1) {
                assertThat(core.endCycle(nowNs).log()).as("log entries before the last part").isEmpty();
                core.committed(nowNs);
            }
        }
        settle();

        assertThat(repliesTo("parts")).singleElement().satisfies(r -> assertThat(r.getOk()).isTrue());
        List<VoteRequest> votes = log.stream().map(KvLogEntry::getPayload).filter(VoteRequest.class::isInstance)
            .map(VoteRequest.class::cast).toList();
        assertThat(votes).hasSizeGreaterThan(1).allSatisfy(v -> assertThat(v.getParts()).isEqualTo(votes.size()));
        assertThat(votes).extracting(VoteRequest::getTxId).containsOnly(votes.get(0).getTxId());
        assertThat(workers.values()).allSatisfy(w -> assertThat(w.size()).isEqualTo(30_000));
    }

    @Test
    void shouldRefuseARequestWhosePartsArriveWithoutTheFirst() {
        List<List<KvWrite>> parts = Chunks.splitWrites(writes("abcdef", 30_000), Chunks.PART_BYTES);
        for (int i = 1; i < parts.size(); i++) {
            core.request(KvRequest.newBuilder(request("orphan", KvOp.WRITE, parts.get(i))).setPart(i)
                .setParts(parts.size()).build(), nowNs);
        }
        settle();

        assertThat(kinds()).isEmpty();
        assertThat(repliesTo("orphan")).singleElement().satisfies(r -> {
            assertThat(r.getOk()).isFalse();
            assertThat(r.getMessage()).startsWith("refused: only part of the request arrived");
        });
    }

    @Test
    void shouldRefuseARequestWhoseLastPartsDoNotArriveInTime() {
        List<List<KvWrite>> parts = Chunks.splitWrites(writes("abcdef", 30_000), Chunks.PART_BYTES);
        core.request(KvRequest.newBuilder(request("stalled", KvOp.WRITE, parts.get(0))).setPart(0)
            .setParts(parts.size()).build(), nowNs);
        settle();
        assertThat(core.nextDeadlineNs(Long.MAX_VALUE)).isEqualTo(nowNs + TimeUnit.MILLISECONDS.toNanos(VOTE_MS));
        assertThat(repliesTo("stalled")).isEmpty();

        nowNs += TimeUnit.MILLISECONDS.toNanos(VOTE_MS);
        settle();

        assertThat(kinds()).isEmpty();
        assertThat(repliesTo("stalled")).singleElement().satisfies(r -> assertThat(r.getMessage())
            .startsWith("refused: only 1 of the request's " + parts.size() + " parts arrived"));
    }

    @Test
    void shouldAnswerADatabaseReadFromAnotherWorkerWhenOneCouldNotSendItsAnswer() {
        core.request(request("set", KvOp.WRITE, List.of(new KvWrite("a", "1"))), nowNs);
        settle();
        core.request(request("db", KvOp.DB, List.of()), nowNs);
        KvCoordinatorCore.Cycle cycle = core.endCycle(nowNs);
        core.committed(nowNs);
        ReadRequest read = cycle.log().stream().map(KvCoordinatorCore.Append::payload)
            .filter(ReadRequest.class::isInstance).map(ReadRequest.class::cast).findFirst().orElseThrow();
        ReadResult ok = (ReadResult) workers.get("W2").apply(new KvLogEntry(read, Instant.EPOCH), "W2");

        core.fromWorker(WorkerMessage.newBuilder().setWorker("W1").setLogOffset(0)
            .setPayload(Chunks.tooLarge(ok, "too large")).setSentAt(Instant.EPOCH).build());
        assertThat(core.endCycle(nowNs).replies()).as("replies after an error answer only").isEmpty();
        core.committed(nowNs);
        core.fromWorker(WorkerMessage.newBuilder().setWorker("W2").setLogOffset(0).setPayload(ok)
            .setSentAt(Instant.EPOCH).build());

        assertThat(core.endCycle(nowNs).replies()).singleElement().satisfies(r -> {
            assertThat(r.getOk()).isTrue();
            assertThat(r.getEntries()).containsOnly(Map.entry("a", "1"));
        });
    }
}
