package io.distpipe.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.topics.serde.AvroSerdes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class KvLocalIT {

    private static EmbeddedKafka kafka;
    private static KvLocal kv;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.startTemporary();
        kv = KvLocal.start(kafka.bootstrapServers(), AvroSerdes.connect("mem://kv-local-it"), 3, true);
    }

    @AfterAll
    static void stop() {
        if (kv != null) {
            kv.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void shouldCommitSequentialAndConcurrentSets() throws Exception {
        try (KvClient client = new KvClient(kafka.bootstrapServers(), kv.serdes(), Duration.ofSeconds(30))) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 200; i++) {
                assertThat(client.set("rapid", "v" + i).get().getOk()).isTrue();
            }
            long seqMs = (System.nanoTime() - t0) / 1_000_000;
            t0 = System.nanoTime();
            List<CompletableFuture<KvReply>> futures = new ArrayList<>();
            for (int i = 0; i < 3000; i++) {
                futures.add(client.set("k" + i, "v" + i));
            }
            int ok = 0;
            for (CompletableFuture<KvReply> f : futures) {
                ok += f.get().getOk() ? 1 : 0;
            }
            long parMs = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf("MEASURE sequential 200 sets: %d ms (%.1f ms each); 3000 concurrent: %d ms, %d ok%n",
                seqMs, seqMs / 200.0, parMs, ok);
            assertThat(ok).isEqualTo(3000);
            KvReply get = client.get("rapid").get();
            assertThat(get.getValue()).isEqualTo("v199");
            KvReply verify = client.verify().get();
            assertThat(verify.getOk()).as(verify.getMessage()).isTrue();
            assertThat(verify.getHashes()).hasSize(3);
            assertThat(verify.getSize()).isEqualTo(3001);
        }
    }
}
