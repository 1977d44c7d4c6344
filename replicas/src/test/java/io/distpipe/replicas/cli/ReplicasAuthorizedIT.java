package io.distpipe.replicas.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.ClientProperties;
import io.distpipe.common.WorkerProcess;
import io.distpipe.common.command.Cli;
import io.distpipe.membership.MembershipService;
import io.distpipe.membership.MembershipTopology;
import io.distpipe.testkit.AuthorizingKafka;
import io.distpipe.testkit.ConsoleCapture;
import io.distpipe.testkit.ResetClientProperties;
import io.distpipe.topics.Access;
import io.distpipe.topics.serde.AvroSerdes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The passive replicated server on a broker that enforces ACLs: the membership processor as membership, the
 * replica manager and two replicas as JVMs logged in as replica-manager and replica with only their roles' ACLs from
 * {@link Access}, and {@code replica-client} as replica-client through {@code --command-config}: every request is
 * acknowledged.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@ExtendWith(ResetClientProperties.class)
class ReplicasAuthorizedIT {

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @TempDir
    Path dir;

    @Test
    void shouldAcknowledgeEveryRequestWithEveryPartUnderItsRolesAcls() throws Exception {
        List<ChildJvm> processes = new ArrayList<>();
        try (AuthorizingKafka cluster = AuthorizingKafka.start(dir)) {
            cluster.grantRoles(Access.MEMBERSHIP, Access.REPLICA, Access.REPLICA_MANAGER, Access.REPLICA_CLIENT);
            List<String> where = List.of("--bootstrap-servers", cluster.bootstrapServers(), "--registry-url",
                cluster.registryUrl());
            // The membership processor in this JVM: its Kafka Streams clients keep the login they were made with.
            cluster.loginAs("membership");
            try (MembershipService membership = new MembershipService("acl-membership", cluster.bootstrapServers(),
                1, Files.createDirectories(dir.resolve("membership")), AvroSerdes.connect(cluster.registryUrl()),
                new MembershipTopology.Config(Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofMillis(250)))) {
                membership.start();
                membership.awaitRunning(Duration.ofSeconds(60));
                cluster.loginAs("replica-manager");
                processes.add(start("RM", concat(List.of("replica-manager", "--mode", "passive"), where)));
                cluster.loginAs("replica");
                for (String id : List.of("S1", "S2")) {
                    processes.add(start(id, concat(List.of("replica", "--id", id, "--mode", "passive"), where)));
                }
                ClientProperties.use(null, List.of());

                Path history = dir.resolve("C1.jsonl");
                int code = Cli.run(concat(List.of("replica-client", "--id", "C1", "--requests", "10", "--rate", "0",
                    "--give-up-after", "90s", "--history", history.toString(), "--command-config",
                    cluster.config("replica-client").toString()), where).toArray(String[]::new));

                assertThat(code).as(console.out() + console.err()).isEqualTo(Cli.EXIT_OK);
                assertThat(Files.readAllLines(history).stream().filter(l -> l.contains("\"ok\""))).as(
                    "acknowledged requests in the history").hasSize(10);
                for (ChildJvm p : processes) {
                    assertThat(p.isAlive()).as(p.id()).isTrue();
                }
            }
        } finally {
            for (ChildJvm p : processes) {
                p.stop(Duration.ofSeconds(10));
            }
        }
    }

    private ChildJvm start(String id, List<String> args) throws Exception {
        return WorkerProcess.spec(id, dir.resolve("logs"), args).start();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
