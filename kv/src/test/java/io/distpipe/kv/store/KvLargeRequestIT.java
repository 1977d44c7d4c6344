package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.kv.KvReply;
import io.distpipe.topics.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

/**
 * The shell session of issue #18 on a coordinator and three workers: databases and transactions whose records would
 * exceed the producer's 1 MiB travel in parts, and a request above the documented limit is refused at the edge while
 * the store serves on; an answer the broker refuses as too large is answered with an error, and no worker stops.
 */
class KvLargeRequestIT extends KvLocalFixture {

    @Test
    void shouldServeSixtyThousandKeysAndRefuseAnOversizedMultisetWithoutStopping() throws Exception {
        try (KvClient client = KvClient.open(kafka.bootstrapServers(), kv.serdes(), Duration.ofSeconds(30))) {
            KvShell shell = new KvShell(client, null, null);
            for (int i = 0; i < 3; i++) {
                KvShell.Result multiset = shell.execute("multiset 20000");
                assertThat(multiset.ok()).as(multiset.line()).isTrue();
            }

            KvReply db = client.db().get(60, TimeUnit.SECONDS);
            assertThat(db.getOk()).as(db.getMessage()).isTrue();
            assertThat(db.getSize()).isEqualTo(60_000);
            assertThat(db.getEntries().size()).isEqualTo(60_000);
            // multiset writes m-RUN-i = RUN-i: three runs of 20 000 keys each, every value its key's.
            Map<String, Long> perRun = db.getEntries().entrySet().stream()
                .peek(e -> assertThat(e.getKey()).isEqualTo("m-" + e.getValue()))
                .collect(Collectors.groupingBy(e -> e.getValue().substring(0, e.getValue().indexOf('-')),
                    TreeMap::new, Collectors.counting()));
            assertThat(perRun.values()).containsExactly(20_000L, 20_000L, 20_000L);
            KvShell.Result dbLine = shell.execute("db");
            assertThat(dbLine.ok()).as(dbLine.line().substring(0, Math.min(200, dbLine.line().length()))).isTrue();
            assertThat(dbLine.line()).startsWith("60000 keys: ");

            assertOk(shell.execute("verify"));
            assertOk(shell.execute("set a 1"));
            assertThat(shell.execute("get a").line()).isEqualTo("a=1");

            // 60 000 writes of 26 bytes each: about 1.5 MB of keys and values, above one request's limit.
            KvShell.Result big = shell.execute("multiset 60000");
            assertThat(big.ok()).isFalse();
            assertThat(big.line()).contains("refused").contains("limit").contains("none, as it must be");

            assertOk(shell.execute("set b 2"));
            assertThat(shell.execute("get b").line()).isEqualTo("b=2");
            KvReply after = client.db().get(60, TimeUnit.SECONDS);
            assertThat(after.getEntries().size()).isEqualTo(60_002);
            assertThat(after.getEntries().get("a")).isEqualTo("1");
            assertThat(after.getEntries().get("b")).isEqualTo("2");
            KvReply verify = client.verify().get(60, TimeUnit.SECONDS);
            assertThat(verify.getOk()).as(verify.getMessage()).isTrue();
            assertThat(verify.getHashes()).hasSize(3);

            // The broker now refuses what the workers send for a db (a part is far above 10 000 bytes): each worker
            // answers that log entry with an error instead of dying on it, and serves on once the limit is lifted.
            setVotesMaxMessageBytes("10000");
            KvReply refused = Poll.untilPresent("a db answered with the workers' error", Duration.ofSeconds(60),
                () -> Optional.of(get(client.db())).filter(r -> !r.getOk()));
            assertThat(refused.getMessage()).startsWith("the workers could not answer: ").contains("too large");
            setVotesMaxMessageBytes(null);
            assertOk(shell.execute("set c 3"));
            assertThat(shell.execute("get c").line()).isEqualTo("c=3");
            KvReply whole = Poll.untilPresent("a whole db again", Duration.ofSeconds(60),
                () -> Optional.of(get(client.db())).filter(KvReply::getOk));
            assertThat(whole.getEntries().size()).isEqualTo(60_003);
            KvReply last = client.verify().get(60, TimeUnit.SECONDS);
            assertThat(last.getOk()).as(last.getMessage()).isTrue();
            assertThat(last.getHashes()).as("workers that answer verify").hasSize(3);
        }
    }

    /** Sets (or with null removes) kv.votes' max.message.bytes. */
    private static void setVotesMaxMessageBytes(String value) throws Exception {
        ConfigResource votes = new ConfigResource(ConfigResource.Type.TOPIC, Topics.KV_VOTES.name());
        ConfigEntry entry = new ConfigEntry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, value == null ? "" : value);
        AlterConfigOp op = new AlterConfigOp(entry, value == null ? AlterConfigOp.OpType.DELETE
            : AlterConfigOp.OpType.SET);
        try (Admin admin = KafkaClients.reachableAdmin(kafka.bootstrapServers(), "kv-large-it-admin")) {
            admin.incrementalAlterConfigs(Map.of(votes, List.of(op))).all().get(30, TimeUnit.SECONDS);
        }
    }

    private static KvReply get(CompletableFuture<KvReply> reply) {
        try {
            return reply.get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void assertOk(KvShell.Result result) {
        assertThat(result.ok()).as(result.line()).isTrue();
    }
}
