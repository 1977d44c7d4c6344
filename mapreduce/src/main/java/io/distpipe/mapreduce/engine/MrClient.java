package io.distpipe.mapreduce.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

import io.distpipe.common.KafkaClients;
import io.distpipe.mapreduce.MrJobCommand;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;

/** SubmitJob and GetJobStatus for clients: sends the command, then follows the job's status until it finishes. */
public final class MrClient implements AutoCloseable {

    private final String clientId;
    private final AvroSerdes serdes;
    private final Producer<byte[], byte[]> producer;
    private final JobWatcher watcher;

    public MrClient(String bootstrapServers, String clientId, AvroSerdes serdes) {
        this.clientId = clientId;
        this.serdes = serdes;
        Map<String, Object> props = KafkaClients.producer(bootstrapServers, clientId);
        this.producer = new KafkaProducer<>(props);
        this.watcher = new JobWatcher(bootstrapServers, clientId + "-watch", serdes);
    }

    /**
     * The input files of a job: the regular, non-hidden files of {@code dir} whose name matches {@code glob},
     * sorted by name, as absolute paths. Throws with one sentence when there are none.
     */
    public static List<String> inputFiles(Path dir, String glob) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("Input directory " + dir + " is not a directory");
        }
        var matcher = dir.getFileSystem().getPathMatcher("glob:" + glob);
        List<String> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
                .filter(p -> matcher.matches(p.getFileName())).sorted()
                .map(p -> p.toAbsolutePath().normalize().toString()).toList();
        }
        if (files.isEmpty()) {
            throw new IOException("Input directory " + dir + " has no files matching " + glob);
        }
        return files;
    }

    /** A fresh, readable job id. */
    public static String newJobId(String app) {
        return app + "-" + Long.toString(System.currentTimeMillis(), 36) + "-"
            + Integer.toString(java.util.concurrent.ThreadLocalRandom.current().nextInt(36 * 36 * 36), 36);
    }

    public MrJobCommand submit(String jobId, String app, List<String> files, int nReduce, Path outputDir) {
        MrJobCommand command = MrJobCommand.newBuilder().setJobId(jobId).setApp(app).setInputFiles(files)
            .setNReduce(nReduce).setOutputDir(outputDir.toAbsolutePath().normalize().toString())
            .setSubmittedBy(clientId).setSubmittedAt(Instant.now()).build();
        String topic = Topics.MR_COMMANDS.name();
        try {
            producer.send(new ProducerRecord<>(topic, serdes.keySerde(Topics.MR_COMMANDS).serializer()
                .serialize(topic, jobId), serdes.valueSerde(Topics.MR_COMMANDS).serializer().serialize(topic,
                command))).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted submitting job " + jobId, e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new KafkaException("cannot submit job " + jobId + ": " + e.getMessage(), e);
        }
        return command;
    }

    /**
     * Follows the job's status, calling {@code onUpdate} for each new status of it, until it is back in IDLE with an
     * outcome; returns that status. Throws {@link KafkaException} after {@code timeout}.
     */
    public MrJobStatus await(String jobId, Duration timeout, Consumer<MrJobStatus> onUpdate) {
        long deadline = System.nanoTime() + timeout.toNanos();
        // Statuses read while following another job are kept: this one may have finished meanwhile.
        java.util.Optional<MrJobStatus> known = watcher.latest(jobId);
        if (known.isPresent() && JobStateMachine.finished(known.get())) {
            onUpdate.accept(known.get());
            return known.get();
        }
        while (System.nanoTime() < deadline) {
            for (MrJobStatus s : watcher.poll(Duration.ofMillis(200))) {
                if (s.getJobId().equals(jobId)) {
                    onUpdate.accept(s);
                    if (JobStateMachine.finished(s)) {
                        return s;
                    }
                }
            }
        }
        throw new KafkaException("job " + jobId + " did not finish within " + timeout.toSeconds() + " s (last state: "
            + watcher.latest(jobId).map(s -> s.getState().toString()).orElse("not seen") + ")");
    }

    public JobWatcher watcher() {
        return watcher;
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
        watcher.close();
    }
}
