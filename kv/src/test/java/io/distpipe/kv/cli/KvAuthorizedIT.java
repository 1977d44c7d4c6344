package io.distpipe.kv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import io.distpipe.cluster.AdminCalls;
import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.cluster.Scram;
import io.distpipe.common.ChildJvm;
import io.distpipe.common.ClientProperties;
import io.distpipe.common.KafkaClients;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.store.KvClient;
import io.distpipe.kv.store.KvLocal;
import io.distpipe.kv.store.KvSerdes;
import io.distpipe.topics.Access;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key-value store on a broker that enforces ACLs: the coordinator and the workers as JVMs of their own, each
 * logged in as its role (kv-coordinator, kv-worker) with only that role's ACLs from {@link Access}, and a client as
 * kv-client. Two-phase commits, reads and verify work; the client cannot read the decisions log.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class KvAuthorizedIT {

    private static final List<Access> ROLES = List.of(Access.KV_COORDINATOR, Access.KV_WORKER, Access.KV_CLIENT);

    @TempDir
    Path dir;

    @AfterEach
    void reset() {
        ClientProperties.use(null, List.of());
    }

    private Path config(Map<String, String> properties) throws Exception {
        List<String> lines = new ArrayList<>();
        properties.forEach((k, v) -> lines.add(k + "=" + v));
        return Files.write(dir.resolve("client-" + UUID.randomUUID() + ".properties"), lines);
    }

    @Test
    void shouldCommitReadAndVerifyWithEveryProcessUnderItsRolesAcls() throws Exception {
        Map<String, Scram> logins = new TreeMap<>();
        List<ChildJvm> processes = new ArrayList<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary(new Scram("admin", "pw-" + UUID.randomUUID(), true));
             SchemaRegistryServer registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0)) {
            ClientProperties.use(config(kafka.clientProperties()), List.of());
            AvroSerdes avro = AvroSerdes.connect(registry.url());
            KvSerdes.prepare(kafka.bootstrapServers(), avro, 1);
            KvSerdes serdes = new KvSerdes(avro);
            try (Admin admin = AdminCalls.create(kafka.bootstrapServers(), "kv-acl-admin")) {
                List<UserScramCredentialAlteration> users = new ArrayList<>();
                List<AclBinding> acls = new ArrayList<>();
                for (Access role : ROLES) {
                    Scram login = new Scram(role.principal(), "pw-" + UUID.randomUUID());
                    logins.put(role.principal(), login);
                    users.add(new UserScramCredentialUpsertion(login.user(), new ScramCredentialInfo(
                        ScramMechanism.SCRAM_SHA_512, 4096), login.password()));
                    acls.addAll(role.bindings(login.user()));
                }
                admin.alterUserScramCredentials(users).all().get(30, TimeUnit.SECONDS);
                admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
            }

            // Each child gets the client properties in use when it starts.
            ClientProperties.use(config(logins.get("kv-coordinator").clientProperties()), List.of());
            processes.add(launch("C1", "coordinator", kafka, registry));
            ClientProperties.use(config(logins.get("kv-worker").clientProperties()), List.of());
            processes.add(launch("W1", "worker", kafka, registry));
            processes.add(launch("W2", "worker", kafka, registry));
            for (ChildJvm p : processes) {
                p.awaitReady();
            }
            ClientProperties.use(config(kafka.clientProperties()), List.of());
            KvLocal.awaitPool(kafka.bootstrapServers(), serdes, 2, Duration.ofSeconds(90));

            ClientProperties.use(config(logins.get("kv-client").clientProperties()), List.of());
            try (KvClient client = KvClient.open(kafka.bootstrapServers(), serdes, Duration.ofSeconds(30))) {
                KvReply set = client.set("a", "1").get(60, TimeUnit.SECONDS);
                assertThat(set.getOk()).as(set.getMessage()).isTrue();
                KvReply get = client.get("a").get(60, TimeUnit.SECONDS);
                assertThat(get.getValue()).isEqualTo("1");
                KvReply verify = client.verify().get(60, TimeUnit.SECONDS);
                assertThat(verify.getOk()).as(verify.getMessage()).isTrue();
                assertThat(verify.getHashes()).containsOnlyKeys("W1", "W2");
            }
            try (KafkaConsumer<byte[], byte[]> forger = new KafkaConsumer<>(KafkaClients.consumer(
                kafka.bootstrapServers(), null, "kv-acl-forger", 0))) {
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

    private ChildJvm launch(String id, String role, EmbeddedKafka kafka, SchemaRegistryServer registry)
        throws Exception {
        return KvProcess.spec(id, dir, dir.resolve("logs"), "200m", List.of("kv", role, "--id", id,
            "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url())).launch();
    }
}
