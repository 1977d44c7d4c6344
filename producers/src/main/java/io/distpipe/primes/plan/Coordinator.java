package io.distpipe.primes.plan;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import io.distpipe.common.AbstractService;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.RejectedRecord;
import io.distpipe.primes.JobState;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.PlannedFile;
import io.distpipe.primes.SnapshotMarker;
import io.distpipe.primes.SnapshotState;
import io.distpipe.primes.Task;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.primes.TaskMessage;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plans a primes job and sees it through: turns each input file into {@link Task} records (the numbers travel
 * inside), publishes them in transactions as it reads so workers start early, reports rejected lines, then follows
 * {@link TaskCompleted} records until every task of the job is done.
 */
public final class Coordinator extends AbstractService {

    public static final int CHUNK_NUMBERS_DEFAULT = 2_000;
    public static final int CHUNK_BYTES_DEFAULT = 64 * 1024;
    /** While planning, commit about this often so workers see tasks early, but not per task (commits cost). */
    static final long COMMIT_EVERY_NS = 300_000_000L;
    /** Key of the snapshot markers in primes.tasks: this prefix and the snapshot id. */
    static final String MARKER_KEY_PREFIX = "snapshot-";
    private static final Duration RESUME_SCAN_TIMEOUT = Duration.ofMinutes(2);

    private static final Logger LOG = LoggerFactory.getLogger(Coordinator.class);

    /** Settings of one job's coordinator. */
    public record Config(String id, String jobId, Path inputDir, int chunkNumbers, int chunkBytes, int maxDigits) {
        public Config validate() {
            if (jobId == null || !jobId.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("job id must be letters, digits, '.', '_' or '-': " + jobId);
            }
            if (chunkNumbers < 1 || chunkBytes < 64) {
                throw new IllegalArgumentException("chunk size must be at least 1 number and 64 bytes");
            }
            return this;
        }
    }

    /** What the coordinator tells the one who runs it. */
    public interface Listener {
        default void rejected(String file, long line, String text, String reason) {
        }

        default void planned(JobStatus status) {
        }

        default void progress(JobStatus status) {
        }

        /** A task of this job completed for the first time. */
        default void completed(TaskCompleted done) {
        }
    }

    private final Config config;
    private final Producer<byte[], byte[]> producer;
    private final Consumer<byte[], byte[]> completions;
    private final Listener listener;
    private final Serializer<String> keySerializer;
    private final Deserializer<String> keyDeserializer;
    private final Serializer<TaskMessage> taskSerializer;
    private final Serializer<RejectedRecord> rejectedSerializer;
    private final Serializer<JobStatus> statusSerializer;
    private final Deserializer<TaskCompleted> completedDeserializer;

    private final Set<String> completedTasks = new HashSet<>();
    /**
     * Tasks of this job a worker could not read and sent to primes.tasks.dlq (the dead-letter record keeps the task's
     * key, its id): they never complete, so the job ends without them, incomplete.
     */
    private final Set<String> deadLetteredTasks = new TreeSet<>();
    /**
     * Completions of tasks whose file is not (yet) in the job's plan record: tasks of a plan a killed coordinator
     * committed part of. They count once the file's plan is committed (a restarted coordinator plans it again, under
     * the same task ids), never before, so they cannot end the job early.
     */
    private final Map<String, TaskCompleted> unplannedCompletions = new HashMap<>();
    /** Task count per file of the job's plan record (committed with or after the file's tasks). */
    private final Map<String, Long> plannedTasks = new HashMap<>();
    /** Tasks published per partition of primes.tasks (from the send callbacks). */
    private final Map<Integer, Long> publishedPerPartition = new ConcurrentHashMap<>();
    /** Offsets of the completed tasks per partition, to tell which completions a snapshot's cut contains. */
    private final Map<Integer, TreeSet<Long>> completedOffsets = new HashMap<>();
    private final List<Snapshot> pendingSnapshots = new ArrayList<>();
    private JobStatus status;
    private boolean resumed;
    /** The highest snapshot id found in the markers of primes.tasks when the job was resumed (0 if none). */
    private long highestMarkerId;

    public Coordinator(Config config, Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> completions,
                       AvroSerdes serdes, Listener listener) {
        super(config.id(), config.id());
        this.config = config.validate();
        this.producer = producer;
        this.completions = completions;
        this.listener = listener;
        this.keySerializer = serdes.keySerde(Topics.PRIMES_TASKS).serializer();
        this.keyDeserializer = serdes.keySerde(Topics.PRIMES_TASKS).deserializer();
        this.taskSerializer = serdes.valueSerde(Topics.PRIMES_TASKS).serializer();
        this.rejectedSerializer = serdes.valueSerde(Topics.PRIMES_REJECTED).serializer();
        this.statusSerializer = serdes.valueSerde(Topics.PRIMES_JOBS).serializer();
        this.completedDeserializer = serdes.valueSerde(Topics.PRIMES_COMPLETED).deserializer();
        this.status = JobStatus.newBuilder().setJobId(config.jobId()).setState(JobState.PLANNING).setFiles(0)
            .setTasksTotal(0).setTasksCompleted(0).setNumbersTotal(0).setNumbersTested(0).setPrimesFound(0)
            .setRejectedLines(0).setReason(null).setUpdatedAt(Instant.now()).build();
    }

    public static Coordinator create(Config config, String bootstrapServers, AvroSerdes serdes, Listener listener) {
        Producer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClients.transactionalProducer(bootstrapServers,
            "primes-coordinator-" + config.jobId(), KafkaClients.TRANSACTION_TIMEOUT_MS_DEFAULT));
        Consumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaClients.consumer(bootstrapServers, null,
            config.id() + "-completions", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        return new Coordinator(config, producer, consumer, serdes, listener);
    }

    /** The input files of a directory: regular, non-hidden, sorted by name, not recursive. */
    public static List<Path> inputFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("Input directory " + dir + " does not exist or is not a directory");
        }
        if (!Files.isReadable(dir)) {
            throw new IOException("Input directory " + dir + " is not readable");
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile)
                .filter(f -> !f.getFileName().toString().startsWith("."))
                .sorted()
                .toList();
        }
    }

    /**
     * Refuses an output file inside the input directory (at any depth): written there it would replace an input file,
     * or be read back as input by the next run. Checked before anything is written.
     *
     * @throws IllegalArgumentException one sentence naming both
     */
    public static void requireOutsideInput(Path inputDir, Path output) throws IOException {
        Path input = inputDir.toRealPath();
        Path parent = output.toAbsolutePath().normalize().getParent();
        Path outDir = parent != null && Files.exists(parent) ? parent.toRealPath() : parent;
        if (outDir != null && outDir.startsWith(input)) {
            throw new IllegalArgumentException("The output " + output + " is inside the input directory " + inputDir
                + "; choose an output outside it (nothing was written)");
        }
    }

    public synchronized JobStatus status() {
        return status;
    }

    /**
     * Continues a job after a restart, before {@link #start()}: files and totals come from its last published
     * status; completions are counted again from the beginning of the topic.
     */
    public synchronized void resume(JobStatus previous) {
        if (life.state() != State.NEW) {
            throw new IllegalStateException(id() + ": resume before start");
        }
        status = JobStatus.newBuilder(previous).setState(JobState.RUNNING).setTasksCompleted(0).setNumbersTested(0)
            .setPrimesFound(0).setUpdatedAt(Instant.now()).build();
        rememberPlans(status);
        resumed = true;
    }

    @Override
    public void start() {
        life.transition(State.STARTING);
        producer.initTransactions();
        List<TopicPartition> partitions = completions.partitionsFor(Topics.PRIMES_COMPLETED.name()).stream()
            .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        if (resumed) {
            countPublishedTasks();
        }
        // The tasks' dead-letter topic too: a task a worker could not read is never completed.
        List<TopicPartition> read = new ArrayList<>(partitions);
        for (int p = 0; p < Topics.PRIMES_TASKS_DLQ.partitions(); p++) {
            read.add(new TopicPartition(Topics.PRIMES_TASKS_DLQ.name(), p));
        }
        completions.assign(read);
        if (resumed) {
            completions.seekToBeginning(read);
        } else {
            // Completions of a new job come after this point: remember it before the first task is published.
            completions.endOffsets(read).forEach(completions::seek);
        }
        life.transition(State.RUNNING);
    }

    /**
     * Rebuilds what an earlier incarnation knew of its published tasks: the committed tasks of this job per partition
     * of primes.tasks (read with read_committed, keys only), so snapshots of a resumed job have their cut counts, and
     * the highest snapshot id of the markers there, so a new snapshot never reuses the id of one still in flight.
     */
    private void countPublishedTasks() {
        String topic = Topics.PRIMES_TASKS.name();
        List<TopicPartition> partitions = completions.partitionsFor(topic).stream()
            .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        completions.assign(partitions);
        completions.seekToBeginning(partitions);
        Map<TopicPartition, Long> ends = new HashMap<>(completions.endOffsets(partitions));
        ends.entrySet().removeIf(e -> e.getValue() == 0L);
        String taskPrefix = config.jobId() + "/";
        long counted = 0;
        Set<String> interrupted = new TreeSet<>();
        long deadline = System.nanoTime() + RESUME_SCAN_TIMEOUT.toNanos();
        while (!ends.isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(id() + ": could not read " + topic + " to its end within "
                    + RESUME_SCAN_TIMEOUT.toSeconds() + " s to resume job " + config.jobId());
            }
            for (ConsumerRecord<byte[], byte[]> record : completions.poll(Duration.ofMillis(200))) {
                String key = record.key() == null ? "" : keyDeserializer.deserialize(topic, record.key());
                if (key.startsWith(taskPrefix)) {
                    publishedPerPartition.merge(record.partition(), 1L, Long::sum);
                    counted++;
                    TaskRef ref = TaskRef.parse(config.jobId(), key);
                    if (ref != null && !plannedTasks.containsKey(ref.file())) {
                        interrupted.add(ref.file());
                    }
                } else if (key.startsWith(MARKER_KEY_PREFIX)) {
                    try {
                        highestMarkerId = Math.max(highestMarkerId,
                            Long.parseLong(key.substring(MARKER_KEY_PREFIX.length())));
                    } catch (NumberFormatException e) {
                        LOG.warn("{}: marker with an unexpected key '{}' at {}-{}@{}", id(), key, topic,
                            record.partition(), record.offset());
                    }
                }
            }
            ends.entrySet().removeIf(e -> completions.position(e.getKey()) >= e.getValue());
        }
        LOG.info("{}: job {} resumed: {} tasks published earlier ({} per partition), last snapshot marker {}.", id(),
            config.jobId(), counted, new TreeMap<>(publishedPerPartition), highestMarkerId);
        if (!interrupted.isEmpty()) {
            LOG.warn("{}: job {}: the plan of {} was interrupted (tasks without a plan record); their completions "
                + "count only once these files are planned again.", id(), config.jobId(), interrupted);
        }
    }

    /** The highest snapshot id whose markers an earlier incarnation wrote (0 for a new job). */
    public long highestMarkerId() {
        return highestMarkerId;
    }

    /** Publishes the current status to the jobs topic (compacted: the latest per job stays). */
    public void publishStatus() {
        producer.beginTransaction();
        producer.send(record(Topics.PRIMES_JOBS, config.jobId(), statusSerializer, status()));
        producer.commitTransaction();
    }

    /**
     * Whether every planned task has completed or was dead-lettered (and at least one was planned); see
     * {@link #deadLetteredTasks()} for whether the output is complete.
     */
    public boolean isComplete() {
        JobStatus s = status();
        return s.getTasksTotal() > 0 && tasksDone() >= s.getTasksTotal();
    }

    private synchronized long tasksDone() {
        return status.getTasksCompleted() + deadLetteredTasks.size();
    }

    /** Task ids of this job that a worker sent to primes.tasks.dlq: their numbers are not in the output. */
    public synchronized Set<String> deadLetteredTasks() {
        return Set.copyOf(deadLetteredTasks);
    }

    /** Reads the input and publishes every task; returns the job status with the totals. */
    public JobStatus plan() throws IOException {
        List<Path> files = inputFiles(config.inputDir());
        if (files.isEmpty()) {
            throw new IOException("Input directory " + config.inputDir() + " has no input files");
        }
        return planFiles(files);
    }

    /**
     * Publishes the tasks of {@code files} and adds them to the job's totals; a running system calls this for each
     * batch of files that arrives.
     */
    public JobStatus planFiles(List<Path> files) throws IOException {
        NumberParser parser = new NumberParser(config.maxDigits());
        Planner planner = new Planner();
        List<PlannedFile> plans = new ArrayList<>();
        producer.beginTransaction();
        try {
            for (Path file : files) {
                // Size and time before reading: a write while it is read shows as a change after planning.
                InputWatch.Seen seen = InputWatch.Seen.of(file);
                long tasksBefore = planner.tasks;
                planner.file(file.getFileName().toString());
                NumberFileReader.read(file, parser, planner);
                planner.flush();
                plans.add(new PlannedFile(seen.name(), seen.sizeBytes(), Instant.ofEpochMilli(seen.modifiedMillis()),
                    planner.tasks - tasksBefore));
            }
        } catch (IOException | RuntimeException e) {
            // Tasks already committed stay; the job never reaches RUNNING, so nobody waits for them.
            producer.abortTransaction();
            throw e;
        }
        List<String> names = new ArrayList<>();
        files.forEach(f -> names.add(f.getFileName().toString()));
        updateStatus(s -> {
            List<String> planned = new ArrayList<>(s.getPlannedFiles());
            planned.addAll(names);
            List<PlannedFile> allPlans = new ArrayList<>(s.getPlans());
            allPlans.addAll(plans);
            return s.setState(JobState.RUNNING).setFiles(s.getFiles() + files.size()).setPlans(allPlans)
                .setTasksTotal(s.getTasksTotal() + planner.tasks).setNumbersTotal(s.getNumbersTotal()
                    + planner.numbersTotal).setRejectedLines(s.getRejectedLines() + planner.rejected)
                .setPlannedFiles(planned);
        });
        producer.send(record(Topics.PRIMES_JOBS, config.jobId(), statusSerializer, status()));
        producer.commitTransaction();
        LOG.info("{}: job {} planned: {} files, {} numbers in {} tasks, {} rejected lines.", id(), config.jobId(),
            files.size(), planner.numbersTotal, planner.tasks, planner.rejected);
        listener.planned(status());
        rememberPlans(status());
        countPlannedCompletions();
        return status();
    }

    /** Follows completions until every task is done or {@code timeout} passes; returns the final status. */
    public JobStatus awaitCompletion(Duration timeout) {
        return awaitCompletion(timeout, () -> null);
    }

    /**
     * Follows completions until every task is done, {@code timeout} passes, or {@code failure} names a reason the job
     * cannot complete (checked between polls; null while there is none); returns the final status.
     */
    public JobStatus awaitCompletion(Duration timeout, Supplier<String> failure) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (tasksDone() < status().getTasksTotal()) {
            String reason = failure.get();
            if (reason != null) {
                throw new IllegalStateException(id() + ": job " + config.jobId() + " cannot complete: " + reason);
            }
            if (life.state() != State.RUNNING) {
                throw new IllegalStateException(id() + ": stopped before job " + config.jobId() + " completed");
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(id() + ": job " + config.jobId() + " did not complete within "
                    + timeout.toMillis() + " ms (" + status().getTasksCompleted() + " of " + status().getTasksTotal()
                    + " tasks done)");
            }
            pollCompletions(Duration.ofMillis(200));
        }
        updateStatus(s -> s.setState(JobState.COMPLETED));
        publishStatus();
        LOG.info("{}: job {} completed: {} tasks, {} numbers tested, {} primes reported.", id(), config.jobId(),
            status().getTasksCompleted(), status().getNumbersTested(), status().getPrimesFound());
        if (!deadLetteredTasks().isEmpty()) {
            LOG.error("{}: job {} is incomplete: {}.", id(), config.jobId(), status().getReason());
        }
        return status();
    }

    /** Reads what completions have arrived; one task counts once however often it is reported. */
    public void pollCompletions(Duration timeout) {
        boolean changed = false;
        for (ConsumerRecord<byte[], byte[]> record : completions.poll(timeout)) {
            if (record.topic().equals(Topics.PRIMES_TASKS_DLQ.name())) {
                changed |= deadLettered(record);
                continue;
            }
            TaskCompleted done;
            try {
                done = completedDeserializer.deserialize(record.topic(), record.headers(), record.value());
            } catch (SerializationException e) {
                LOG.warn("{}: unreadable completion at {}-{}@{}: {}", id(), record.topic(), record.partition(),
                    record.offset(), e.getMessage());
                continue;
            }
            if (done == null || !done.getJobId().equals(config.jobId())) {
                continue;
            }
            // A snapshot waits for the task records before its markers (a task planned again has a second record,
            // an orphan task one without a plan record), the job counts task ids of its plan.
            completedOffsets.computeIfAbsent(done.getTaskPartition(), k -> new TreeSet<>()).add(done.getTaskOffset());
            changed |= count(done);
        }
        if (changed) {
            listener.progress(status());
        }
    }

    /**
     * Counts a task of this job's plan that a worker dead-lettered (its key, the task id, is kept on the dead-letter
     * record) as done, and says in the status that the output misses it. A record whose key is not a task id of
     * this job is another job's (or has an unreadable key: then its task is never done, and the job waits, loudly).
     */
    private boolean deadLettered(ConsumerRecord<byte[], byte[]> record) {
        String taskId;
        try {
            taskId = record.key() == null ? null : keyDeserializer.deserialize(record.topic(), record.key());
        } catch (RuntimeException e) {
            LOG.warn("{}: a record on {} at offset {} has an unreadable key; it cannot be matched to a task.", id(),
                record.topic(), record.offset());
            return false;
        }
        TaskRef ref = taskId == null ? null : TaskRef.parse(config.jobId(), taskId);
        if (ref == null || planCheck(ref) != PlanCheck.PLANNED || completedTasks.contains(taskId)) {
            return false;
        }
        synchronized (this) {
            if (!deadLetteredTasks.add(taskId)) {
                return false;
            }
        }
        LOG.error("{}: task {} of job {} was dead-lettered by a worker that could not read it; its numbers are not in "
            + "the output.", id(), taskId, config.jobId());
        updateStatus(s -> s.setReason(incompleteReason(s.getChangedFiles(), deadLetteredTasks().size(), null)));
        return true;
    }

    /** Counts a completion of a task of the plan once; holds one whose file is not planned yet. */
    private boolean count(TaskCompleted done) {
        if (completedTasks.contains(done.getTaskId())) {
            return false;
        }
        TaskRef ref = TaskRef.parse(config.jobId(), done.getTaskId());
        PlanCheck check = ref == null ? PlanCheck.NOT_PLANNED : planCheck(ref);
        if (check == PlanCheck.NOT_PLANNED) {
            unplannedCompletions.putIfAbsent(done.getTaskId(), done);
            return false;
        }
        if (check == PlanCheck.BEYOND_PLAN) {
            LOG.warn("{}: ignoring the completion of {}: its file's plan has fewer tasks (a task of an interrupted "
                + "plan of an earlier version of the file).", id(), done.getTaskId());
            return false;
        }
        completedTasks.add(done.getTaskId());
        updateStatus(s -> s.setTasksCompleted(s.getTasksCompleted() + 1)
            .setNumbersTested(s.getNumbersTested() + done.getNumbersTested())
            .setPrimesFound(s.getPrimesFound() + done.getPrimesFound()));
        pendingSnapshots.forEach(s -> s.completionArrived(done));
        listener.completed(done);
        return true;
    }

    /** Counts the held completions whose files a plan record now lists. */
    private void countPlannedCompletions() {
        List<TaskCompleted> held = new ArrayList<>(unplannedCompletions.values());
        unplannedCompletions.clear();
        boolean changed = false;
        for (TaskCompleted done : held) {
            changed |= count(done);
        }
        if (changed) {
            listener.progress(status());
        }
    }

    private enum PlanCheck { PLANNED, NOT_PLANNED, BEYOND_PLAN }

    private PlanCheck planCheck(TaskRef ref) {
        Long tasks = plannedTasks.get(ref.file());
        if (tasks == null) {
            return PlanCheck.NOT_PLANNED;
        }
        return ref.chunk() < tasks ? PlanCheck.PLANNED : PlanCheck.BEYOND_PLAN;
    }

    /** Adds the files of a plan record to {@link #plannedTasks}. */
    private void rememberPlans(JobStatus s) {
        // A file planned by a coordinator that did not record task counts: its name in the plan record is enough.
        s.getPlannedFiles().forEach(f -> plannedTasks.putIfAbsent(f, Long.MAX_VALUE));
        s.getPlans().forEach(p -> plannedTasks.put(p.getName(), p.getTasks()));
    }

    /** The file and chunk a task id names ({@code <jobId>/<file>#<chunk>}), or null if it is not of this form. */
    record TaskRef(String file, int chunk) {
        static TaskRef parse(String jobId, String taskId) {
            String prefix = jobId + "/";
            int hash = taskId.lastIndexOf('#');
            if (!taskId.startsWith(prefix) || hash <= prefix.length()) {
                return null;
            }
            try {
                int chunk = Integer.parseInt(taskId.substring(hash + 1));
                return new TaskRef(taskId.substring(prefix.length(), hash), chunk);
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    /**
     * Records loudly that a planned file changed after it was planned: the job's status lists it and says the output
     * is incomplete; the job goes on with what was planned.
     */
    public void fileChanged(InputWatch.Changed change) {
        LOG.error("{}: job {}: {}.", id(), config.jobId(), change.describe());
        updateStatus(s -> {
            List<String> changed = new ArrayList<>(s.getChangedFiles());
            if (!changed.contains(change.name())) {
                changed.add(change.name());
            }
            return s.setChangedFiles(changed).setReason(incompleteReason(changed, deadLetteredTasks().size(),
                change.describe()));
        });
        publishStatus();
    }

    /** Why the output misses something: files changed after planning, tasks dead-lettered. */
    private static String incompleteReason(List<String> changed, int deadLettered, String lastChange) {
        List<String> why = new ArrayList<>();
        if (!changed.isEmpty()) {
            why.add(changed.size() + " input file(s) changed after they were planned " + changed
                + (lastChange == null ? "" : "; last: " + lastChange));
        }
        if (deadLettered > 0) {
            why.add(deadLettered + " task(s) dead-lettered (see " + Topics.PRIMES_TASKS_DLQ.name() + ")");
        }
        return "output incomplete: " + String.join("; ", why);
    }

    private synchronized void updateStatus(UnaryOperator<JobStatus.Builder> change) {
        status = change.apply(JobStatus.newBuilder(status)).setUpdatedAt(Instant.now()).build();
    }

    private <V> ProducerRecord<byte[], byte[]> record(TopicSpec<String, ?> topic, String key,
                                                      Serializer<V> valueSerializer, V value) {
        return new ProducerRecord<>(topic.name(), keySerializer.serialize(topic.name(), key),
            valueSerializer.serialize(topic.name(), value));
    }

    /**
     * Starts consistent snapshot {@code id} (Chandy–Lamport over topics): records this coordinator's state and writes
     * a marker into every partition of primes.tasks, behind every task published so far. Call it between plannings.
     */
    public Snapshot startSnapshot(long id) throws ExecutionException, InterruptedException {
        producer.flush();
        Map<Integer, Long> published = new HashMap<>(publishedPerPartition);
        int partitions = producer.partitionsFor(Topics.PRIMES_TASKS.name()).size();
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        Instant now = Instant.now();
        producer.beginTransaction();
        for (int p = 0; p < partitions; p++) {
            SnapshotMarker marker = SnapshotMarker.newBuilder().setSnapshotId(id).setJobId(config.jobId())
                .setInitiator(id()).setPartition(p).setPartitions(partitions).setStartedAt(now).build();
            String topic = Topics.PRIMES_TASKS.name();
            sent.add(producer.send(new ProducerRecord<>(topic, p, keySerializer.serialize(topic, MARKER_KEY_PREFIX + id),
                taskSerializer.serialize(topic, TaskMessage.newBuilder().setPayload(marker).build()))));
        }
        producer.commitTransaction();
        Map<Integer, Long> markerOffsets = new TreeMap<>();
        for (Future<RecordMetadata> f : sent) {
            RecordMetadata metadata = f.get();
            markerOffsets.put(metadata.partition(), metadata.offset());
        }
        Snapshot snapshot = new Snapshot(id, now, status(), published, markerOffsets, completedTasks.size());
        pendingSnapshots.add(snapshot);
        LOG.info("{}: snapshot {} started: {} tasks created, {} completed so far, markers at {}.", id(), id,
            snapshot.tasksCreated(), snapshot.completedAtStart(), markerOffsets);
        return snapshot;
    }

    /**
     * A worker's recorded state for a snapshot this coordinator started; others are ignored, as is a state answering
     * another marker with the same id (one an earlier incarnation wrote).
     */
    public void snapshotStateArrived(SnapshotState state) {
        for (Snapshot s : pendingSnapshots) {
            if (s.id() != state.getSnapshotId()) {
                continue;
            }
            if (s.answersMarker(state)) {
                s.stateArrived(state);
            } else {
                LOG.info("{}: ignoring a state for snapshot {} from {} at {} (this snapshot's marker there is at {}).",
                    id(), s.id(), state.getMemberId(), state.getOffsets(), s.markerOffsets().get(state.getPartition()));
            }
        }
    }

    /** What the pending snapshots still wait for, for a log line. */
    public String pendingSnapshotsWaitFor() {
        List<String> waiting = new ArrayList<>();
        for (Snapshot s : pendingSnapshots) {
            List<Integer> noState = new ArrayList<>(s.markerOffsets().keySet());
            noState.removeAll(s.workerStates().keySet());
            Map<Integer, String> completions = new TreeMap<>();
            s.markerOffsets().forEach((partition, marker) -> {
                long below = completedBelow(partition, marker);
                long published = s.publishedBefore().getOrDefault(partition, 0L);
                if (below < published) {
                    completions.put(partition, below + "/" + published);
                }
            });
            waiting.add("snapshot " + s.id() + ": states of partitions " + noState + ", completions " + completions);
        }
        return String.join("; ", waiting);
    }

    /** Whether a snapshot was started and has not completed yet. */
    public boolean snapshotPending() {
        return !pendingSnapshots.isEmpty();
    }

    /** How many started snapshots have not completed yet (each completes once the tasks before its markers are). */
    public int pendingSnapshotCount() {
        return pendingSnapshots.size();
    }

    /** The snapshots whose every part has arrived; they are no longer pending. */
    public List<Snapshot> completedSnapshots() {
        List<Snapshot> done = pendingSnapshots.stream().filter(this::isComplete).toList();
        pendingSnapshots.removeAll(done);
        return done;
    }

    /** Completed tasks of {@code partition} whose offsets lie before {@code offset}. */
    private long completedBelow(int partition, long offset) {
        TreeSet<Long> done = completedOffsets.get(partition);
        return done == null ? 0 : done.headSet(offset).size();
    }

    private boolean isComplete(Snapshot s) {
        if (s.workerStates().size() < s.markerOffsets().size()) {
            return false;
        }
        for (Map.Entry<Integer, Long> marker : s.markerOffsets().entrySet()) {
            long below = completedBelow(marker.getKey(), marker.getValue());
            if (below < s.publishedBefore().getOrDefault(marker.getKey(), 0L)) {
                return false;
            }
        }
        return true;
    }

    /**
     * One consistent snapshot: the coordinator's state when it started, the completions that were on their way to
     * it across the cut (the channel state), and each task partition's worker state at its marker.
     */
    public static final class Snapshot {
        private final long id;
        private final Instant startedAt;
        private final JobStatus coordinatorState;
        private final Map<Integer, Long> publishedBefore;
        private final Map<Integer, Long> markerOffsets;
        private final long completedAtStart;
        private final Map<Integer, SnapshotState> workerStates = new TreeMap<>();
        private final List<String> inTransit = new ArrayList<>();
        private long primesInTransit;
        private long numbersInTransit;

        Snapshot(long id, Instant startedAt, JobStatus coordinatorState, Map<Integer, Long> publishedBefore,
                 Map<Integer, Long> markerOffsets, long completedAtStart) {
            this.id = id;
            this.startedAt = startedAt;
            this.coordinatorState = coordinatorState;
            this.publishedBefore = Map.copyOf(publishedBefore);
            this.markerOffsets = markerOffsets;
            this.completedAtStart = completedAtStart;
        }

        void completionArrived(TaskCompleted done) {
            Long marker = markerOffsets.get(done.getTaskPartition());
            if (marker != null && done.getTaskOffset() < marker) {
                inTransit.add(done.getTaskId());
                primesInTransit += done.getPrimesFound();
                numbersInTransit += done.getNumbersTested();
            }
        }

        /** Whether the state was recorded at this snapshot's marker (its position is just past the marker). */
        boolean answersMarker(SnapshotState state) {
            Long marker = markerOffsets.get(state.getPartition());
            return marker != null && state.getOffsets().stream().anyMatch(o -> o.getPartition() == state.getPartition()
                && o.getTopic().equals(Topics.PRIMES_TASKS.name()) && o.getOffset() == marker + 1);
        }

        void stateArrived(SnapshotState state) {
            workerStates.put(state.getPartition(), state);
        }

        public long id() {
            return id;
        }

        public Instant startedAt() {
            return startedAt;
        }

        public JobStatus coordinatorState() {
            return coordinatorState;
        }

        public Map<Integer, Long> publishedBefore() {
            return publishedBefore;
        }

        public Map<Integer, Long> markerOffsets() {
            return markerOffsets;
        }

        public long completedAtStart() {
            return completedAtStart;
        }

        public Map<Integer, SnapshotState> workerStates() {
            return workerStates;
        }

        /** Completions sent before the cut and received after the coordinator recorded its state. */
        public List<String> inTransit() {
            return inTransit;
        }

        public long primesInTransit() {
            return primesInTransit;
        }

        public long numbersInTransit() {
            return numbersInTransit;
        }

        public long tasksCreated() {
            return publishedBefore.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    @Override
    public void close() {
        if (life.beginClose()) {
            try {
                completions.close();
            } finally {
                producer.close(Duration.ofSeconds(5));
                life.transition(State.CLOSED);
            }
        }
    }

    /**
     * The work of testing {@code n} in units of one 64-bit number: Miller-Rabin's modular exponentiations grow with
     * the cube of the length, so a task of huge numbers holds few of them and stays well inside a worker's
     * transaction timeout.
     */
    static long cost(BigInteger n) {
        int words = (n.bitLength() + 63) / 64;
        return words <= 1 ? 1 : Math.min((long) words * words * words, Integer.MAX_VALUE);
    }

    /** Cuts files into tasks while they are read, publishing as it goes. */
    private final class Planner implements NumberFileReader.LineSink {
        private String file;
        private int chunk;
        private long firstLine;
        private long lastLine;
        private int bytes;
        private long cost;
        private long[] small = new long[64];
        private int smallCount;
        private List<ByteBuffer> big = new ArrayList<>();
        private long tasks;
        private long numbersTotal;
        private long rejected;
        private long transactionStarted = System.nanoTime();

        void file(String name) {
            file = name;
            chunk = 0;
        }

        private int pending() {
            return smallCount + big.size();
        }

        @Override
        public void value(long lineNumber, BigInteger value) {
            if (pending() == 0) {
                firstLine = lineNumber;
            }
            if (value.bitLength() < Long.SIZE) {
                if (smallCount == small.length) {
                    small = Arrays.copyOf(small, small.length * 2);
                }
                small[smallCount++] = value.longValue();
                bytes += Long.BYTES;
            } else {
                ByteBuffer encoded = Numbers.toBytes(value);
                big.add(encoded);
                bytes += encoded.remaining() + 2;
            }
            lastLine = lineNumber;
            cost += cost(value);
            if (cost >= config.chunkNumbers() || bytes >= config.chunkBytes()) {
                flush();
            }
        }

        @Override
        public void rejected(long lineNumber, String text, String reason) {
            rejected++;
            RejectedRecord record = RejectedRecord.newBuilder().setComponent(id()).setSource(file)
                .setLocation("line " + lineNumber).setText(text).setReason(reason).setJobId(config.jobId())
                .setRejectedAt(Instant.now()).build();
            producer.send(Coordinator.this.record(Topics.PRIMES_REJECTED, file, rejectedSerializer, record));
            listener.rejected(file, lineNumber, text, reason);
        }

        void flush() {
            if (pending() == 0) {
                return;
            }
            String taskId = config.jobId() + "/" + file + "#" + chunk;
            Task task = Task.newBuilder().setTaskId(taskId).setJobId(config.jobId()).setFile(file).setChunk(chunk)
                .setFirstLine(firstLine).setLastLine(lastLine).setNumbers(big)
                .setPacked(Numbers.pack(small, smallCount)).setCreatedAt(Instant.now()).build();
            producer.send(Coordinator.this.record(Topics.PRIMES_TASKS, taskId, taskSerializer,
                TaskMessage.newBuilder().setPayload(task).build()), (metadata, error) -> {
                    if (error == null) {
                        publishedPerPartition.merge(metadata.partition(), 1L, Long::sum);
                    }
                });
            tasks++;
            numbersTotal += pending();
            chunk++;
            smallCount = 0;
            big = new ArrayList<>();
            bytes = 0;
            cost = 0;
            if (System.nanoTime() - transactionStarted >= COMMIT_EVERY_NS) {
                producer.commitTransaction();
                producer.beginTransaction();
                transactionStarted = System.nanoTime();
            }
        }
    }
}
