package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.distpipe.kv.Ack;
import io.distpipe.kv.JoinRequest;
import io.distpipe.kv.Outcome;
import io.distpipe.kv.ReadResult;
import io.distpipe.kv.WorkerMessage;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.junit.jupiter.api.Test;

/** The worker's last defence without a broker: an answer too large to send becomes an error answer. */
class KvWorkerTest {

    @Test
    void shouldAnswerWithAnErrorRatherThanSendARecordAboveTheLimit() {
        AvroSerdes avro = AvroSerdes.connect("mem://kv-worker-test");
        TopicAdmin.registerSchemas(avro.registry(), Topics.ALL);
        KvWorker worker = new KvWorker(KvWorker.Config.of("W1", "localhost:1"), new KvSerdes(avro));
        Map<String, String> db = new TreeMap<>();
        for (int i = 0; i < 2_000; i++) {
            db.put("key-" + i, "value-" + i);
        }
        WorkerMessage big = message(12, ReadResult.newBuilder().setReadId("r1").setFound(true).setValue(null)
            .setEntries(db).setSize(db.size()).setHash("").build());
        WorkerMessage ack = message(13, new Ack("t1", Outcome.COMMIT));

        List<WorkerMessage> sent = worker.bounded(List.of(big, ack), 10_000).stream()
            .map(KvWorker.Outgoing::message).toList();

        assertThat(sent).hasSize(2);
        assertThat(sent.get(0).getLogOffset()).isEqualTo(12);
        assertThat(sent.get(0).getPayload()).isInstanceOfSatisfying(ReadResult.class, r -> {
            assertThat(r.getReadId()).isEqualTo("r1");
            assertThat(r.getEntries()).isNull();
            assertThat(r.getError()).contains("answer to log entry 12").contains("above the 10,000");
        });
        assertThat(sent.get(1)).isEqualTo(ack);
    }

    @Test
    void shouldReplaceEveryPartOfAnAnswerTheBrokerRefusedByOneErrorAnswer() {
        AvroSerdes avro = AvroSerdes.connect("mem://kv-worker-test-parts");
        TopicAdmin.registerSchemas(avro.registry(), Topics.ALL);
        KvWorker worker = new KvWorker(KvWorker.Config.of("W1", "localhost:1"), new KvSerdes(avro));
        Map<String, String> db = new TreeMap<>();
        for (int i = 0; i < 40_000; i++) {
            db.put("key-" + i, "value-" + i);
        }
        List<WorkerMessage> out = new ArrayList<>();
        out.add(message(11, new Ack("t1", Outcome.COMMIT)));
        for (Object part : Chunks.answerParts(ReadResult.newBuilder().setReadId("r1").setFound(true).setValue(null)
            .setEntries(db).setSize(db.size()).setHash("").build(), Chunks.PART_BYTES)) {
            out.add(message(12, part));
        }
        out.add(message(13, new JoinRequest(13L)));
        assertThat(out).hasSizeGreaterThan(3);

        List<WorkerMessage> sent = worker.withErrors(worker.bounded(out, Chunks.MAX_RECORD_BYTES),
            Set.of(12L)).stream().map(KvWorker.Outgoing::message).toList();

        assertThat(sent).extracting(WorkerMessage::getLogOffset).containsExactly(11L, 12L, 13L);
        assertThat(sent.get(1).getPayload()).isInstanceOfSatisfying(ReadResult.class, r -> {
            assertThat(r.getError()).isEqualTo("the answer was too large to send");
            assertThat(r.getParts()).isEqualTo(1);
        });
    }

    private static WorkerMessage message(long offset, Object payload) {
        return WorkerMessage.newBuilder().setWorker("W1").setLogOffset(offset).setPayload(payload)
            .setSentAt(Instant.EPOCH).build();
    }
}
