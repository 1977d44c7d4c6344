package io.distpipe.replicas.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.Poll;
import io.distpipe.replicas.ReplicaRole;
import io.distpipe.replicas.RoleAssignment;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import io.distpipe.testkit.ScenarioCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replicated server's failover scenario, written once against a {@link ScenarioCluster}: each subclass says what
 * runs the brokers and the registry (in-process nodes, or containers where Docker runs). The server is
 * {@link ReplicaScenario}'s (membership processor and RM in this JVM, replicas S1..S3 as child JVMs, clients on
 * threads); one SIGKILL of the primary here, five in {@code ReplicasFailoverIT}.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
abstract class ReplicaScenarios {

    @TempDir
    Path dir;

    /** The cluster of the subclass; each one runs a single replica scenario (fixed topic and group names). */
    abstract ScenarioCluster cluster();

    @Test
    void shouldLoseNothingWhenThePassivePrimaryIsKilledWithClientsInFlight() throws Exception {
        ScenarioCluster cluster = cluster();
        // Suspicion after 1.5 s as in ReplicasFailoverIT: on a loaded machine 0.8 s also suspects live replicas.
        try (ReplicaScenario s = ReplicaScenario.start(new ReplicaScenario.Settings(Mode.PASSIVE, dir,
                Duration.ofMillis(200), Duration.ofMillis(1500), Duration.ofMillis(500)), line -> { },
            new ReplicaScenario.Cluster(cluster.bootstrapServers(), cluster.registryUrl()))) {
            s.startReplicas("S1", "S2", "S3");
            s.awaitRoles();
            assertThat(s.roles()).as("one primary and two backups").hasSize(3);
            s.startClients(2, 20);
            s.awaitAcks(10, null);

            // The clients keep sending at 20 requests/s each, so requests are in flight when the primary dies.
            String victim = s.primary().orElseThrow();
            long acksBefore = s.ackCount();
            long killedAt = System.nanoTime();
            s.kill(victim);
            String successor = s.awaitPrimaryOtherThan(victim);
            s.awaitAckFrom(successor, killedAt);
            s.awaitGone(victim);
            s.awaitAcks(10, successor);

            // Polled, not read once: a live replica suspected for a moment on a loaded machine comes back as a backup.
            Poll.until("roles: " + successor + " primary, the other live replica backup, " + victim + " dropped",
                ReplicaScenario.WAIT, () -> {
                    Map<String, RoleAssignment> roles = s.roles();
                    return roles.keySet().equals(Set.copyOf(s.liveReplicas())) && roles.values().stream()
                        .allMatch(a -> a.getRole() == (a.getMember().equals(successor) ? ReplicaRole.PRIMARY
                            : ReplicaRole.BACKUP));
                });

            s.stopClients();
            HistoryChecker.Verdict verdict = s.check();
            assertThat(verdict.problems()).as("no acknowledged request lost or applied twice, replies agree")
                .isEmpty();
            assertThat(verdict.acknowledged()).isGreaterThan(acksBefore);
            assertThat(s.acks().stream().map(ReplicaScenario.Ack::server).distinct())
                .as("answered by the old primary, then by the new one").contains(victim, successor);
        }
    }
}
