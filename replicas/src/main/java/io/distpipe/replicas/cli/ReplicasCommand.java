package io.distpipe.replicas.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRole;
import io.distpipe.replicas.server.HistoryChecker;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import io.distpipe.replicas.server.ReplicaScenario;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code distpipe replicas}: the replicated server's commands: a replica, the replica manager, a client, the
 * eight-step demo with real replica processes, and the failover benchmark.
 */
@Command(name = "replicas", mixinStandardHelpOptions = true,
    description = "The replicated server (active and passive replication, fault detectors, replica manager).",
    subcommands = {ReplicaCommand.class, ReplicaManagerCommand.class, ReplicaClientCommand.class,
        ReplicasCommand.Demo.class, ReplicasBench.class})
public final class ReplicasCommand {

    @Command(name = "demo", mixinStandardHelpOptions = true, description = {
        "Run the eight-step scenario on an embedded broker with three replica JVMs and three clients: launch GFD, RM "
            + "and replicas; start clients; SIGKILL one replica (passive: the primary); clients continue; restart it "
            + "(it recovers from a checkpoint and replays); kill the recovered one; kill a second one; the last "
            + "replica alone still serves.",
        "Exit 0 only if the clients' histories show no lost or duplicated acknowledged request and the live "
            + "replicas' states agree."})
    static final class Demo implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "MODE", converter = ModeConverter.class,
            description = "active or passive.")
        Mode mode;

        @Option(names = "--history-dir", paramLabel = "DIR",
            description = "Where to keep the clients' JSONL histories and the replicas' logs (default: a new "
                + "directory under run/).")
        Path historyDir;

        @Option(names = "--rate", paramLabel = "R", defaultValue = "10",
            description = "Requests per second of each client (default ${DEFAULT-VALUE}).")
        double rate;

        @Option(names = "--checkpoint-interval", paramLabel = "DURATION", defaultValue = "2s",
            converter = HeartbeatOptions.DurationConverter.class,
            description = "Passive primary's checkpoint interval (default ${DEFAULT-VALUE}).")
        Duration checkpointInterval;

        private PrintWriter out;
        private int step;

        @Override
        public Integer call() throws Exception {
            out = spec.commandLine().getOut();
            Path dir = historyDir != null ? historyDir
                : Path.of("run", "replicas-demo-" + mode.label() + "-" + System.currentTimeMillis());
            Files.createDirectories(dir);
            long started = System.nanoTime();
            HistoryChecker.Verdict verdict;
            try (ReplicaScenario s = ReplicaScenario.start(ReplicaScenario.Settings.fast(mode, dir.toAbsolutePath(),
                checkpointInterval), this::say)) {
                verdict = run(s);
            }
            say("");
            say("Histories in %s; replica logs in %s.", dir.resolve("histories"), dir.resolve("logs"));
            say("Verdict (%.1f s): %s", (System.nanoTime() - started) / 1e9, verdict.summary());
            verdict.problems().forEach(p -> say("  PROBLEM: %s", p));
            return verdict.ok() ? Cli.EXIT_OK : Cli.EXIT_FAILURE;
        }

        private HistoryChecker.Verdict run(ReplicaScenario s) throws Exception {
            boolean passive = mode == Mode.PASSIVE;
            step("launch GFD, RM and replicas S1, S2, S3");
            s.startReplica("S1");
            s.awaitRoles();
            s.startReplicas("S2", "S3");
            s.awaitRoles();
            say("  roles: %s", s.describeRoles());

            step("start clients C1, C2, C3 (%.0f requests/s each)", rate);
            s.startClients(3, rate);
            s.awaitAcks(15, null);
            say("  %d requests acknowledged", s.ackCount());

            String victim = passive ? s.primary().orElseThrow() : "S1";
            step("SIGKILL %s%s", victim, passive ? " (the primary)" : "");
            long killedAt = System.nanoTime();
            s.kill(victim);

            if (passive) {
                String next = s.awaitPrimaryOtherThan(victim);
                ReplicaScenario.Ack first = s.awaitAckFrom(next, killedAt);
                step("clients continue on the new primary %s (first reply %.2f s after the kill)", next,
                    (first.nanos() - killedAt) / 1e9);
                s.awaitAcks(10, next);
            } else {
                step("clients continue on the other replicas");
                s.awaitAcks(15, null);
                s.awaitGone(victim);
            }
            say("  %d requests acknowledged; roles: %s", s.ackCount(), s.describeRoles());

            step("restart %s: %s", victim, passive
                ? "it rejoins as a backup holding the primary's latest checkpoint (replayed from if it is promoted)"
                : "it gets a checkpoint from a live replica, replays the requests after it, then serves");
            long epoch = s.maxEpoch();
            s.startReplica(victim);
            if (passive) {
                s.awaitRole(victim, ReplicaRole.BACKUP, epoch);
                sameStateAsPrimary(s, victim);
            } else {
                s.awaitRole(victim, ReplicaRole.READY, epoch);
                List<ReplicaReply> states = s.probe(3);
                say("  states after the same request: %s", states.stream().map(r -> r.getServer() + "="
                    + r.getStateHash()).toList());
                if (states.size() != 3 || states.stream().map(ReplicaReply::getStateHash).distinct().count() != 1) {
                    throw new IllegalStateException("the recovered replica's state does not match the others': "
                        + states.stream().map(r -> r.getServer() + "=" + r.getStateHash()).toList());
                }
            }
            s.awaitAcks(10, null);

            step("SIGKILL the recovered replica %s", victim);
            s.kill(victim);
            s.awaitAcks(10, null);

            String second = passive ? s.primary().orElseThrow() : s.liveReplicas().iterator().next();
            step("SIGKILL a second replica, %s%s", second, passive ? " (the primary)" : "");
            killedAt = System.nanoTime();
            s.kill(second);
            String last = s.liveReplicas().iterator().next();
            if (passive) {
                s.awaitPrimaryOtherThan(second);
            }
            ReplicaScenario.Ack first = s.awaitAckFrom(last, killedAt);
            step("the last replica %s alone still serves (first reply %.2f s after the kill)", last,
                (first.nanos() - killedAt) / 1e9);
            s.awaitAcks(15, last);
            s.stopClients();
            say("  clients stopped after %d acknowledged requests; checking the histories...", s.ackCount());
            return s.check();
        }

        private static final Pattern RECEIVED = Pattern.compile(
            "checkpoint #(\\d+) received from (\\S+): .*hash (\\w+)\\)");

        /** Passive: waits until the restarted backup holds a checkpoint and compares it with what the primary sent. */
        private void sameStateAsPrimary(ReplicaScenario s, String backup) {
            String primary = s.primary().orElseThrow();
            String received = s.awaitLine(backup, "to receive a checkpoint from " + primary, l -> {
                Matcher m = RECEIVED.matcher(l);
                return m.find() && m.group(2).equals(primary);
            });
            Matcher m = RECEIVED.matcher(received);
            if (!m.find()) {
                throw new IllegalStateException("unreadable checkpoint line: " + received);
            }
            String sent = s.awaitLine(primary, "to have sent checkpoint #" + m.group(1),
                l -> l.contains("checkpoint #" + m.group(1) + " sent"));
            if (!sent.contains("hash " + m.group(3) + ")")) {
                throw new IllegalStateException(backup + "'s state from checkpoint #" + m.group(1) + " (hash "
                    + m.group(3) + ") differs from what " + primary + " sent: " + sent);
            }
            say("  %s holds checkpoint #%s of %s: the same state hash %s", backup, m.group(1), primary, m.group(3));
        }

        private void step(String format, Object... args) {
            say("Step %d/8: %s", ++step, String.format(format, args));
        }

        private void say(String format, Object... args) {
            out.println(args.length == 0 ? format : String.format(format, args));
            out.flush();
        }
    }
}
