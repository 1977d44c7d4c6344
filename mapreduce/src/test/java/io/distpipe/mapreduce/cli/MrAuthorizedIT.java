package io.distpipe.mapreduce.cli;

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
import java.util.stream.Stream;

import io.distpipe.cluster.AdminCalls;
import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.cluster.Scram;
import io.distpipe.common.ChildJvm;
import io.distpipe.common.ClientProperties;
import io.distpipe.common.command.Cli;
import io.distpipe.topics.Access;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AclBinding;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A MapReduce job on a broker that enforces ACLs: the coordinator and a worker as JVMs of their own, logged in as
 * mr-coordinator and mr-worker with only their roles' ACLs from {@link Access} (the coordinator creates the job's
 * intermediate topic by prefix), and {@code mr submit} as mr-client through {@code --command-config}.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MrAuthorizedIT {

    private static final List<Access> ROLES = List.of(Access.MR_COORDINATOR, Access.MR_WORKER, Access.MR_CLIENT);

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
    void shouldCountWordsWithEveryProcessUnderItsRolesAcls() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("a.txt"), "the cat the hat\n");
        Files.writeString(input.resolve("b.txt"), "the cat\n");
        Map<String, Scram> logins = new TreeMap<>();
        List<ChildJvm> processes = new ArrayList<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary(new Scram("admin", "pw-" + UUID.randomUUID(), true));
             SchemaRegistryServer registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0)) {
            try (Admin admin = AdminCalls.create(kafka.bootstrapServers(), "mr-acl-admin", kafka.clientProperties())) {
                TopicAdmin.ensureTopics(admin, Topics.external(), 1);
                TopicAdmin.registerSchemas(AvroSerdes.connect(registry.url()).registry(), Topics.ALL);
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
            ClientProperties.use(config(logins.get("mr-coordinator").clientProperties()), List.of());
            processes.add(launch("mr-coordinator", List.of("mr", "coordinator"), kafka, registry));
            ClientProperties.use(config(logins.get("mr-worker").clientProperties()), List.of());
            processes.add(launch("mr-worker-1", List.of("mr", "worker", "--id", "mr-worker-1"), kafka, registry));
            for (ChildJvm p : processes) {
                p.awaitReady();
            }
            ClientProperties.use(null, List.of());

            Path output = dir.resolve("out");
            int code = Cli.run("mr", "submit", "--app", "wc", "--input", input.toString(), "--output",
                output.toString(), "--reduces", "2", "--timeout", "2m", "-b", kafka.bootstrapServers(), "-r",
                registry.url(), "--command-config", config(logins.get("mr-client").clientProperties()).toString());

            assertThat(code).isEqualTo(Cli.EXIT_OK);
            List<String> lines = new ArrayList<>();
            try (Stream<Path> files = Files.list(output)) {
                for (Path f : files.filter(p -> p.getFileName().toString().startsWith("mr-out-")).toList()) {
                    lines.addAll(Files.readAllLines(f));
                }
            }
            assertThat(lines).containsExactlyInAnyOrder("the 3", "cat 2", "hat 1");
            for (ChildJvm p : processes) {
                assertThat(p.isAlive()).as(p.id()).isTrue();
            }
        } finally {
            for (ChildJvm p : processes) {
                p.stop(Duration.ofSeconds(10));
            }
        }
    }

    private ChildJvm launch(String id, List<String> args, EmbeddedKafka kafka, SchemaRegistryServer registry)
        throws Exception {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url()));
        return ChildJvm.spec(id, Cli.class.getName(), dir.resolve(id + ".out"))
            .withJvmOptions("-Xmx200m", "-XX:+UseSerialGC")
            .withArgs(all)
            .withReadyTimeout(Duration.ofSeconds(60))
            .launch();
    }
}
