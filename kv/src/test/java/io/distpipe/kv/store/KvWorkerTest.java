package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.distpipe.kv.Ack;
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

    private static WorkerMessage message(long offset, Object payload) {
        return WorkerMessage.newBuilder().setWorker("W1").setLogOffset(offset).setPayload(payload)
            .setSentAt(Instant.EPOCH).build();
    }
}
