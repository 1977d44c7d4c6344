package io.distpipe.primes.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.Daemon;
import io.distpipe.primes.work.PrimeWorker;
import io.distpipe.topics.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code distpipe restore}: moves the worker group back to a snapshot's cut, so that on the next start every task
 * after the cut is read and processed again. Completions and primes already recorded count once (the coordinator
 * counts a task once, the dedup processor emits a prime once), so the output equals an uninterrupted run's.
 */
@Command(name = "restore", mixinStandardHelpOptions = true, description = {
    "Reset the worker group's positions on primes.tasks to a snapshot's cut; the tasks after it are processed again "
        + "when the system starts.",
    "With the system stopped (bin/stop_system.sh) it is recorded in run/restore and applied by the next "
        + "bin/start_system.sh before any worker starts; with --bootstrap-servers it is applied at once (the worker "
        + "group must be empty)."})
final class RestoreCommand implements Callable<Integer> {

    /** The file in run/ that asks the next bin/start_system.sh to restore a snapshot. */
    static final String PENDING = "restore";

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "SNAPSHOT", description = "A snapshots/snapshot_<n>_<timestamp>.json file.")
    Path snapshot;

    @Mixin
    ClusterOptions cluster;

    @Override
    public Integer call() throws Exception {
        if (!Files.isReadable(snapshot)) {
            throw new IllegalArgumentException("Snapshot " + snapshot + " does not exist or is not readable");
        }
        Path run = ClusterOptions.runDirectory();
        if (cluster.bootstrapServers == null && !systemRunning(run)) {
            Files.createDirectories(run);
            Files.writeString(run.resolve(PENDING), snapshot.toAbsolutePath() + "\n");
            spec.commandLine().getOut().println("The system is stopped: snapshot " + snapshot.getFileName()
                + " will be restored by the next bin/start_system.sh, before any worker starts.");
            return Cli.EXIT_OK;
        }
        Daemon.requireCluster(cluster, spec);
        JsonNode json = new ObjectMapper().readTree(snapshot.toFile());
        JsonNode cut = json.path("cut").path(Topics.PRIMES_TASKS.name());
        if (!json.path("invariantHolds").asBoolean(false) || cut.isEmpty()) {
            throw new IllegalArgumentException("Snapshot " + snapshot + " has no cut or its invariant does not hold; "
                + "it cannot be restored");
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new TreeMap<>((a, b) -> Integer.compare(a.partition(),
            b.partition()));
        for (Iterator<Map.Entry<String, JsonNode>> it = cut.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            offsets.put(new TopicPartition(Topics.PRIMES_TASKS.name(), Integer.parseInt(e.getKey())),
                new OffsetAndMetadata(e.getValue().asLong(), "restored from " + snapshot.getFileName()));
        }
        try (Admin admin = KafkaClients.reachableAdmin(cluster.bootstrapServers, "distpipe-restore")) {
            ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(PrimeWorker.GROUP_ID))
                .describedGroups().get(PrimeWorker.GROUP_ID).get(30, TimeUnit.SECONDS);
            if (!group.members().isEmpty()) {
                throw new IllegalStateException("The worker group still has " + group.members().size()
                    + " members; stop the system (bin/stop_system.sh) before restoring");
            }
            admin.alterConsumerGroupOffsets(PrimeWorker.GROUP_ID, offsets).all().get(30, TimeUnit.SECONDS);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf("Restored snapshot %s (job %s): group %s now starts at %s on %s.%n", json.path("snapshotId"),
            json.path("jobId").asText(), PrimeWorker.GROUP_ID, cutText(offsets), Topics.PRIMES_TASKS.name());
        out.println("Start the system again; the tasks after the cut are processed again.");
        out.flush();
        return Cli.EXIT_OK;
    }

    /** Whether bin/start_system.sh's processes are alive (a broker pid file names a live process). */
    private static boolean systemRunning(Path run) throws IOException {
        if (!Files.isDirectory(run)) {
            return false;
        }
        try (Stream<Path> files = Files.list(run)) {
            for (Path pid : files.filter(f -> f.getFileName().toString().matches("broker-\\d+\\.pid")).toList()) {
                long value = Long.parseLong(Files.readString(pid).strip());
                if (ProcessHandle.of(value).map(ProcessHandle::isAlive).orElse(false)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String cutText(Map<TopicPartition, OffsetAndMetadata> offsets) {
        StringBuilder b = new StringBuilder("{");
        offsets.forEach((tp, o) -> b.append(b.length() > 1 ? ", " : "").append(tp.partition()).append('=')
            .append(o.offset()));
        return b.append('}').toString();
    }
}
