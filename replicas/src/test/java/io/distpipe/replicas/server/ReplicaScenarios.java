package io.distpipe.replicas.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
 * threads); one SIGSTOP/SIGCONT and then one SIGKILL of the primary here (one cluster start-up for both faults), five
 * SIGKILLs in {@code ReplicasFailoverIT}.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
abstract class ReplicaScenarios {

    @TempDir
    Path dir;

    /** The cluster of the subclass; each one runs a single replica scenario (fixed topic and group names). */
    abstract ScenarioCluster cluster();

    @Test
    void shouldAcknowledgeFromOnePrimaryAtATimeAndLoseNothingWhenThePrimaryIsPausedThenKilled() throws Exception {
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

            // SIGSTOP of the primary, longer than the suspicion timeout: frozen, it keeps its connections and its open
            // transaction and still believes it is primary. A backup must take over and serve meanwhile.
            String frozen = s.primary().orElseThrow();
            long repliesBeforePause = s.repliesEnd();
            long pausedAt = System.nanoTime();
            s.pause(frozen);
            String standIn = s.awaitPrimaryOtherThan(frozen);
            s.awaitGone(frozen);
            s.awaitAckFrom(standIn, pausedAt);
            s.awaitAcks(10, standIn);
            // SIGCONT: it runs on from where it stopped; its commit must fail (fenced) and it must come back a backup.
            long epoch = s.maxEpoch();
            s.resume(frozen);
            s.awaitRole(frozen, ReplicaRole.BACKUP, epoch);
            s.awaitAcks(10, null);
            long repliesBeforeKill = s.repliesEnd();

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
                .as("answered by each old primary, then by its successor").contains(frozen, standIn, victim,
                    successor);

            // Audited on the committed replies, not on what the clients or the replicas say.
            List<RepliesAudit.Logged> committed = s.committedReplies();
            assertThat(RepliesAudit.oneHistory(committed)).as("committed replies form one history").isEmpty();
            assertThat(RepliesAudit.nothingFromReplacedAfterSuccessor(committed, frozen, standIn, repliesBeforePause,
                repliesBeforeKill)).as("the resumed " + frozen + " acknowledged nothing once " + standIn + " had")
                .isEmpty();
        }
    }
}
