package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.distpipe.kv.KvReply;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

class KvLocalIT extends KvLocalFixture {

    @Test
    void shouldCommitSequentialAndConcurrentSets() throws Exception {
        try (KvClient client = KvClient.open(kafka.bootstrapServers(), kv.serdes(), Duration.ofSeconds(30))) {
            // Keys other tests of this class wrote (the store is shared); none is "rapid" or "k<n>".
            long before = client.verify().get().getSize();
            long fromMs = System.currentTimeMillis();
            long t0 = System.nanoTime();
            for (int i = 0; i < 200; i++) {
                assertThat(client.set("rapid", "v" + i).get().getOk()).isTrue();
            }
            long seqMs = (System.nanoTime() - t0) / 1_000_000;
            // Where the time of a sequential SET goes, read back from the topics (kv bench prints the same).
            KvHops.Hops hops = KvHops.measure(kafka.bootstrapServers(), kv.serdes(), fromMs);
            System.out.println("MEASURE hops of the 200 sequential SETs:");
            hops.describe().forEach(System.out::println);
            assertThat(hops.transactions()).as("committed SETs whose every hop was found").isEqualTo(200);
            assertThat(List.of(hops.requestToPrepare(), hops.prepareToLastVote(), hops.lastVoteToDecision(),
                hops.decisionToReply())).allSatisfy(ms -> assertThat(ms).isNotNegative());
            assertThat(hops.requestToPrepare() + hops.prepareToLastVote() + hops.lastVoteToDecision()
                + hops.decisionToReply()).as("the hops of a SET add up to less than its whole time")
                .isLessThanOrEqualTo((double) seqMs / 200 + 1);
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
