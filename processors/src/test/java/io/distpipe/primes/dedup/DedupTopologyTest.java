package io.distpipe.primes.dedup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

import io.distpipe.primes.PrimeFound;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.RegisteredSchema;
import io.distpipe.topics.registry.SchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryException;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DedupTopologyTest {

    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    private static final byte[] POISON_KEY = "17".getBytes(StandardCharsets.UTF_8);
    private static final byte[] POISON_VALUE = "not an Avro record".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path stateDir;

    private final AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
    private TopologyTestDriver driver;
    private TestInputTopic<String, PrimeFound> found;
    private TestOutputTopic<String, PrimeFound> unique;

    @BeforeEach
    void startDriver() {
        Properties props = DedupTopology.config("dummy:1234");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(DedupTopology.build(serdes), props, START);
        found = driver.createInputTopic(Topics.PRIMES_FOUND.name(), serdes.keySerde(Topics.PRIMES_FOUND).serializer(),
            serdes.valueSerde(Topics.PRIMES_FOUND).serializer());
        unique = uniqueOutput(driver);
    }

    @AfterEach
    void closeDriver() {
        driver.close();
    }

    @Test
    void shouldEmitEachPrimeOnceWhenSeenTwice() {
        PrimeFound first = prime(7, "job-1", "job-1/a.txt#0", "worker-1");
        PrimeFound again = prime(7, "job-1", "job-1/b.txt#3", "worker-2");

        found.pipeInput("7", first);
        // A duplicate is caught however late it comes: the store keeps every prime of a job, with no window.
        driver.advanceWallClockTime(Duration.ofHours(1));
        found.pipeInput("7", again);

        assertThat(unique.readKeyValuesToList()).containsExactly(KeyValue.pair("7", first));
        KeyValueStore<String, Long> seen = driver.getKeyValueStore(DedupTopology.STORE);
        assertThat(seen.get("job-1/7")).isNotNull();
    }

    @Test
    void shouldKeepPrimesOfDifferentJobsApart() {
        found.pipeInput("7", prime(7, "job-1", "job-1/a.txt#0", "worker-1"));
        found.pipeInput("7", prime(7, "job-2", "job-2/a.txt#0", "worker-1"));

        List<KeyValue<String, PrimeFound>> out = unique.readKeyValuesToList();

        assertThat(out).extracting(kv -> kv.key).containsExactly("7", "7");
        assertThat(out).extracting(kv -> kv.value.getJobId()).containsExactly("job-1", "job-2");
    }

    @Test
    void shouldEmitDistinctPrimesInArrivalOrder() {
        for (long n : new long[] {11, 3, 7, 3, 5, 11, 7}) {
            found.pipeInput(Long.toString(n), prime(n, "job-1", "job-1/a.txt#" + n, "worker-1"));
        }

        assertThat(unique.readKeyValuesToList()).extracting(kv -> kv.key).containsExactly("11", "3", "7", "5");
    }

    @Test
    void shouldNameEveryOperatorExplicitly() {
        String description = DedupTopology.build(serdes).describe().toString();

        assertThat(description).doesNotContain("KSTREAM-").doesNotContain("KTABLE-")
            .contains(DedupTopology.SOURCE, DedupTopology.PROCESSOR, DedupTopology.SINK, DedupTopology.STORE);
        assertThat(DedupTopology.APPLICATION_ID + "-" + DedupTopology.STORE + "-changelog")
            .isEqualTo(Topics.PRIMES_DEDUP_CHANGELOG.name());

        found.pipeInput("7", prime(7, "job-1", "job-1/a.txt#0", "worker-1"));
        assertThat(driver.producedTopicNames()).as("topics the topology wrote to")
            .containsExactlyInAnyOrder(Topics.PRIMES_UNIQUE.name(), Topics.PRIMES_DEDUP_CHANGELOG.name());
    }

    @Test
    void shouldSkipAnUnreadableRecordAndGoOnUnderExactlyOnce() {
        TestInputTopic<byte[], byte[]> raw = rawInput(driver);

        raw.pipeInput(POISON_KEY, POISON_VALUE);
        found.pipeInput("13", prime(13, "job-1", "job-1/a.txt#0", "worker-1"));

        // Under exactly-once the test driver itself loses the dead letter: it is sent while the record is
        // deserialized, in a transaction the driver wipes (MockProducer.clear()) before it commits. The next test
        // checks the routing under at-least-once.
        assertThat(unique.readKeyValuesToList()).extracting(kv -> kv.key).containsExactly("13");
    }

    @Test
    void shouldRouteAnUnreadableRecordToTheDeadLetterTopicWithItsOriginalBytes() {
        Properties props = DedupTopology.config("dummy:1234");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve("at-least-once").toString());
        // Only so the test driver keeps the dead letter (see above); handler and topic are the production ones.
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        try (TopologyTestDriver atLeastOnce = new TopologyTestDriver(DedupTopology.build(serdes), props, START)) {
            TestOutputTopic<byte[], byte[]> deadLetters = atLeastOnce.createOutputTopic(Topics.PRIMES_FOUND_DLQ.name(),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
            TestOutputTopic<String, PrimeFound> out = uniqueOutput(atLeastOnce);

            rawInput(atLeastOnce).pipeInput(POISON_KEY, POISON_VALUE);
            atLeastOnce.createInputTopic(Topics.PRIMES_FOUND.name(), serdes.keySerde(Topics.PRIMES_FOUND).serializer(),
                serdes.valueSerde(Topics.PRIMES_FOUND).serializer())
                .pipeInput("13", prime(13, "job-1", "job-1/a.txt#0", "worker-1"));

            List<TestRecord<byte[], byte[]>> dead = deadLetters.readRecordsToList();
            assertThat(dead).hasSize(1);
            assertThat(dead.get(0).key()).isEqualTo(POISON_KEY);
            assertThat(dead.get(0).value()).isEqualTo(POISON_VALUE);
            assertThat(dead.get(0).headers().lastHeader("__streams.errors.topic").value())
                .asString(StandardCharsets.UTF_8).isEqualTo(Topics.PRIMES_FOUND.name());
            assertThat(out.readKeyValuesToList()).extracting(kv -> kv.key).containsExactly("13");
        }
    }

    @Test
    void shouldStopRatherThanSkipARecordWhileTheRegistryDoesNotAnswer() {
        // Written by a worker through the registry; read by a dedup that has not seen the schema yet, while the
        // registry is down: skipping it (and committing its offset) would lose the prime from primes.txt.
        byte[] key = serdes.keySerde(Topics.PRIMES_FOUND).serializer().serialize(Topics.PRIMES_FOUND.name(), "13");
        byte[] value = serdes.valueSerde(Topics.PRIMES_FOUND).serializer()
            .serialize(Topics.PRIMES_FOUND.name(), prime(13, "job-1", "job-1/a.txt#0", "worker-1"));
        AvroSerdes dedupSerdes = new AvroSerdes(new UnreachableRegistry());
        Properties props = DedupTopology.config("dummy:1234");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve("outage").toString());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        try (TopologyTestDriver outage = new TopologyTestDriver(DedupTopology.build(dedupSerdes), props, START)) {
            TestOutputTopic<byte[], byte[]> deadLetters = outage.createOutputTopic(Topics.PRIMES_FOUND_DLQ.name(),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());

            assertThatThrownBy(() -> rawInput(outage).pipeInput(key, value))
                .hasStackTraceContaining("RegistryUnavailableException");

            assertThat(deadLetters.isEmpty()).as("not dead-lettered either: the record is fine").isTrue();
            assertThat(outage.createOutputTopic(Topics.PRIMES_UNIQUE.name(), new ByteArrayDeserializer(),
                new ByteArrayDeserializer()).isEmpty()).isTrue();
        }
    }

    /** A registry that refuses every call, as an unreachable one does. */
    private static final class UnreachableRegistry implements SchemaRegistry {

        private static <T> T refuse() {
            throw new SchemaRegistryException(SchemaRegistryException.UNREACHABLE,
                "Schema registry at http://registry.test is unreachable: connection refused");
        }

        @Override
        public int register(String subject, String schema) {
            return refuse();
        }

        @Override
        public String schemaById(int id) {
            return refuse();
        }

        @Override
        public Optional<RegisteredSchema> lookup(String subject, String schema) {
            return refuse();
        }

        @Override
        public RegisteredSchema version(String subject, int version) {
            return refuse();
        }

        @Override
        public boolean isCompatible(String subject, String schema) {
            return refuse();
        }

        @Override
        public List<String> subjects() {
            return refuse();
        }

        @Override
        public List<Integer> versions(String subject) {
            return refuse();
        }

        @Override
        public String compatibilityLevel() {
            return refuse();
        }

        @Override
        public void setCompatibilityLevel(String level) {
            refuse();
        }
    }

    private TestOutputTopic<String, PrimeFound> uniqueOutput(TopologyTestDriver testDriver) {
        return testDriver.createOutputTopic(Topics.PRIMES_UNIQUE.name(),
            serdes.keySerde(Topics.PRIMES_UNIQUE).deserializer(),
            serdes.valueSerde(Topics.PRIMES_UNIQUE).deserializer());
    }

    private static TestInputTopic<byte[], byte[]> rawInput(TopologyTestDriver testDriver) {
        return testDriver.createInputTopic(Topics.PRIMES_FOUND.name(), new ByteArraySerializer(),
            new ByteArraySerializer());
    }

    private static PrimeFound prime(long n, String jobId, String taskId, String workerId) {
        return PrimeFound.newBuilder().setNumber(Numbers.toBytes(BigInteger.valueOf(n))).setJobId(jobId)
            .setTaskId(taskId).setWorkerId(workerId).setProbable(false).build();
    }
}
