package io.distpipe.primes.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.TopicRange;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.Daemon;
import io.distpipe.membership.Heartbeat;
import io.distpipe.membership.MemberStatus;
import io.distpipe.membership.MembershipEvent;
import io.distpipe.membership.MembershipTopology;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.dedup.DedupTopology;
import io.distpipe.primes.job.SystemCoordinator;
import io.distpipe.primes.work.PrimeWorker;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code distpipe status}: members, tasks, primes, consumer lag and job state of a running system. */
@Command(name = "status", mixinStandardHelpOptions = true, description = {
    "Show a running system: members (alive / suspected, last heartbeat age), tasks done and not yet done, primes, "
        + "consumer lag per group and the job state. --json prints the same as one stable JSON object."})
final class StatusCommand implements Callable<Integer> {

    private static final Duration HEARTBEAT_WINDOW = Duration.ofMinutes(2);
    private static final Map<String, TopicSpec<?, ?>> GROUPS = new LinkedHashMap<>();

    static {
        GROUPS.put(PrimeWorker.GROUP_ID, Topics.PRIMES_TASKS);
        GROUPS.put(DedupTopology.APPLICATION_ID, Topics.PRIMES_FOUND);
        GROUPS.put(MembershipTopology.APPLICATION_ID, Topics.MEMBERSHIP_HEARTBEATS);
    }

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object (stable field names) instead of tables.")
    boolean json;

    @Option(names = "--job-id", paramLabel = "ID", defaultValue = "system",
        description = "The job to show (default ${DEFAULT-VALUE}).")
    String jobId;

    @Mixin
    ClusterOptions cluster;

    @Override
    public Integer call() throws Exception {
        Daemon.requireCluster(cluster, spec);
        AvroSerdes serdes = AvroSerdes.connect(cluster.registryUrl);
        Map<String, Object> status = new LinkedHashMap<>();
        try (Admin admin = KafkaClients.reachableAdmin(cluster.bootstrapServers, "distpipe-status")) {
            status.put("members", members(serdes));
            status.put("job", job(serdes));
            status.put("consumerLag", lag(admin));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .writeValueAsString(status));
        } else {
            printTables(out, status);
        }
        out.flush();
        return Cli.EXIT_OK;
    }

    private List<Map<String, Object>> members(AvroSerdes serdes) {
        MembershipEvent latest = null;
        for (ConsumerRecord<byte[], byte[]> r : TopicRange.readAll(cluster.bootstrapServers,
            Topics.MEMBERSHIP_EVENTS)) {
            if (r.value() != null) {
                MembershipEvent e = serdes.valueSerde(Topics.MEMBERSHIP_EVENTS).deserializer()
                    .deserialize(r.topic(), r.value());
                if (latest == null || e.getEpoch() > latest.getEpoch()) {
                    latest = e;
                }
            }
        }
        Map<String, Long> lastBeat = new HashMap<>();
        long readAt = System.currentTimeMillis();
        for (ConsumerRecord<byte[], byte[]> r : TopicRange.readSince(cluster.bootstrapServers,
            Topics.MEMBERSHIP_HEARTBEATS, Instant.ofEpochMilli(readAt).minus(HEARTBEAT_WINDOW))) {
            Heartbeat h = serdes.valueSerde(Topics.MEMBERSHIP_HEARTBEATS).deserializer()
                .deserialize(r.topic(), r.value());
            lastBeat.merge(h.getMemberId(), r.timestamp(), Math::max);
        }
        List<Map<String, Object>> members = new ArrayList<>();
        if (latest != null) {
            for (MemberStatus m : latest.getMembers()) {
                Map<String, Object> member = new LinkedHashMap<>();
                member.put("member", m.getMemberId());
                member.put("role", m.getRole());
                member.put("state", m.getState().toString());
                Long beat = lastBeat.get(m.getMemberId());
                // Record timestamps are the senders' clocks: fine for a display on one machine, never for liveness.
                member.put("lastHeartbeatAgeMs", beat == null ? null : Math.max(0, readAt - beat));
                members.add(member);
            }
            members.sort(Comparator.comparing(m -> (String) m.get("member")));
        }
        return members;
    }

    private Map<String, Object> job(AvroSerdes serdes) {
        Optional<JobStatus> last = SystemCoordinator.lastStatus(cluster.bootstrapServers, serdes, jobId);
        Map<String, Object> job = new LinkedHashMap<>();
        job.put("jobId", jobId);
        job.put("state", last.map(s -> s.getState().toString()).orElse("UNKNOWN"));
        job.put("files", last.map(JobStatus::getFiles).orElse(0));
        job.put("tasksTotal", last.map(JobStatus::getTasksTotal).orElse(0L));
        job.put("tasksDone", last.map(JobStatus::getTasksCompleted).orElse(0L));
        job.put("tasksNotDone", last.map(s -> s.getTasksTotal() - s.getTasksCompleted()).orElse(0L));
        job.put("numbersTested", last.map(JobStatus::getNumbersTested).orElse(0L));
        job.put("primesReported", last.map(JobStatus::getPrimesFound).orElse(0L));
        job.put("rejectedLines", last.map(JobStatus::getRejectedLines).orElse(0L));
        job.put("changedFiles", last.map(JobStatus::getChangedFiles).orElse(List.of()));
        // Files changed after planning, tasks dead-lettered: what the output misses (null when nothing).
        job.put("incomplete", last.map(JobStatus::getReason).filter(r -> r.startsWith("output incomplete"))
            .orElse(null));
        return job;
    }

    private Map<String, Long> lag(Admin admin) throws Exception {
        Map<String, Long> lag = new LinkedHashMap<>();
        for (Map.Entry<String, TopicSpec<?, ?>> group : GROUPS.entrySet()) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group.getKey())
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            Map<TopicPartition, Long> end = endOffsets(admin, group.getValue());
            long sum = 0;
            for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
                OffsetAndMetadata c = committed.get(e.getKey());
                sum += Math.max(0, e.getValue() - (c == null ? 0 : c.offset()));
            }
            lag.put(group.getKey(), sum);
        }
        return lag;
    }

    private static Map<TopicPartition, Long> endOffsets(Admin admin, TopicSpec<?, ?> topic) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int p = 0; p < topic.partitions(); p++) {
            request.put(new TopicPartition(topic.name(), p), OffsetSpec.latest());
        }
        Map<TopicPartition, Long> result = new HashMap<>();
        admin.listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all()
            .get(30, TimeUnit.SECONDS).forEach((tp, info) -> result.put(tp, info.offset()));
        return result;
    }

    @SuppressWarnings("unchecked")
    private static void printTables(PrintWriter out, Map<String, Object> status) {
        List<Map<String, Object>> members = (List<Map<String, Object>>) status.get("members");
        out.printf("%-14s %-12s %-10s %s%n", "MEMBER", "ROLE", "STATE", "LAST HEARTBEAT");
        for (Map<String, Object> m : members) {
            Object age = m.get("lastHeartbeatAgeMs");
            out.printf("%-14s %-12s %-10s %s%n", m.get("member"), m.get("role"), m.get("state"),
                age == null ? "-" : String.format("%.1f s ago", ((Long) age) / 1000.0));
        }
        if (members.isEmpty()) {
            out.println("(no membership events yet: is the membership processor running?)");
        }
        Map<String, Object> job = (Map<String, Object>) status.get("job");
        out.println();
        out.printf("job %s: %s, %s files, tasks %s done / %s not done (of %s), %s numbers tested, %s primes reported,"
                + " %s rejected lines%n", job.get("jobId"), job.get("state"), job.get("files"), job.get("tasksDone"),
            job.get("tasksNotDone"), job.get("tasksTotal"), job.get("numbersTested"), job.get("primesReported"),
            job.get("rejectedLines"));
        if (job.get("incomplete") != null) {
            out.printf("OUTPUT INCOMPLETE: %s%n", ((String) job.get("incomplete"))
                .substring("output incomplete: ".length()));
        } else if (!((List<?>) job.get("changedFiles")).isEmpty()) {
            out.printf("OUTPUT INCOMPLETE: input files changed after they were planned: %s%n", job.get("changedFiles"));
        }
        out.println();
        out.printf("%-16s %s%n", "CONSUMER GROUP", "LAG (records; a transaction marker counts as one)");
        ((Map<String, Long>) status.get("consumerLag")).forEach((g, l) -> out.printf("%-16s %d%n", g, l));
    }
}
