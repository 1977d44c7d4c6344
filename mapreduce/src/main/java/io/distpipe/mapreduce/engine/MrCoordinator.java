package io.distpipe.mapreduce.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import io.distpipe.common.AbstractService;
import io.distpipe.common.BrokerAborts;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.PollLoop;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.ReadPolicy.PoisonRecordException;
import io.distpipe.mapreduce.MapTask;
import io.distpipe.mapreduce.MrJobCommand;
import io.distpipe.mapreduce.MrJobOutcome;
import io.distpipe.mapreduce.MrJobState;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.mapreduce.MrTaskPhase;
import io.distpipe.mapreduce.MrTaskState;
import io.distpipe.mapreduce.MrTaskStatus;
import io.distpipe.mapreduce.ReduceTask;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MapReduce coordinator: takes SubmitJob commands, runs one job at a time (the others wait in submission order)
 * through the {@link JobStateMachine}, and keeps each job's status on the compacted jobs-status topic. Every step
 * that publishes tasks writes them in the same transaction as the status that says so, so a restarted coordinator
 * reads the topic and resumes the job where the last committed status left it. Its transactional id is fixed: a new
 * coordinator fences an old one.
 */
public final class MrCoordinator extends AbstractService implements BrokerAborts.Writer {

    public static final String GROUP_ID = "mr-coordinator";
    public static final String TRANSACTIONAL_ID = "mr-coordinator";
    public static final int MAX_RETRIES_DEFAULT = 2;
    public static final int MAX_REDUCES = 1000;

    private static final Logger LOG = LoggerFactory.getLogger(MrCoordinator.class);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final long ADMIN_TIMEOUT_S = 30;

    /** Settings; {@link #validate()} names the bad key. */
    public record Config(String id, String bootstrapServers, int maxRetries, int maxReplication) {

        public static Config defaults(String bootstrapServers) {
            return new Config("mr-coordinator", bootstrapServers, MAX_RETRIES_DEFAULT, 3);
        }

        public Config validate() {
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                throw new IllegalArgumentException("bootstrap.servers is missing");
            }
            if (maxRetries < 0 || maxReplication < 1) {
                throw new IllegalArgumentException("max.retries >= 0 and max.replication >= 1 are required");
            }
            return this;
        }
    }

    /** The MapReduce topics every run needs (the intermediate ones are made per job). */
    public static List<TopicSpec<?, ?>> topics() {
        return List.of(Topics.MR_COMMANDS, Topics.MR_JOBS, Topics.MR_MAP_TASKS, Topics.MR_REDUCE_TASKS,
            Topics.MR_TASK_STATUS, Topics.MR_TASK_STATUS_DLQ, Topics.MR_COMMANDS_DLQ);
    }

    private final Config config;
    private final AvroSerdes serdes;
    private final Map<String, MrJobStatus> jobs = new HashMap<>();
    private final Map<String, List<MrTaskStatus>> taskStatuses = new HashMap<>();
    private Admin admin;
    private Producer<byte[], byte[]> producer;
    private Consumer<byte[], byte[]> commands;
    private Consumer<byte[], byte[]> taskReader;
    private final Serializer<String> keys;
    private final Deserializer<MrJobCommand> commandReader;
    private final Deserializer<String> commandKeys;
    private final Deserializer<MrTaskStatus> taskStatusReader;
    private final Serializer<MrJobStatus> statusWriter;
    private final Serializer<MapTask> mapTaskWriter;
    private final Serializer<ReduceTask> reduceTaskWriter;
    private final ReadPolicy readPolicy;
    private volatile Predicate<MrJobStatus> haltAfter = s -> false;
    private final AtomicLong deadLetteredCommands = new AtomicLong();
    /** A write the broker aborted (a stalled coordinator) is written again, not taken for fencing. */
    private final BrokerAborts brokerAborts;

    public MrCoordinator(Config config, AvroSerdes serdes) {
        this(config, serdes, ReadPolicy.of(config.id()), null, null);
    }

    /** With a read policy, and (unit tests, no broker) the command reader and producer {@link #start} would make. */
    MrCoordinator(Config config, AvroSerdes serdes, ReadPolicy readPolicy, Consumer<byte[], byte[]> commands,
                  Producer<byte[], byte[]> producer) {
        super(config.id(), config.id());
        this.commands = commands;
        this.producer = producer;
        this.config = config.validate();
        this.serdes = serdes;
        this.keys = serdes.keySerde(Topics.MR_JOBS).serializer();
        this.commandReader = serdes.valueSerde(Topics.MR_COMMANDS).deserializer();
        this.commandKeys = serdes.keySerde(Topics.MR_COMMANDS).deserializer();
        this.taskStatusReader = serdes.valueSerde(Topics.MR_TASK_STATUS).deserializer();
        this.statusWriter = serdes.valueSerde(Topics.MR_JOBS).serializer();
        this.mapTaskWriter = serdes.valueSerde(Topics.MR_MAP_TASKS).serializer();
        this.reduceTaskWriter = serdes.valueSerde(Topics.MR_REDUCE_TASKS).serializer();
        this.readPolicy = readPolicy;
        this.brokerAborts = new BrokerAborts(config.id());
    }

    /**
     * For crash tests: once a status matching {@code condition} is committed, the coordinator stops at once, as if
     * its process died right after that write.
     */
    public void haltAfter(Predicate<MrJobStatus> condition) {
        this.haltAfter = condition;
    }

    @Override
    public void start() {
        life.transition(State.STARTING);
        admin = KafkaClients.reachableAdmin(config.bootstrapServers(), id() + "-admin");
        ensureTopics(topics());
        renewProducer();
        try (JobWatcher watcher = new JobWatcher(config.bootstrapServers(), id() + "-loader", serdes)) {
            watcher.catchUp(Duration.ofSeconds(ADMIN_TIMEOUT_S));
            jobs.putAll(watcher.all());
        }
        commands = new KafkaConsumer<>(KafkaClients.consumer(config.bootstrapServers(), GROUP_ID, id(),
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        commands.subscribe(List.of(Topics.MR_COMMANDS.name()));
        taskReader = new KafkaConsumer<>(KafkaClients.consumer(config.bootstrapServers(), null, id() + "-tasks",
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        TopicPartition tp = new TopicPartition(Topics.MR_TASK_STATUS.name(), 0);
        taskReader.assign(List.of(tp));
        taskReader.seekToBeginning(List.of(tp));
        life.transition(State.RUNNING);
        long unfinished = jobs.values().stream().filter(j -> !JobStateMachine.finished(j)).count();
        LOG.info("{}: started; {} jobs known, {} not finished.", id(), jobs.size(), unfinished);
    }

    /** The coordinator loop; returns when closed, fenced or halted. */
    public void run() {
        PollLoop.run(id(), life, LOG, "a newer coordinator", () -> {
            readCommands();
            readTaskStatuses();
            current().ifPresent(this::step);
            return true;
        }, e -> e instanceof Halt, this::closeClients);
    }

    /** Commands of mr.jobs.commands no schema reads, sent to mr.jobs.commands.dlq by this coordinator. */
    public long deadLetteredCommands() {
        return deadLetteredCommands.get();
    }

    /** The running job, or else the first queued one. */
    private Optional<MrJobStatus> current() {
        Optional<MrJobStatus> running = jobs.values().stream()
            .filter(j -> j.getState() != MrJobState.IDLE).findFirst();
        if (running.isPresent()) {
            return running;
        }
        return jobs.values().stream().filter(j -> j.getOutcome() == MrJobOutcome.PENDING)
            .min(Comparator.comparingLong(MrJobStatus::getSubmitSequence));
    }

    /**
     * Reads the submitted commands under the one {@link ReadPolicy}: one that cannot be read for now (registry or
     * broker down) is retried, bounded, then stops the coordinator with its offset not committed; one that can never
     * be read is dead-lettered ({@link #deadLetterCommand}).
     */
    void readCommands() {
        for (ConsumerRecord<byte[], byte[]> r : commands.poll(POLL)) {
            Map<TopicPartition, OffsetAndMetadata> offsets = Map.of(new TopicPartition(r.topic(), r.partition()),
                new OffsetAndMetadata(r.offset() + 1));
            MrJobCommand command;
            try {
                command = readPolicy.read(r, this::decodeCommand);
            } catch (PoisonRecordException e) {
                deadLetterCommand(e, offsets);
                continue;
            }
            if (jobs.containsKey(command.getJobId())) {
                LOG.warn("{}: job {} was already submitted; the repeated command is ignored.", id(),
                    command.getJobId());
                persist(null, List.of(), offsets);
                continue;
            }
            Instant now = Instant.now();
            String invalid = validate(command);
            MrJobStatus queued = MrJobStatus.newBuilder().setJobId(command.getJobId()).setApp(command.getApp())
                .setState(MrJobState.IDLE).setPreviousState(null).setOutcome(MrJobOutcome.PENDING).setReason(null)
                .setSubmitSequence(r.offset()).setInputFiles(command.getInputFiles()).setNReduce(command.getNReduce())
                .setOutputDir(command.getOutputDir())
                .setIntermediateTopic(invalid == null ? Topics.mrIntermediate(command.getJobId(), 1).name() : "")
                .setMapDone(0)
                .setReduceDone(0).setTaskFailures(0).setTransitions(0).setSubmittedAt(command.getSubmittedAt())
                .setUpdatedAt(now).build();
            List<MrJobStatus> writes = new ArrayList<>(List.of(queued));
            if (invalid != null) {
                MrJobStatus error = JobStateMachine.transition(queued, MrJobState.ERROR, invalid);
                writes.add(error);
                writes.add(JobStateMachine.transition(error, MrJobState.IDLE, invalid));
            }
            LOG.info("{}: job {} submitted by {} ({} on {} files, {} reduces){}.", id(), command.getJobId(),
                command.getSubmittedBy(), command.getApp(), command.getInputFiles().size(), command.getNReduce(),
                invalid == null ? "" : "; refused: " + invalid);
            persistAll(writes, List.of(), offsets);
        }
    }

    private MrJobCommand decodeCommand(ConsumerRecord<byte[], byte[]> r) {
        MrJobCommand command = commandReader.deserialize(r.topic(), r.headers(), r.value());
        if (command == null) {
            throw new IllegalArgumentException("the record has no value");
        }
        return command;
    }

    /**
     * A command no schema reads goes to mr.jobs.commands.dlq with the reason, in the transaction that commits its
     * offset (a restarted coordinator does not send it twice), and is counted. When its key names a job not submitted
     * before, that job is ended FAILED with the reason, so {@code mr submit} stops waiting and {@code mr status}
     * says why; no job runs for it.
     */
    private void deadLetterCommand(PoisonRecordException poison, Map<TopicPartition, OffsetAndMetadata> offsets) {
        ConsumerRecord<byte[], byte[]> r = poison.record();
        String reason = "the submit command " + ReadPolicy.where(r) + " cannot be read (" + poison.reason()
            + "); it was sent to " + Topics.MR_COMMANDS_DLQ.name();
        String jobId = jobIdOf(r);
        List<MrJobStatus> writes = new ArrayList<>();
        if (jobId != null && !jobs.containsKey(jobId)) {
            Instant now = Instant.now();
            MrJobStatus queued = MrJobStatus.newBuilder().setJobId(jobId).setApp("").setState(MrJobState.IDLE)
                .setPreviousState(null).setOutcome(MrJobOutcome.PENDING).setReason(null).setSubmitSequence(r.offset())
                .setInputFiles(List.of()).setNReduce(0).setOutputDir("").setIntermediateTopic("").setMapDone(0)
                .setReduceDone(0).setTaskFailures(0).setTransitions(0).setSubmittedAt(Instant.ofEpochMilli(
                    Math.max(0, r.timestamp()))).setUpdatedAt(now).build();
            MrJobStatus error = JobStateMachine.transition(queued, MrJobState.ERROR, reason);
            writes.add(queued);
            writes.add(error);
            writes.add(JobStateMachine.transition(error, MrJobState.IDLE, reason));
        }
        LOG.warn("{}: {}{}.", id(), reason, writes.isEmpty() ? "" : "; job " + jobId + " failed");
        persistAll(writes, List.of(readPolicy.deadLetter(Topics.MR_COMMANDS_DLQ.name(), poison)), offsets);
        deadLetteredCommands.incrementAndGet();
    }

    /** The job id a command record is keyed by, or null when the key is missing or unreadable too. */
    private String jobIdOf(ConsumerRecord<byte[], byte[]> r) {
        if (r.key() == null) {
            return null;
        }
        try {
            String jobId = commandKeys.deserialize(r.topic(), r.headers(), r.key());
            return jobId == null || jobId.isBlank() ? null : jobId;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String validate(MrJobCommand c) {
        if (Apps.byName(c.getApp()).isEmpty()) {
            return "unknown app " + c.getApp() + " (known: " + Apps.names() + ")";
        }
        if (c.getNReduce() < 1 || c.getNReduce() > MAX_REDUCES) {
            return "nReduce must be between 1 and " + MAX_REDUCES + ", not " + c.getNReduce();
        }
        if (c.getInputFiles().isEmpty()) {
            return "the job has no input files";
        }
        if (!c.getJobId().matches("[A-Za-z0-9._-]{1,100}")) {
            return "job id must be 1-100 letters, digits, '.', '_' or '-'";
        }
        return null;
    }

    /**
     * Reads the task statuses. One that cannot be read for now (registry or broker down) is retried, bounded, and then
     * stops the coordinator; one that can never be read is dead-lettered ({@link #deadLetter}) and the loop goes on.
     */
    private void readTaskStatuses() {
        for (ConsumerRecord<byte[], byte[]> r : taskReader.poll(Duration.ofMillis(20))) {
            MrTaskStatus s;
            try {
                s = readPolicy.read(r, this::decodeTaskStatus);
            } catch (PoisonRecordException e) {
                deadLetter(e);
                continue;
            }
            MrJobStatus job = jobs.get(s.getJobId());
            if (job == null || !JobStateMachine.finished(job)) {
                taskStatuses.computeIfAbsent(s.getJobId(), j -> new ArrayList<>()).add(s);
            }
        }
    }

    private MrTaskStatus decodeTaskStatus(ConsumerRecord<byte[], byte[]> r) {
        MrTaskStatus s = taskStatusReader.deserialize(r.topic(), r.headers(), r.value());
        if (s == null) {
            throw new IllegalArgumentException("the record has no value");
        }
        return s;
    }

    /**
     * A task status no schema reads goes to mr.task.status.dlq, and its offset into the status of the job it arrived
     * during (in the same transaction), so the job's result counts it and a restarted coordinator, which reads the
     * statuses from the start again, does not send it twice. The job goes on: a status is a report, not a step of the
     * job's state machine. A report the coordinator cannot read is one it never acts on, as if the attempt had not
     * reported; the job's own progress comes from the readable reports of the workers, which write their statuses in
     * each attempt's transaction with the same serde.
     */
    private void deadLetter(PoisonRecordException poison) {
        long offset = poison.record().offset();
        if (jobs.values().stream().anyMatch(j -> j.getDeadLettered().contains(offset))) {
            return;
        }
        Optional<MrJobStatus> job = current();
        LOG.warn("{}: task status {} cannot be read ({}); sent to {}{}.", id(), ReadPolicy.where(poison.record()),
            poison.reason(), Topics.MR_TASK_STATUS_DLQ.name(), job.map(j -> " and counted in job " + j.getJobId())
                .orElse(""));
        ProducerRecord<byte[], byte[]> dead = readPolicy.deadLetter(Topics.MR_TASK_STATUS_DLQ.name(), poison);
        persist(job.map(j -> {
            List<Long> offsets = new ArrayList<>(j.getDeadLettered());
            offsets.add(offset);
            return MrJobStatus.newBuilder(j).setDeadLettered(offsets).setUpdatedAt(Instant.now()).build();
        }).orElse(null), List.of(dead), null);
    }

    private void step(MrJobStatus job) {
        switch (job.getState()) {
            case IDLE -> persist(JobStateMachine.transition(job, MrJobState.INITIALIZING, null), List.of(), null);
            case INITIALIZING -> initialize(job);
            case MAPPING -> evaluate(job, MrTaskPhase.MAP);
            case SHUFFLING -> shuffle(job);
            case REDUCING -> evaluate(job, MrTaskPhase.REDUCE);
            case FINALIZING -> finish(job);
            case ERROR -> evaluate(job, job.getPreviousState() == MrJobState.REDUCING ? MrTaskPhase.REDUCE
                : MrTaskPhase.MAP);
            default -> throw new IllegalStateException("unknown state " + job.getState());
        }
    }

    private void initialize(MrJobStatus job) {
        for (String file : job.getInputFiles()) {
            Path p = Path.of(file);
            if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
                fail(job, "input file " + file + " is not a readable file");
                return;
            }
        }
        TopicSpec<?, ?> intermediate = Topics.mrIntermediate(job.getJobId(), job.getNReduce());
        TopicAdmin.Outcome outcome = ensureTopics(List.of(intermediate)).get(0);
        if (outcome.partitions() != job.getNReduce()) {
            fail(job, "topic " + intermediate.name() + " exists with " + outcome.partitions() + " partitions, not "
                + job.getNReduce());
            return;
        }
        List<ProducerRecord<byte[], byte[]>> tasks = new ArrayList<>();
        for (int i = 0; i < job.getInputFiles().size(); i++) {
            tasks.add(mapTask(job, i, 0));
        }
        persist(JobStateMachine.transition(job, MrJobState.MAPPING, null), tasks, null);
    }

    /**
     * Creates the topics if missing. A topic just created may not be described yet (its metadata is still on its
     * way to the broker answering), so that case is retried a few times.
     */
    private List<TopicAdmin.Outcome> ensureTopics(List<TopicSpec<?, ?>> specs) {
        for (int attempt = 1; ; attempt++) {
            try {
                return TopicAdmin.ensureTopics(admin, specs, config.maxReplication());
            } catch (KafkaException e) {
                if (attempt >= 10 || !(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw e;
                }
                LOG.debug("{}: topics not visible yet ({}); retrying.", id(), e.getMessage());
                try {
                    TimeUnit.MILLISECONDS.sleep(200L * attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private ProducerRecord<byte[], byte[]> mapTask(MrJobStatus job, int index, int retry) {
        String topic = Topics.MR_MAP_TASKS.name();
        MapTask task = MapTask.newBuilder().setJobId(job.getJobId()).setTaskId(job.getJobId() + "/map-" + index)
            .setIndex(index).setApp(job.getApp()).setFile(job.getInputFiles().get(index)).setNReduce(job.getNReduce())
            .setIntermediateTopic(job.getIntermediateTopic()).setRetry(retry).setCreatedAt(Instant.now()).build();
        return new ProducerRecord<>(topic, index % Topics.MR_MAP_TASKS.partitions(),
            keys.serialize(topic, task.getTaskId()), mapTaskWriter.serialize(topic, task));
    }

    private ProducerRecord<byte[], byte[]> reduceTask(MrJobStatus job, int index, int retry) {
        String topic = Topics.MR_REDUCE_TASKS.name();
        ReduceTask task = ReduceTask.newBuilder().setJobId(job.getJobId())
            .setTaskId(job.getJobId() + "/reduce-" + index).setIndex(index).setApp(job.getApp())
            .setIntermediateTopic(job.getIntermediateTopic()).setEndOffset(job.getIntermediateEnd().get(index))
            .setAcceptedAttempts(job.getAcceptedAttempts()).setOutputDir(job.getOutputDir()).setRetry(retry)
            .setCreatedAt(Instant.now()).build();
        return new ProducerRecord<>(topic, index % Topics.MR_REDUCE_TASKS.partitions(),
            keys.serialize(topic, task.getTaskId()), reduceTaskWriter.serialize(topic, task));
    }

    /**
     * Looks at the task statuses of the job's current phase: a new failure sends the job to ERROR and, within the
     * retry budget, republishes the task and returns to the phase (else the job fails); all tasks done ends the
     * phase.
     */
    private void evaluate(MrJobStatus job, MrTaskPhase phase) {
        int n = phase == MrTaskPhase.MAP ? job.getInputFiles().size() : job.getNReduce();
        List<MrTaskStatus> all = taskStatuses.getOrDefault(job.getJobId(), List.of());
        Map<MrTaskPhase, long[]> accepted = Map.of(MrTaskPhase.MAP, new long[job.getInputFiles().size()],
            MrTaskPhase.REDUCE, new long[job.getNReduce()]);
        List<MrTaskStatus> failures = new ArrayList<>();
        for (MrTaskStatus s : all) {
            if (s.getState() == MrTaskState.DONE) {
                long[] a = accepted.get(s.getPhase());
                if (s.getIndex() < a.length && a[s.getIndex()] == 0) {
                    a[s.getIndex()] = s.getAttempt();
                }
            } else {
                failures.add(s);
            }
        }
        for (int i = job.getTaskFailures(); i < failures.size(); i++) {
            MrTaskStatus f = failures.get(i);
            long[] a = accepted.get(f.getPhase());
            boolean stale = f.getPhase() != phase || f.getIndex() >= a.length || a[f.getIndex()] != 0;
            MrJobStatus handled = MrJobStatus.newBuilder(job).setTaskFailures(i + 1).build();
            if (stale) {
                persist(handled, List.of(), null);
                return;
            }
            int retry = (int) failures.subList(0, i + 1).stream()
                .filter(x -> x.getPhase() == f.getPhase() && x.getIndex() == f.getIndex()).count();
            String what = f.getPhase().name().toLowerCase() + " task " + f.getIndex() + " failed on " + f.getWorkerId()
                + ": " + f.getReason();
            if (retry > config.maxRetries()) {
                fail(handled, what + " (" + retry + " attempts failed; the retry budget is " + config.maxRetries()
                    + " retries)");
                return;
            }
            MrJobStatus error = job;
            if (job.getState() != MrJobState.ERROR) {
                error = JobStateMachine.transition(job, MrJobState.ERROR, what + "; retry " + retry + " of "
                    + config.maxRetries());
                persist(error, List.of(), null);
            }
            // The retry and the way back to the phase commit together: a coordinator restarted in ERROR finds this
            // failure unhandled and does it again.
            MrJobStatus resumed = JobStateMachine.transition(MrJobStatus.newBuilder(error).setTaskFailures(i + 1)
                .build(), error.getPreviousState(), null);
            ProducerRecord<byte[], byte[]> task = phase == MrTaskPhase.MAP ? mapTask(resumed, f.getIndex(), retry)
                : reduceTask(resumed, f.getIndex(), retry);
            persist(resumed, List.of(task), null);
            return;
        }
        if (job.getState() == MrJobState.ERROR) {
            // Nothing left to handle (the failure was stale): the error is resolved.
            persist(JobStateMachine.transition(job, job.getPreviousState(), null), List.of(), null);
            return;
        }
        long[] a = accepted.get(phase);
        int done = 0;
        for (long attempt : a) {
            done += attempt != 0 ? 1 : 0;
        }
        int before = phase == MrTaskPhase.MAP ? job.getMapDone() : job.getReduceDone();
        MrJobStatus progressed = phase == MrTaskPhase.MAP
            ? MrJobStatus.newBuilder(job).setMapDone(done).build()
            : MrJobStatus.newBuilder(job).setReduceDone(done).build();
        if (done == n) {
            if (phase == MrTaskPhase.MAP) {
                List<Long> attempts = new ArrayList<>();
                for (long x : a) {
                    attempts.add(x);
                }
                persist(JobStateMachine.transition(MrJobStatus.newBuilder(progressed).setAcceptedAttempts(attempts)
                    .build(), MrJobState.SHUFFLING, null), List.of(), null);
            } else {
                persist(JobStateMachine.transition(progressed, MrJobState.FINALIZING, null), List.of(), null);
            }
        } else if (done != before) {
            persist(MrJobStatus.newBuilder(progressed).setUpdatedAt(Instant.now()).build(), List.of(), null);
        }
    }

    /**
     * The shuffle itself is Kafka's partitioning; this fixes where each intermediate partition ends: its high
     * watermark once no transaction is open on it (so every accepted attempt's records lie before it).
     */
    private void shuffle(MrJobStatus job) {
        List<TopicPartition> partitions = new ArrayList<>();
        for (int r = 0; r < job.getNReduce(); r++) {
            partitions.add(new TopicPartition(job.getIntermediateTopic(), r));
        }
        Map<TopicPartition, Long> committed = offsets(partitions, IsolationLevel.READ_COMMITTED);
        Map<TopicPartition, Long> written = offsets(partitions, IsolationLevel.READ_UNCOMMITTED);
        if (!committed.equals(written)) {
            LOG.debug("{}: job {}: waiting for open transactions on {} to end.", id(), job.getJobId(),
                job.getIntermediateTopic());
            return;
        }
        List<Long> ends = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            ends.add(committed.get(tp));
        }
        MrJobStatus reducing = JobStateMachine.transition(MrJobStatus.newBuilder(job).setIntermediateEnd(ends)
            .build(), MrJobState.REDUCING, null);
        List<ProducerRecord<byte[], byte[]>> tasks = new ArrayList<>();
        for (int r = 0; r < job.getNReduce(); r++) {
            tasks.add(reduceTask(reducing, r, 0));
        }
        persist(reducing, tasks, null);
    }

    private Map<TopicPartition, Long> offsets(List<TopicPartition> partitions, IsolationLevel isolation) {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        partitions.forEach(tp -> request.put(tp, OffsetSpec.latest()));
        try {
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> result = admin.listOffsets(request,
                new ListOffsetsOptions(isolation)).all().get(ADMIN_TIMEOUT_S, TimeUnit.SECONDS);
            Map<TopicPartition, Long> offsets = new HashMap<>();
            result.forEach((tp, info) -> offsets.put(tp, info.offset()));
            return offsets;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted listing offsets", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new KafkaException("cannot list offsets of " + partitions + ": " + e.getMessage(), e);
        }
    }

    private void finish(MrJobStatus job) {
        for (int r = 0; r < job.getNReduce(); r++) {
            Path out = Path.of(job.getOutputDir(), "mr-out-" + r);
            if (!Files.isRegularFile(out)) {
                fail(job, "output file " + out + " is missing although its reduce task reported it written");
                return;
            }
        }
        try {
            admin.deleteTopics(List.of(job.getIntermediateTopic())).all().get(ADMIN_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.warn("{}: job {}: could not delete {}: {}", id(), job.getJobId(), job.getIntermediateTopic(),
                e.getMessage());
        }
        persist(JobStateMachine.transition(job, MrJobState.IDLE, null), List.of(), null);
    }

    /** The job fails: through ERROR (unless already there) to IDLE, the reason kept for the client. */
    private void fail(MrJobStatus job, String reason) {
        MrJobStatus error = job.getState() == MrJobState.ERROR ? job
            : JobStateMachine.transition(job, MrJobState.ERROR, reason);
        persistAll(List.of(error, JobStateMachine.transition(error, MrJobState.IDLE, reason)), List.of(), null);
    }

    private void persist(MrJobStatus status, List<ProducerRecord<byte[], byte[]>> extra,
                         Map<TopicPartition, OffsetAndMetadata> offsets) {
        persistAll(status == null ? List.of() : List.of(status), extra, offsets);
    }

    /** Writes the statuses, the tasks and the command offsets in one transaction, then remembers the statuses. */
    private void persistAll(List<MrJobStatus> statuses, List<ProducerRecord<byte[], byte[]>> extra,
                            Map<TopicPartition, OffsetAndMetadata> offsets) {
        brokerAborts.run(this, () -> {
            producer.beginTransaction();
            try {
                extra.forEach(producer::send);
                String topic = Topics.MR_JOBS.name();
                for (MrJobStatus s : statuses) {
                    producer.send(new ProducerRecord<>(topic, 0, keys.serialize(topic, s.getJobId()),
                        statusWriter.serialize(topic, s)));
                }
                if (offsets != null) {
                    producer.sendOffsetsToTransaction(offsets, commands.groupMetadata());
                }
                producer.commitTransaction();
            } catch (KafkaException e) {
                if (!BrokerAborts.stallAnswer(e)) {
                    producer.abortTransaction();
                }
                throw e;
            }
            return null;
        });
        for (MrJobStatus s : statuses) {
            jobs.put(s.getJobId(), s);
            if (JobStateMachine.finished(s)) {
                taskStatuses.remove(s.getJobId());
            }
        }
        for (MrJobStatus s : statuses) {
            if (haltAfter.test(s)) {
                LOG.warn("{}: halting after writing job {} in {} (crash test).", id(), s.getJobId(), s.getState());
                life.beginClose();
                throw new Halt();
            }
        }
    }

    @Override
    public Producer<?, ?> producer() {
        return producer;
    }

    @Override
    public Duration transactionTimeout() {
        return Duration.ofMillis(KafkaClients.TRANSACTION_TIMEOUT_MS_DEFAULT);
    }

    /** The transactional producer, made again after the broker aborted a transaction of a stalled coordinator. */
    @Override
    public void renewProducer() {
        producer = BrokerAborts.renewed(id(), producer, () -> new KafkaProducer<byte[], byte[]>(
            KafkaClients.transactionalProducer(config.bootstrapServers(), TRANSACTIONAL_ID,
                KafkaClients.TRANSACTION_TIMEOUT_MS_DEFAULT)));
    }

    /** Ends the loop at once, as a crash would, without writing anything more. */
    private static final class Halt extends RuntimeException {
        Halt() {
            super("halted", null, false, false);
        }
    }

    @Override
    public void close() {
        closeOrWake(this::closeClients, () -> {
            if (commands != null) {
                commands.wakeup();
            }
        });
    }

    private void closeClients() {
        for (AutoCloseable c : new AutoCloseable[] {commands, taskReader, producer, admin}) {
            if (c == null) {
                continue;
            }
            try {
                if (c instanceof Producer<?, ?> p) {
                    p.close(Duration.ofSeconds(5));
                } else {
                    c.close();
                }
            } catch (Exception e) {
                LOG.debug("{}: close: {}", id(), e.toString());
            }
        }
        if (life.state() == State.CLOSING || life.state() == State.FAILED) {
            life.transition(State.CLOSED);
        }
        LOG.info("{}: stopped.", id());
    }
}
