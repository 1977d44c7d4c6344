package io.distpipe.kv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.KafkaClients;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.store.KvClient;
import io.distpipe.kv.store.KvLocal;
import io.distpipe.kv.store.KvSerdes;
import io.distpipe.testkit.AuthorizingKafka;
import io.distpipe.testkit.ResetClientProperties;
import io.distpipe.topics.Access;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key-value store on a broker that enforces ACLs: the coordinator and the workers as JVMs of their own, each
 * logged in as its role (kv-coordinator, kv-worker) with only that role's ACLs from {@link Access}, and a client as
 * kv-client. Two-phase commits, reads and verify work; the client cannot read the decisions log.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@ExtendWith(ResetClientProperties.class)
class KvAuthorizedIT {

    @TempDir
    Path dir;

    @Test
    void shouldCommitReadAndVerifyWithEveryProcessUnderItsRolesAcls() throws Exception {
        List<ChildJvm> processes = new ArrayList<>();
        try (AuthorizingKafka cluster = AuthorizingKafka.start(dir)) {
            cluster.grantRoles(Access.KV_COORDINATOR, Access.KV_WORKER, Access.KV_CLIENT);
            KvSerdes serdes = new KvSerdes(AvroSerdes.connect(cluster.registryUrl()));
            cluster.loginAs("kv-coordinator");
            processes.add(launch("C1", "coordinator", cluster));
            cluster.loginAs("kv-worker");
            processes.add(launch("W1", "worker", cluster));
            processes.add(launch("W2", "worker", cluster));
            for (ChildJvm p : processes) {
                p.awaitReady();
            }
            cluster.loginAs(AuthorizingKafka.ADMIN);
            KvLocal.awaitPool(cluster.bootstrapServers(), serdes, 2, Duration.ofSeconds(90));

            cluster.loginAs("kv-client");
            try (KvClient client = KvClient.open(cluster.bootstrapServers(), serdes, Duration.ofSeconds(30))) {
                KvReply set = client.set("a", "1").get(60, TimeUnit.SECONDS);
                assertThat(set.getOk()).as(set.getMessage()).isTrue();
                KvReply get = client.get("a").get(60, TimeUnit.SECONDS);
                assertThat(get.getValue()).isEqualTo("1");
                KvReply verify = client.verify().get(60, TimeUnit.SECONDS);
                assertThat(verify.getOk()).as(verify.getMessage()).isTrue();
                assertThat(verify.getHashes()).containsOnlyKeys("W1", "W2");
            }
            try (KafkaConsumer<byte[], byte[]> forger = new KafkaConsumer<>(KafkaClients.consumer(
                cluster.bootstrapServers(), null, "kv-acl-forger", 0))) {
                forger.assign(List.of(new TopicPartition(Topics.KV_DECISIONS.name(), 0)));
                TopicAuthorizationException refused = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (refused == null && System.nanoTime() < deadline) {
                    try {
                        forger.poll(Duration.ofMillis(200));
                    } catch (TopicAuthorizationException e) {
                        refused = e;
                    }
                }
                assertThat(refused).as("kv-client reading kv.decisions refused").isNotNull();
            }
            for (ChildJvm p : processes) {
                assertThat(p.isAlive()).as(p.id()).isTrue();
            }
        } finally {
            for (ChildJvm p : processes) {
                p.stop(Duration.ofSeconds(10));
            }
        }
    }

    private ChildJvm launch(String id, String role, AuthorizingKafka cluster) throws Exception {
        return KvProcess.spec(id, dir, dir.resolve("logs"), "200m", List.of("kv", role, "--id", id,
            "--bootstrap-servers", cluster.bootstrapServers(), "--registry-url", cluster.registryUrl())).launch();
    }
}
