package io.distpipe.primes.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.common.Service;
import io.distpipe.primes.dedup.DedupService;
import io.distpipe.primes.plan.NumberParser;
import io.distpipe.primes.work.PrimeWorker;
import io.distpipe.testkit.PrimesOracle;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The running system after retention has done its work: every delete-policy topic of the catalog with a finite
 * retention is cleaned by the broker itself (its retention lowered to 1 ms until its log start offset reaches its end,
 * then set back), and the system must still give the primes of a file dropped before, both to a coordinator that
 * kept running and to one restarted after the cleanup. Topics whose records are state (completions counted on
 * resume, the distinct primes the output is rebuilt from) must be compacted or kept forever for this to hold.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SystemRetentionIT {

    private static final Duration WAIT = Duration.ofSeconds(90);

    @TempDir
    static Path dir;

    private EmbeddedKafka kafka;
    private SchemaRegistryServer registry;
    private AvroSerdes serdes;
    private Admin admin;
    private final List<AutoCloseable> running = new ArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @BeforeAll
    void startCluster() throws Exception {
        // The broker looks for segments past their retention every half second (five minutes by default).
        kafka = EmbeddedKafka.start(dir.resolve("kafka"), Map.of("log.retention.check.interval.ms", "500"));
        registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
        serdes = AvroSerdes.connect(registry.url());
        admin = KafkaClients.reachableAdmin(kafka.bootstrapServers(), "it-retention-admin");
        TopicAdmin.ensureTopics(admin, Topics.external(), 1);
        TopicAdmin.registerSchemas(serdes.registry(), Topics.ALL);
    }

    @AfterAll
    void stopCluster() throws Exception {
        for (int i = running.size() - 1; i >= 0; i--) {
            running.get(i).close();
        }
        threads.shutdownNow();
        threads.awaitTermination(30, TimeUnit.SECONDS);
        admin.close();
        registry.close();
        kafka.close();
    }

    /** The system's processes but the coordinator: the dedup processor and a worker, in this JVM. */
    private void startDedupAndWorker() throws Exception {
        DedupService dedup = new DedupService("dedup", kafka.bootstrapServers(), 1, dir.resolve("dedup-state"),
            serdes);
        running.add(dedup);
        dedup.start();
        PrimeWorker worker = PrimeWorker.create(PrimeWorker.Config.defaults("worker-1", kafka.bootstrapServers()),
            serdes);
        running.add(worker);
        worker.start();
        threads.submit(worker::run);
    }

    @Test
    void shouldKeepThePrimesOfAFileDroppedBeforeRetentionCleanedTheLogs() throws Exception {
        Path input = Files.createDirectories(dir.resolve("input"));
        Path output = dir.resolve("primes.txt");
        PrimesOracle oracle = new PrimesOracle(20_000);
        startDedupAndWorker();

        SystemCoordinator first = startCoordinator(input, output);
        drop(input, "a.txt", oracle, 1, 5_000);
        awaitOutput(output, oracle);

        cleanDeletePolicyTopics();

        drop(input, "b.txt", oracle, 5_001, 10_000);
        awaitOutput(output, oracle);

        // A coordinator started after the cleanup resumes the job from what is left on the topics.
        first.stop();
        Poll.until("the first coordinator to stop", WAIT, () -> first.state() == Service.State.CLOSED);
        cleanDeletePolicyTopics();
        startCoordinator(input, output);
        drop(input, "c.txt", oracle, 10_001, 20_000);
        awaitOutput(output, oracle);
    }

    /** Writes a file next to the input directory and moves it in, as a user should drop files. */
    private void drop(Path input, String name, PrimesOracle oracle, int from, int to) throws Exception {
        Path staged = dir.resolve(name);
        oracle.writeRange(staged, from, to);
        Files.move(staged, input.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void shouldBringAnExistingTopicBackToTheCatalogsRetention() throws Exception {
        // As an older release created it: completions deleted after a week.
        ConfigResource completed = new ConfigResource(ConfigResource.Type.TOPIC, Topics.PRIMES_COMPLETED.name());
        admin.incrementalAlterConfigs(Map.of(completed, List.of(
            new AlterConfigOp(new ConfigEntry(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE),
                AlterConfigOp.OpType.SET),
            new AlterConfigOp(new ConfigEntry(TopicConfig.RETENTION_MS_CONFIG, "604800000"),
                AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        // The broker applies a config change once it has read it from the metadata log.
        Poll.until("the broker to apply the old settings", WAIT, () -> retentionOf(completed).equals("604800000"));

        List<TopicAdmin.Outcome> outcomes = TopicAdmin.ensureTopics(admin, Topics.external(), 1);

        assertThat(outcomes).filteredOn(o -> !o.aligned().isEmpty()).extracting(o -> o.spec().name())
            .containsExactly(Topics.PRIMES_COMPLETED.name());
        Poll.until("primes.completed to be compacted and kept forever again", WAIT, () -> {
            var configs = describe(completed);
            return configs.get(TopicConfig.CLEANUP_POLICY_CONFIG).value().equals(TopicConfig.CLEANUP_POLICY_COMPACT)
                && configs.get(TopicConfig.RETENTION_MS_CONFIG).value().equals("-1");
        });
    }

    private String retentionOf(ConfigResource topic) {
        return describe(topic).get(TopicConfig.RETENTION_MS_CONFIG).value();
    }

    private org.apache.kafka.clients.admin.Config describe(ConfigResource topic) {
        try {
            return admin.describeConfigs(List.of(topic)).all().get(30, TimeUnit.SECONDS).get(topic);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private SystemCoordinator startCoordinator(Path input, Path output) throws Exception {
        SystemCoordinator coordinator = new SystemCoordinator("system", input, output, kafka.bootstrapServers(),
            serdes, 500, NumberParser.DEFAULT_MAX_DIGITS, dir.resolve("snapshots"), Duration.ZERO);
        Future<?> loop = threads.submit(() -> {
            try (coordinator) {
                coordinator.run();
            }
            return null;
        });
        running.add(() -> {
            coordinator.stop();
            loop.get(60, TimeUnit.SECONDS);
        });
        return coordinator;
    }

    private void awaitOutput(Path output, PrimesOracle oracle) {
        Poll.until(output.getFileName() + " to hold the " + oracle.expectedCount() + " primes of every file dropped",
            WAIT, () -> Files.exists(output) && readLines(output).equals(oracle.expectedLines()));
    }

    private static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Lets the broker's retention remove every record of each delete-policy topic with a finite retention: retention
     * 1 ms until the log start offset of every partition is its end offset, then the catalog's retention again.
     */
    private void cleanDeletePolicyTopics() throws Exception {
        List<TopicSpec<?, ?>> finite = Topics.external().stream()
            .filter(t -> t.cleanup() == TopicSpec.Cleanup.DELETE && t.retentionMs() > 0).toList();
        alterRetention(finite, t -> "1");
        Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (TopicSpec<?, ?> t : finite) {
            for (int p = 0; p < t.partitions(); p++) {
                earliest.put(new TopicPartition(t.name(), p), OffsetSpec.earliest());
                latest.put(new TopicPartition(t.name(), p), OffsetSpec.latest());
            }
        }
        Poll.until("retention to clean " + finite.stream().map(TopicSpec::name).toList(), WAIT, () -> {
            try {
                var start = admin.listOffsets(earliest).all().get(10, TimeUnit.SECONDS);
                var end = admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
                return end.entrySet().stream()
                    .allMatch(e -> start.get(e.getKey()).offset() == e.getValue().offset());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        alterRetention(finite, t -> Long.toString(t.retentionMs()));
        // Until the broker has applied the catalog's retention again, a new file's tasks could be cleaned unread.
        Poll.until("the catalog's retention to be back", WAIT, () -> finite.stream().allMatch(t -> retentionOf(
            new ConfigResource(ConfigResource.Type.TOPIC, t.name())).equals(Long.toString(t.retentionMs()))));
    }

    private void alterRetention(List<TopicSpec<?, ?>> topics, java.util.function.Function<TopicSpec<?, ?>, String> ms)
        throws Exception {
        Map<ConfigResource, java.util.Collection<AlterConfigOp>> ops = new HashMap<>();
        for (TopicSpec<?, ?> t : topics) {
            ops.put(new ConfigResource(ConfigResource.Type.TOPIC, t.name()), List.of(new AlterConfigOp(
                new ConfigEntry(TopicConfig.RETENTION_MS_CONFIG, ms.apply(t)), AlterConfigOp.OpType.SET)));
        }
        admin.incrementalAlterConfigs(ops).all().get(30, TimeUnit.SECONDS);
    }
}
