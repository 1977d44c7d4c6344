package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distpipe.replicas.HistoryChecker;
import io.distpipe.replicas.ReplicaManagerTopology.Mode;
import io.distpipe.replicas.ReplicaRole;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Passive replication under repeated SIGKILLs of the primary, the first one in the middle of a checkpoint. */
class ReplicasFailoverIT {

    private static final Pattern PENDING = Pattern.compile("CHECKPOINT-PENDING S1 #(\\d+)");
    private static final Pattern LOADED = Pattern.compile("loaded checkpoint #(\\d+)");

    @TempDir
    Path dir;

    @Test
    void shouldLoseNothingWhenThePrimaryIsKilledFiveTimesOnceDuringACheckpoint() throws Exception {
        List<String> printed = new ArrayList<>();
        try (ReplicaScenario s = ReplicaScenario.start(ReplicaScenario.Settings.fast(Mode.PASSIVE, dir,
            Duration.ofMillis(500)), line -> {
                synchronized (printed) {
                    printed.add(line);
                }
            })) {
            // S1 stalls 1.5 s inside every checkpoint's transaction, so a kill can land in the middle of one.
            s.startReplica("S1", "--pause-in-checkpoint", "1500ms");
            s.awaitRoles();
            s.startReplicas("S2", "S3");
            s.awaitRoles();
            s.startClients(3, 20);
            s.awaitAcks(10, null);

            // Kill 1: while S1's checkpoint is written but not committed.
            int seen = s.output("S1").size();
            String pending = s.awaitLine("S1", "to be inside a checkpoint",
                l -> PENDING.matcher(l).find() && s.output("S1").indexOf(l) >= seen);
            Matcher m = PENDING.matcher(pending);
            assertThat(m.find()).isTrue();
            long pendingNum = Long.parseLong(m.group(1));
            long killedAt = System.nanoTime();
            s.kill("S1");
            String next = s.awaitPrimaryOtherThan("S1");
            s.awaitAckFrom(next, killedAt);
            String promoted = s.awaitLine(next, "to be promoted", l -> l.contains("promoted to primary"));
            Matcher loaded = LOADED.matcher(promoted);
            long loadedNum = loaded.find() ? Long.parseLong(loaded.group(1)) : 0;
            assertThat(loadedNum).as("the checkpoint being written when S1 died was aborted, not loaded")
                .isLessThan(pendingNum);

            // Kills 2 to 5: the current primary each time; the dead are restarted two at a time.
            List<String> dead = new ArrayList<>(List.of("S1"));
            for (int kill = 2; kill <= 5; kill++) {
                if (dead.size() == 2) {
                    long epoch = s.maxEpoch();
                    s.startReplicas(dead.toArray(String[]::new));
                    for (String id : dead) {
                        s.awaitRole(id, ReplicaRole.BACKUP, epoch);
                    }
                    dead.clear();
                }
                String primary = s.primary().orElseThrow();
                s.awaitAcks(10, primary);
                killedAt = System.nanoTime();
                s.kill(primary);
                dead.add(primary);
                String successor = s.awaitPrimaryOtherThan(primary);
                s.awaitAckFrom(successor, killedAt);
            }
            s.awaitAcks(10, null);
            s.stopClients();
            HistoryChecker.Verdict verdict = s.check();
            assertThat(verdict.problems()).isEmpty();
            assertThat(verdict.acknowledged()).isGreaterThan(50);
            assertThat(s.acks().stream().map(ReplicaScenario.Ack::server).distinct()).as("every replica was primary")
                .containsExactlyInAnyOrder("S1", "S2", "S3");
        }
    }
}
