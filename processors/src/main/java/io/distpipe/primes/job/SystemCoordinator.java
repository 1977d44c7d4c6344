package io.distpipe.primes.job;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.distpipe.common.AbstractService;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.TopicRange;
import io.distpipe.membership.MemberState;
import io.distpipe.membership.MembershipEvent;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.SnapshotState;
import io.distpipe.primes.output.PrimesOutput;
import io.distpipe.primes.plan.Coordinator;
import io.distpipe.primes.plan.InputWatch;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator of the running system: one long-lived primes job that turns every file dropped into the input
 * directory into tasks, follows completions, and rewrites the output whenever all known tasks are done. After a
 * restart it continues from the job's last status on the jobs topic.
 */
public final class SystemCoordinator extends AbstractService {

    private static final Logger LOG = LoggerFactory.getLogger(SystemCoordinator.class);
    private static final Duration CATCH_UP_TIMEOUT = Duration.ofMinutes(5);
    private static final long STATUS_EVERY_NS = Duration.ofSeconds(2).toNanos();
    /** Snapshots started and not yet complete, at most (each costs a marker per task partition). */
    private static final int MAX_PENDING_SNAPSHOTS = 4;
    /** A snapshot pending this long gets a log line saying what it still waits for (then again every period). */
    private static final long SNAPSHOT_SLOW_NS = Duration.ofSeconds(10).toNanos();

    private final String jobId;
    private final Path inputDir;
    private final Path output;
    private final String bootstrap;
    private final AvroSerdes serdes;
    private final Admin admin;
    private final Coordinator coordinator;
    /** Plans a file once it is non-empty and unchanged for a second; reports a planned file that changed. */
    private final InputWatch inputWatch = new InputWatch(InputWatch.STABLE_FOR_DEFAULT);
    private final KafkaConsumer<byte[], byte[]> membership;
    private final Deserializer<MembershipEvent> membershipEvents;
    private final Path snapshotsDir;
    private final long snapshotEveryNs;
    private final KafkaConsumer<byte[], byte[]> snapshots;
    private final Deserializer<SnapshotState> snapshotStates;
    private long snapshotStartedAt = System.nanoTime();
    private long nextSnapshotId;
    private long snapshotWaitLoggedAt;
    private String snapshotProgress = "";
    private long outputWrittenAt = -1;
    private long statusPublishedAt;

    public SystemCoordinator(String jobId, Path inputDir, Path output, String bootstrap, AvroSerdes serdes, int chunkNumbers,
                      int maxDigits, Path snapshotsDir, Duration snapshotInterval) throws IOException {
        super("coordinator", "coordinator");
        Files.createDirectories(inputDir);
        Coordinator.requireOutsideInput(inputDir, output);
        this.snapshotsDir = snapshotsDir;
        this.snapshotEveryNs = snapshotInterval.toNanos();
        this.snapshots = new KafkaConsumer<>(KafkaClients.consumer(bootstrap, null, "coordinator-snapshots",
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        this.snapshotStates = serdes.valueSerde(Topics.PRIMES_SNAPSHOTS).deserializer();
        this.jobId = jobId;
        this.inputDir = inputDir;
        this.output = output.toAbsolutePath();
        this.bootstrap = bootstrap;
        this.serdes = serdes;
        this.admin = KafkaClients.reachableAdmin(bootstrap, "coordinator-admin");
        this.membership = new KafkaConsumer<>(KafkaClients.consumer(bootstrap, null, "coordinator-membership",
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        this.membershipEvents = serdes.valueSerde(Topics.MEMBERSHIP_EVENTS).deserializer();
        this.coordinator = Coordinator.create(new Coordinator.Config("coordinator", jobId, inputDir, chunkNumbers,
            Coordinator.CHUNK_BYTES_DEFAULT, maxDigits), bootstrap, serdes, new Coordinator.Listener() {
            });
    }

    /** Finds the job's last status (a restart resumes it) and starts the coordinator and its readers. */
    @Override
    public void start() throws Exception {
        life.transition(State.STARTING);
        Optional<JobStatus> previous = lastStatus();
        previous.ifPresent(s -> {
            coordinator.resume(s);
            LOG.info("coordinator: resuming job {} with {} files and {} tasks planned.", jobId,
                s.getPlannedFiles().size(), s.getTasksTotal());
        });
        coordinator.start();
        List<TopicPartition> eventPartitions = List.of(new TopicPartition(Topics.MEMBERSHIP_EVENTS.name(), 0));
        membership.assign(eventPartitions);
        membership.seekToEnd(eventPartitions);
        List<TopicPartition> statePartitions = List.of(new TopicPartition(Topics.PRIMES_SNAPSHOTS.name(), 0));
        snapshots.assign(statePartitions);
        snapshots.seekToEnd(statePartitions);
        // Resolve the end now: seekToEnd is lazy, and a state written before the first poll would be skipped.
        statePartitions.forEach(snapshots::position);
        nextSnapshotId = Math.max(SnapshotFiles.lastId(snapshotsDir), coordinator.highestMarkerId()) + 1;
        LOG.info("coordinator: watching {} for input files (job {}).", inputDir, jobId);
        life.compareAndTransition(State.STARTING, State.RUNNING);
    }

    private boolean running() {
        return life.state() == State.RUNNING;
    }

    /** Starts if not started, then loops until {@link #stop()} or {@link #close()}. */
    public void run() throws Exception {
        if (life.state() == State.NEW) {
            start();
        }
        while (running()) {
            coordinator.pollCompletions(Duration.ofMillis(500));
            logMembershipChanges();
            List<Path> ready = newStableFiles();
            if (!ready.isEmpty()) {
                LOG.info("coordinator: planning {} new file(s): {}.", ready.size(),
                    ready.stream().map(p -> p.getFileName().toString()).toList());
                coordinator.planFiles(ready);
            }
            long now = System.nanoTime();
            if (now - statusPublishedAt > STATUS_EVERY_NS) {
                coordinator.publishStatus();
                statusPublishedAt = now;
            }
            if (coordinator.isComplete() && outputWrittenAt != coordinator.status().getTasksTotal()) {
                try {
                    writeOutput();
                } catch (IllegalStateException e) {
                    if (running()) {
                        throw e;
                    }
                    LOG.info("coordinator: stopped before the output was written; it is written on the next start.");
                }
            }
            takeSnapshots();
        }
    }

    /** Starts a snapshot every interval once there are tasks; writes those whose parts have all arrived. */
    private void takeSnapshots() throws Exception {
        for (ConsumerRecord<byte[], byte[]> record : snapshots.poll(Duration.ZERO)) {
            if (record.value() != null) {
                coordinator.snapshotStateArrived(snapshotStates.deserialize(record.topic(), record.value()));
            }
        }
        for (Coordinator.Snapshot done : coordinator.completedSnapshots()) {
            Path file = SnapshotFiles.write(snapshotsDir, jobId, done);
            LOG.info("coordinator: snapshot {} complete: {}.", done.id(), file);
        }
        long now = System.nanoTime();
        if (coordinator.snapshotPending() && now - snapshotStartedAt > SNAPSHOT_SLOW_NS
            && now - snapshotWaitLoggedAt > SNAPSHOT_SLOW_NS) {
            LOG.info("coordinator: still waiting for {}.", coordinator.pendingSnapshotsWaitFor());
            snapshotWaitLoggedAt = now;
        }
        JobStatus status = coordinator.status();
        String progress = status.getTasksTotal() + "/" + status.getTasksCompleted();
        // Snapshots overlap (a snapshot completes only once every task before its markers has, which takes a while
        // after a large file), up to a bound; none is started while nothing has changed since the last one.
        if (snapshotEveryNs > 0 && now - snapshotStartedAt >= snapshotEveryNs && status.getTasksTotal() > 0
            && coordinator.pendingSnapshotCount() < MAX_PENDING_SNAPSHOTS && !progress.equals(snapshotProgress)) {
            coordinator.startSnapshot(nextSnapshotId++);
            snapshotStartedAt = now;
            snapshotProgress = progress;
        }
    }

    private void logMembershipChanges() {
        for (ConsumerRecord<byte[], byte[]> record : membership.poll(Duration.ZERO)) {
            if (record.value() == null) {
                continue;
            }
            MembershipEvent event = membershipEvents.deserialize(record.topic(), record.value());
            LOG.info("coordinator: membership epoch {}: {} {} ({}); members: {}.", event.getEpoch(),
                event.getMemberId(), event.getType(), event.getReason(), event.getMembers().stream()
                    .map(m -> m.getMemberId() + (m.getState() == MemberState.SUSPECTED ? " (suspected)" : ""))
                    .toList());
        }
    }

    private List<Path> newStableFiles() throws IOException {
        List<InputWatch.Seen> seen = new ArrayList<>();
        for (Path file : Coordinator.inputFiles(inputDir)) {
            try {
                seen.add(InputWatch.Seen.of(file));
            } catch (NoSuchFileException e) {
                // Renamed or removed between the listing and the look: the next scan sees what is there.
            }
        }
        InputWatch.Scan scan = inputWatch.scan(seen, coordinator.status(), System.nanoTime());
        scan.changed().forEach(coordinator::fileChanged);
        return scan.ready().stream().map(inputDir::resolve).toList();
    }

    private void writeOutput() throws Exception {
        JobStatus status = coordinator.status();
        Map<TopicPartition, Long> foundEnd = PrimesOutput.highWatermarks(admin, Topics.PRIMES_FOUND);
        try (KafkaConsumer<byte[], byte[]> probe = new KafkaConsumer<>(KafkaClients.consumer(bootstrap, null,
            "coordinator-output", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            PrimesOutput.awaitDedupCaughtUp(admin, probe, foundEnd, CATCH_UP_TIMEOUT, this::running);
            Map<TopicPartition, Long> uniqueEnd = PrimesOutput.highWatermarks(admin, Topics.PRIMES_UNIQUE);
            PrimesOutput.Result primes = PrimesOutput.collect(probe, serdes, jobId, Map.of(), uniqueEnd,
                CATCH_UP_TIMEOUT);
            PrimesOutput.writeAtomically(output, primes.primes());
            outputWrittenAt = status.getTasksTotal();
            LOG.info("coordinator: all {} tasks done; wrote {} primes to {}.", status.getTasksTotal(),
                primes.primes().size(), output);
            if (!status.getChangedFiles().isEmpty()) {
                LOG.error("coordinator: {} is incomplete: {} changed after they were planned; drop each complete "
                    + "file again under a new name.", output, status.getChangedFiles());
            }
            if (!coordinator.deadLetteredTasks().isEmpty()) {
                LOG.error("coordinator: {} is incomplete: {} task(s) were dead-lettered by workers that could not "
                    + "read them (see {}): {}.", output, coordinator.deadLetteredTasks().size(),
                    Topics.PRIMES_TASKS_DLQ.name(), coordinator.deadLetteredTasks());
            }
        }
    }

    private Optional<JobStatus> lastStatus() {
        return lastStatus(bootstrap, serdes, jobId);
    }

    /** The latest status of a job on the jobs topic, if it has one. */
    public static Optional<JobStatus> lastStatus(String bootstrap, AvroSerdes serdes, String jobId) {
        Deserializer<JobStatus> values = serdes.valueSerde(Topics.PRIMES_JOBS).deserializer();
        Deserializer<String> keys = serdes.keySerde(Topics.PRIMES_JOBS).deserializer();
        JobStatus last = null;
        for (ConsumerRecord<byte[], byte[]> r : TopicRange.readAll(bootstrap, Topics.PRIMES_JOBS)) {
            if (r.value() != null && jobId.equals(keys.deserialize(r.topic(), r.key()))) {
                last = values.deserialize(r.topic(), r.value());
            }
        }
        return Optional.ofNullable(last);
    }

    public JobStatus status() {
        return coordinator.status();
    }

    /** Stops the loop; the caller's thread leaves {@link #run()} within a poll. */
    public void stop() {
        if (!life.compareAndTransition(State.RUNNING, State.CLOSING)) {
            life.compareAndTransition(State.STARTING, State.CLOSING);
        }
    }

    @Override
    public void close() {
        if (life.state() == State.CLOSED) {
            return;
        }
        life.beginClose();
        coordinator.close();
        membership.close();
        snapshots.close();
        admin.close();
        life.transition(State.CLOSED);
    }
}
