package io.distpipe.replicas.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.replicas.ReplicaRole;
import io.distpipe.replicas.server.HistoryChecker;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import io.distpipe.replicas.server.ReplicaScenario;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code distpipe bench replicas}: passive failover time and requests/s of the replicated server in both modes. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = {
    "On an embedded broker with replica JVMs: the passive failover time (primary SIGKILL to the first reply from the "
        + "new primary; goal <= 2 s) over several kills, and requests/s with 3 clients as fast as replies come, for "
        + "passive (3 replicas) and active (3 replicas), each against a baseline of one active replica measured in the "
        + "same run."})
final class ReplicasBench implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--kills", paramLabel = "N", defaultValue = "3",
        description = "Primary kills to time (default ${DEFAULT-VALUE}).")
    int kills;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "10",
        description = "Length of each throughput run (default ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--heartbeat-interval", paramLabel = "DURATION", defaultValue = "200ms",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "Replicas' heartbeat interval (default ${DEFAULT-VALUE}).")
    Duration heartbeat;

    @Option(names = "--suspect-after", paramLabel = "DURATION", defaultValue = "800ms",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "Silence after which the GFD suspects a replica, checked every quarter of it (default "
            + "${DEFAULT-VALUE}).")
    Duration suspectAfter;

    private PrintWriter out;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        Path dir = Files.createTempDirectory("distpipe-bench-replicas-");
        if (suspectAfter.compareTo(heartbeat.multipliedBy(2)) < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--suspect-after must be at least twice --heartbeat-interval");
        }
        try {
            List<Double> failovers = new ArrayList<>();
            double passive;
            boolean consistent = true;
            say("Passive: 3 replicas, 3 clients at 20 requests/s each, SIGKILL the primary %d times (heartbeats every "
                + "%d ms, suspected after %d ms)...", kills, heartbeat.toMillis(), suspectAfter.toMillis());
            try (ReplicaScenario s = ReplicaScenario.start(new ReplicaScenario.Settings(Mode.PASSIVE,
                dir.resolve("passive"), heartbeat, suspectAfter, Duration.ofSeconds(1)), line -> { })) {
                s.startReplica("S1");
                s.awaitRoles();
                s.startReplicas("S2", "S3");
                s.awaitRoles();
                s.startClients(3, 20);
                List<String> dead = new ArrayList<>();
                for (int i = 1; i <= kills; i++) {
                    if (dead.size() == 2) {
                        long epoch = s.maxEpoch();
                        s.startReplicas(dead.toArray(String[]::new));
                        for (String id : dead) {
                            s.awaitRole(id, ReplicaRole.BACKUP, epoch);
                        }
                        dead.clear();
                    }
                    String primary = s.primary().orElseThrow();
                    s.awaitAcks(20, primary);
                    long killedAt = System.nanoTime();
                    s.kill(primary);
                    dead.add(primary);
                    String next = s.awaitPrimaryOtherThan(primary);
                    double secondsToReply = (s.awaitAckFrom(next, killedAt).nanos() - killedAt) / 1e9;
                    failovers.add(secondsToReply);
                    say("  kill %d: %s -> %s, first reply from %s after %.2f s", i, primary, next, next,
                        secondsToReply);
                }
                s.stopClients();
                passive = throughput(s, "P");
                say("  passive, %d replicas alive: %,.0f requests/s", s.liveReplicas().size(), passive);
                consistent &= verdict(s);
            }

            double baseline;
            double active;
            say("Active: one replica (the baseline), then three; 3 clients as fast as replies come...");
            try (ReplicaScenario s = ReplicaScenario.start(new ReplicaScenario.Settings(Mode.ACTIVE,
                dir.resolve("active"), heartbeat, suspectAfter, Duration.ofSeconds(1)), line -> { })) {
                s.startReplica("S1");
                s.awaitRoles();
                baseline = throughput(s, "B");
                say("  active, 1 replica:  %,.0f requests/s", baseline);
                s.startReplicas("S2", "S3");
                s.awaitRoles();
                active = throughput(s, "A");
                say("  active, 3 replicas: %,.0f requests/s", active);
                consistent &= verdict(s);
            }

            failovers.sort(Comparator.naturalOrder());
            say("");
            say("Results (%d cores):", Runtime.getRuntime().availableProcessors());
            say("  passive failover, primary SIGKILL -> first reply from the new primary: median %.2f s, max %.2f s "
                + "over %d kills (goal <= 2 s)", failovers.get(failovers.size() / 2),
                failovers.get(failovers.size() - 1),
                failovers.size());
            say("  requests/s with 3 clients: 1 active replica %,.0f (baseline); 3 active %,.0f (%.2f x); 3 passive "
                + "%,.0f (%.2f x)", baseline, active, active / baseline, passive, passive / baseline);
            say("  histories checked: %s", consistent ? "no acknowledged request lost or applied twice"
                : "PROBLEMS (see above)");
            return consistent ? Cli.EXIT_OK : Cli.EXIT_FAILURE;
        } finally {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Acknowledged requests per second of 3 new clients sending as fast as replies come, over the run's length. */
    private double throughput(ReplicaScenario s, String prefix) throws Exception {
        s.startClients(prefix, 3, 0);
        s.awaitAcks(30, null);
        long from = s.ackCount();
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        double rate = (s.ackCount() - from) / ((System.nanoTime() - t0) / 1e9);
        s.stopClients();
        return rate;
    }

    private boolean verdict(ReplicaScenario s) throws Exception {
        HistoryChecker.Verdict v = s.check();
        say("  %s", v.summary());
        v.problems().forEach(p -> say("  PROBLEM: %s", p));
        return v.ok();
    }

    private void say(String format, Object... args) {
        out.println(String.format(format, args));
        out.flush();
    }
}
