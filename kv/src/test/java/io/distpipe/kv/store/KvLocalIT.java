package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.distpipe.kv.Ack;
import io.distpipe.kv.Decision;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.Vote;
import io.distpipe.kv.VoteRequest;
import io.distpipe.kv.WorkerMessage;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

class KvLocalIT extends KvLocalFixture {

    /** Where the time of a sequential transaction goes, from the timestamps the records carry (one JVM, one clock). */
    private static void printStageTimes() {
        java.util.Map<String, Object> props = io.distpipe.common.KafkaClients.consumer(kafka.bootstrapServers(), null,
            "diag", 0);
        java.util.Map<String, Long> vr = new java.util.HashMap<>();
        java.util.Map<String, Long> dec = new java.util.HashMap<>();
        java.util.Map<String, Long> vote = new java.util.HashMap<>();
        java.util.Map<String, Long> ack = new java.util.HashMap<>();
        try (org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> c =
                 new org.apache.kafka.clients.consumer.KafkaConsumer<>(props)) {
            java.util.List<org.apache.kafka.common.TopicPartition> tps = new java.util.ArrayList<>();
            tps.add(new org.apache.kafka.common.TopicPartition("kv.decisions", 0));
            for (int p = 0; p < 6; p++) {
                tps.add(new org.apache.kafka.common.TopicPartition("kv.votes", p));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            java.util.Map<org.apache.kafka.common.TopicPartition, Long> end = c.endOffsets(tps);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < deadline && tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                for (var r : c.poll(Duration.ofMillis(200))) {
                    if (r.topic().equals("kv.decisions")) {
                        KvLogEntry e = kv.serdes().logReader.deserialize(r.topic(), r.value());
                        if (e.getPayload() instanceof VoteRequest v) {
                            vr.put(v.getTxId(), e.getWrittenAt().toEpochMilli());
                        } else if (e.getPayload() instanceof Decision d) {
                            dec.put(d.getTxId(), e.getWrittenAt().toEpochMilli());
                        }
                    } else {
                        WorkerMessage m = kv.serdes().workerReader.deserialize(r.topic(), r.value());
                        if (m.getPayload() instanceof Vote v) {
                            vote.merge(v.getTxId(), m.getSentAt().toEpochMilli(), Math::max);
                        } else if (m.getPayload() instanceof Ack a) {
                            ack.merge(a.getTxId(), m.getSentAt().toEpochMilli(), Math::max);
                        }
                    }
                }
            }
        }
        long n = 0, a = 0, b = 0, d = 0;
        for (String tx : vr.keySet()) {
            if (dec.containsKey(tx) && vote.containsKey(tx) && ack.containsKey(tx)) {
                n++;
                a += vote.get(tx) - vr.get(tx);
                b += dec.get(tx) - vote.get(tx);
                d += ack.get(tx) - dec.get(tx);
            }
        }
        System.out.printf("MEASURE stages over %d tx: vote request->last vote %d ms, last vote->decision %d ms, "
            + "decision->last ack %d ms%n", n, a / Math.max(1, n), b / Math.max(1, n), d / Math.max(1, n));
    }

    @Test
    void shouldCommitSequentialAndConcurrentSets() throws Exception {
        try (KvClient client = KvClient.open(kafka.bootstrapServers(), kv.serdes(), Duration.ofSeconds(30))) {
            // Keys other tests of this class wrote (the store is shared); none is "rapid" or "k<n>".
            long before = client.verify().get().getSize();
            long t0 = System.nanoTime();
            for (int i = 0; i < 200; i++) {
                assertThat(client.set("rapid", "v" + i).get().getOk()).isTrue();
            }
            long seqMs = (System.nanoTime() - t0) / 1_000_000;
            printStageTimes();
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
            assertThat(verify.getSize()).isEqualTo(before + 3001);
        }
    }

    @Test
    void shouldServeAgainAfterTheCoordinatorWasFencedInsteadOfStopping() throws Exception {
        KvCoordinator coordinator = kv.coordinators().get(0);
        try (KvClient client = KvClient.open(kafka.bootstrapServers(), kv.serdes(), Duration.ofSeconds(60))) {
            assertThat(client.set("fence", "before").get(60, TimeUnit.SECONDS).getOk()).isTrue();

            // Someone else initializes the coordinators' transactional id: the coordinator's next commit is fenced.
            try (KafkaProducer<byte[], byte[]> other = new KafkaProducer<>(KvSerdes.transactionalProducer(
                kafka.bootstrapServers(), KvCoordinator.TRANSACTIONAL_ID, 10_000))) {
                other.initTransactions();
            }

            // The write meets the fence, the coordinator leaves the group, is assigned kv.requests again, fences the
            // other producer in turn, recovers from the log and serves the request it had not committed.
            KvReply after = client.set("fence", "after").get(60, TimeUnit.SECONDS);
            assertThat(after.getOk()).as(after.getMessage()).isTrue();
            assertThat(coordinator.failure()).isNull();
            assertThat(coordinator.active()).isTrue();
            assertThat(client.get("fence").get(60, TimeUnit.SECONDS).getValue()).isEqualTo("after");
            KvReply verify = client.verify().get(60, TimeUnit.SECONDS);
            assertThat(verify.getOk()).as(verify.getMessage()).isTrue();
        }
    }
}
