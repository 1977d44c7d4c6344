package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvWrite;
import io.distpipe.kv.ReadResult;
import io.distpipe.kv.Vote;
import org.junit.jupiter.api.Test;

class ChunksTest {

    private static Map<String, String> entries(int n) {
        Map<String, String> entries = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            entries.put("key-" + i, "value-" + i);
        }
        return entries;
    }

    private static int estimated(Map<String, String> part) {
        return part.entrySet().stream().mapToInt(e -> Chunks.encodedSize(e.getKey(), e.getValue())).sum();
    }

    @Test
    void shouldCountUtf8BytesAsTheEncoderDoes() {
        for (String s : List.of("", "abc", "é", "日本語", "\uD83D\uDE00 smile", "mixed-ü-\u20AC")) {
            assertThat(Chunks.utf8Length(s)).as(s).isEqualTo(s.getBytes(StandardCharsets.UTF_8).length);
        }
    }

    @Test
    void shouldAcceptOneMebibyteOfKeysAndValuesAndRefuseOneByteMore() {
        assertThat(Chunks.refusal(Chunks.MAX_REQUEST_BYTES)).isNull();
        assertThat(Chunks.refusal(Chunks.MAX_REQUEST_BYTES + 1L))
            .isEqualTo("refused: the request holds 1,048,577 bytes of keys and values, above one request's "
                + "limit of 1,048,576 (1 MiB); nothing was written");
        assertThat(Chunks.requestBytes(List.of(new KvWrite("ab", "é"), new KvWrite("c", "")))).isEqualTo(5);
    }

    @Test
    void shouldCutWritesIntoBoundedPartsInOrderWithoutLosingOne() {
        List<KvWrite> writes = new ArrayList<>();
        for (int i = 0; i < 50_000; i++) {
            writes.add(new KvWrite("k" + i, "v" + i));
        }
        List<List<KvWrite>> parts = Chunks.splitWrites(writes, 64 * 1024);

        assertThat(parts).hasSizeGreaterThan(5).allSatisfy(p -> assertThat(p.stream()
            .mapToInt(w -> Chunks.encodedSize(w.getKey(), w.getValue())).sum()).isLessThanOrEqualTo(64 * 1024));
        assertThat(parts.stream().flatMap(List::stream).toList()).isEqualTo(writes);
        assertThat(Chunks.splitWrites(List.of(), 1024)).containsExactly(List.of());
    }

    @Test
    void shouldPutAWriteLargerThanAPartInAPartOfItsOwn() {
        KvWrite big = new KvWrite("big", "x".repeat(KvState.MAX_VALUE_CHARS));
        List<List<KvWrite>> parts = Chunks.splitWrites(List.of(new KvWrite("a", "1"), big, new KvWrite("b", "2")),
            1024);
        assertThat(parts).containsExactly(List.of(new KvWrite("a", "1")), List.of(big), List.of(new KvWrite("b", "2")));
        // The largest valid write fits a part of the real size.
        assertThat(Chunks.encodedSize("k".repeat(KvState.MAX_KEY_CHARS), "\u20AC".repeat(KvState.MAX_VALUE_CHARS)))
            .isLessThan(Chunks.PART_BYTES);
    }

    @Test
    void shouldCutADatabaseAnswerIntoPartsThatJoinToTheWhole() {
        Map<String, String> db = entries(60_000);
        ReadResult answer = ReadResult.newBuilder().setReadId("r1").setFound(true).setValue(null).setEntries(db)
            .setSize(db.size()).setHash("").build();

        List<Object> parts = Chunks.answerParts(answer, Chunks.PART_BYTES);

        assertThat(parts).hasSizeGreaterThan(3);
        List<ReadResult> results = parts.stream().map(ReadResult.class::cast).toList();
        for (int i = 0; i < results.size(); i++) {
            assertThat(results.get(i).getPart()).isEqualTo(i);
            assertThat(results.get(i).getParts()).isEqualTo(results.size());
            assertThat(estimated(results.get(i).getEntries())).isLessThanOrEqualTo(Chunks.PART_BYTES);
        }
        assertThat(Chunks.joinResults(results).getEntries()).isEqualTo(db);
        Vote vote = new Vote("t1", true, null);
        assertThat(Chunks.answerParts(vote, Chunks.PART_BYTES)).containsExactly(vote);
    }

    @Test
    void shouldCutADatabaseReplyIntoPartsThatTheAssemblerJoinsOnlyWhenAllArrived() {
        KvReply reply = KvReply.newBuilder().setRequestId("q").setClientId("c").setOk(true).setTxId("read-1")
            .setEntries(entries(30_000)).setSize(30_000).setMessage("30000 keys").build();
        List<KvReply> parts = Chunks.replyParts(reply, Chunks.PART_BYTES);
        assertThat(parts).hasSizeGreaterThan(1);

        Chunks.Assembler<KvReply> assembler = new Chunks.Assembler<>();
        for (int i = 0; i < parts.size() - 1; i++) {
            assertThat(assembler.add("q", i, parts.size(), parts.get(i)).complete()).isNull();
        }
        List<KvReply> all = assembler.add("q", parts.size() - 1, parts.size(), parts.get(parts.size() - 1))
            .complete();

        assertThat(Chunks.joinReplies(all).getEntries()).isEqualTo(reply.getEntries());
        assertThat(Chunks.joinReplies(all).getSize()).isEqualTo(30_000);
        assertThat(assembler.size()).isZero();
    }

    @Test
    void shouldStartAgainOnAFirstPartAndCallAPartWithoutItsPredecessorAnOrphan() {
        Chunks.Assembler<String> assembler = new Chunks.Assembler<>();
        assertThat(assembler.add("x", 1, 3, "b").orphan()).isTrue();
        assertThat(assembler.add("x", 0, 3, "a").complete()).isNull();
        assertThat(assembler.add("x", 0, 3, "a2").complete()).isNull();
        assertThat(assembler.add("x", 1, 3, "b").complete()).isNull();
        assertThat(assembler.add("x", 2, 3, "c").complete()).containsExactly("a2", "b", "c");
        assertThat(assembler.add("y", 0, 2, "a").complete()).isNull();
        assertThat(assembler.add("y", 1, 3, "b").orphan()).isTrue();
        assertThat(assembler.waiting("y")).isFalse();
        assertThat(assembler.add("z", 0, 1, "only").complete()).containsExactly("only");
    }

    @Test
    void shouldAnswerWithAnErrorInsteadOfAReadResultTooLargeToSend() {
        Map<String, String> db = new LinkedHashMap<>(entries(3));
        ReadResult answer = ReadResult.newBuilder().setReadId("r1").setFound(true).setValue(null).setEntries(db)
            .setSize(3).setHash("").setPart(2).setParts(5).build();

        Object error = Chunks.tooLarge(answer, "too large");

        assertThat(error).isInstanceOfSatisfying(ReadResult.class, r -> {
            assertThat(r.getReadId()).isEqualTo("r1");
            assertThat(r.getError()).isEqualTo("too large");
            assertThat(r.getEntries()).isNull();
            assertThat(r.getPart()).isZero();
            assertThat(r.getParts()).isEqualTo(1);
        });
        assertThat(Chunks.tooLarge(new Vote("t1", true, null), "too large")).isEqualTo(new Vote("t1", false,
            "too large"));
    }
}
