package io.distpipe.primes.work;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;

import io.distpipe.common.ReadPolicy;
import io.distpipe.common.Service;
import io.distpipe.primes.PrimeFound;
import io.distpipe.primes.Task;
import io.distpipe.primes.TaskCompleted;
import io.distpipe.primes.TaskMessage;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.RegisteredSchema;
import io.distpipe.topics.registry.SchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryException;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The worker's poll loop runs on the test thread; poll tasks feed it records and finally close it. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PrimeWorkerTest {

    private static final String TASKS = Topics.PRIMES_TASKS.name();
    private static final TopicPartition TASKS_0 = new TopicPartition(TASKS, 0);
    private static final String JOB = "job-1";
    private static final String WORKER = "worker-1";

    private final AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    private final RecordingProducer producer = new RecordingProducer();
    /** The producer the worker makes after the first, when the broker aborted a stalled transaction. */
    private final RecordingProducer renewed = new RecordingProducer();
    private final List<RecordingProducer> made = new ArrayList<>();
    private final Deserializer<String> keys = serdes.keySerde(Topics.PRIMES_FOUND).deserializer();
    private final Deserializer<PrimeFound> primes = serdes.valueSerde(Topics.PRIMES_FOUND).deserializer();
    private final Deserializer<TaskCompleted> completions = serdes.valueSerde(Topics.PRIMES_COMPLETED).deserializer();
    /** The worker's monotonic clock: it moves only when a test moves it. */
    private final AtomicLong nanos = new AtomicLong();
    private final List<Duration> pauses = new ArrayList<>();
    private final AtomicInteger registryFailures = new AtomicInteger();
    /** How long the worker retries a record it cannot read for now (real time). */
    private static final Duration READ_RETRY_BOUND = Duration.ofSeconds(2);
    private PrimeWorker.PrimeTester tester = PrimeWorker.PrimeTester.MILLER_RABIN;
    private PrimeWorker worker;

    @BeforeEach
    void startWorker() {
        PrimeWorker.PrimeTester delegate = new PrimeWorker.PrimeTester() {
            @Override
            public boolean isPrime(long n) {
                return tester.isPrime(n);
            }

            @Override
            public MillerRabin.Verdict test(BigInteger n) {
                return tester.test(n);
            }
        };
        // The worker's registry client answers unless a test makes it fail (registryFailures calls).
        AvroSerdes workerSerdes = new AvroSerdes(new FlakyRegistry(serdes.registry(), registryFailures));
        worker = new PrimeWorker(PrimeWorker.Config.defaults(WORKER, "dummy:1234"), consumer, () -> {
            if (made.size() == 2) {
                throw new IllegalStateException("the test has no third producer");
            }
            made.add(made.isEmpty() ? producer : renewed);
            return made.get(made.size() - 1);
        }, workerSerdes, new PrimeWorker.Hooks(delegate, nanos::get, pauses::add, READ_RETRY_BOUND));
        worker.start();
        consumer.rebalance(List.of(TASKS_0));
        consumer.updateBeginningOffsets(Map.of(TASKS_0, 0L));
    }

    @Test
    void shouldWritePrimesCompletionAndOffsetsInOneTransaction() {
        Task task = task("job-1/a.txt#0", LongStream.rangeClosed(1, 30).mapToObj(BigInteger::valueOf).toList());
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(7, task)));

        runUntilIdle();

        assertThat(found()).extracting(Found::key).containsExactly("2", "3", "5", "7", "11", "13", "17", "19",
            "23", "29");
        assertThat(found()).allSatisfy(kv -> {
            assertThat(Numbers.fromBytes(kv.value().getNumber())).hasToString(kv.key());
            assertThat(kv.value().getJobId()).isEqualTo(JOB);
            assertThat(kv.value().getTaskId()).isEqualTo(task.getTaskId());
            assertThat(kv.value().getWorkerId()).isEqualTo(WORKER);
            assertThat(kv.value().getProbable()).isFalse();
        });
        assertThat(completed()).singleElement().satisfies(done -> {
            assertThat(done.getTaskId()).isEqualTo(task.getTaskId());
            assertThat(done.getJobId()).isEqualTo(JOB);
            assertThat(done.getNumbersTested()).isEqualTo(30);
            assertThat(done.getPrimesFound()).isEqualTo(10);
            assertThat(done.getTaskPartition()).isZero();
            assertThat(done.getTaskOffset()).isEqualTo(7);
        });
        assertThat(producer.consumerGroupOffsetsHistory())
            .containsExactly(Map.of(consumer.groupMetadata().groupId(), Map.of(TASKS_0, new OffsetAndMetadata(8))));
        assertThat(producer.commitCount()).isEqualTo(1);
        assertThat(producer.sendTransactions).as("transaction of each send").hasSize(11).containsOnly(1);
        assertThat(producer.offsetTransactions).containsExactly(1);
        assertThat(List.of(worker.tasksCompleted(), worker.numbersTested(), worker.primesFound()))
            .containsExactly(1L, 30L, 10L);
    }

    @Test
    void shouldSendAPoisonTaskRecordToTheDeadLetterTopicWithItsOriginalBytes() {
        byte[] key = "job-1/broken#0".getBytes(StandardCharsets.UTF_8);
        byte[] value = "this is not an Avro record".getBytes(StandardCharsets.UTF_8);
        RecordHeaders headers = new RecordHeaders(new Header[] {new RecordHeader("trace", new byte[] {1, 2, 3})});
        ConsumerRecord<byte[], byte[]> poison = new ConsumerRecord<>(TASKS, 0, 0, 0L, TimestampType.CREATE_TIME,
            key.length, value.length, key, value, headers, Optional.empty());
        Task good = task("job-1/a.txt#0", List.of(BigInteger.TWO, BigInteger.valueOf(4)));
        consumer.schedulePollTask(() -> consumer.addRecord(poison));
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(1, good)));

        runUntilIdle();

        List<ProducerRecord<byte[], byte[]>> dead = sentTo(Topics.PRIMES_TASKS_DLQ.name());
        assertThat(dead).singleElement().satisfies(record -> {
            assertThat(record.key()).isEqualTo(key);
            assertThat(record.value()).isEqualTo(value);
            assertThat(record.headers().lastHeader("trace").value()).containsExactly(1, 2, 3);
            assertThat(header(record, PrimeWorker.DLQ_HEADER_SOURCE)).isEqualTo(TASKS + "-0@0");
            assertThat(header(record, PrimeWorker.DLQ_HEADER_REASON)).isNotBlank();
        });
        String group = consumer.groupMetadata().groupId();
        assertThat(producer.consumerGroupOffsetsHistory()).as("the poison record's offset is committed too")
            .containsExactly(Map.of(group, Map.of(TASKS_0, new OffsetAndMetadata(1))),
                Map.of(group, Map.of(TASKS_0, new OffsetAndMetadata(2))));
        assertThat(producer.sendTransactions).doesNotContain(RecordingProducer.OUTSIDE);
        assertThat(found()).extracting(Found::key).containsExactly("2");
        assertThat(completed()).extracting(TaskCompleted::getTaskId).containsExactly(good.getTaskId());
        assertThat(worker.poisonRecords()).isEqualTo(1);
        assertThat(worker.tasksCompleted()).isEqualTo(1);
    }

    @Test
    void shouldHandleNumbersLargerThanALong() {
        BigInteger mersenne89 = BigInteger.TWO.pow(89).subtract(BigInteger.ONE);
        BigInteger mersenne61 = BigInteger.TWO.pow(61).subtract(BigInteger.ONE);
        BigInteger composite = mersenne89.multiply(mersenne61);
        Task task = task("job-1/big.txt#0", List.of(mersenne89, composite, mersenne61));
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task)));

        runUntilIdle();

        assertThat(found()).extracting(Found::key).containsExactly(mersenne89.toString(), mersenne61.toString());
        assertThat(found()).extracting(kv -> Numbers.fromBytes(kv.value().getNumber()))
            .containsExactly(mersenne89, mersenne61);
        assertThat(found()).extracting(kv -> kv.value().getProbable()).as("beyond the deterministic bound: probable")
            .containsExactly(true, false);
        assertThat(completed()).singleElement().satisfies(done -> {
            assertThat(done.getPrimesFound()).isEqualTo(2);
            assertThat(done.getProbablePrimes()).isEqualTo(1);
        });
    }

    @Test
    void shouldAbortAndRetryTheBatchWhenTheCommitFails() {
        Task task = task("job-1/a.txt#0", LongStream.rangeClosed(1, 10).mapToObj(BigInteger::valueOf).toList());
        ConsumerRecord<byte[], byte[]> record = taskRecord(3, task);
        List<Long> positionsAfterFailure = new ArrayList<>();
        producer.commitTransactionException = new KafkaException("the broker rejected the transaction");
        consumer.schedulePollTask(() -> consumer.addRecord(record));
        consumer.schedulePollTask(() -> {
            positionsAfterFailure.add(consumer.position(TASKS_0));
            producer.commitTransactionException = null;
            // The broker still has the record; the mock only hands it out again if the worker seeks back to it.
            consumer.addRecord(record);
        });

        runUntilIdle();

        assertThat(producer.aborts).isEqualTo(1);
        assertThat(positionsAfterFailure).as("position after the abort").containsExactly(3L);
        assertThat(producer.commitCount()).isEqualTo(1);
        assertThat(found()).extracting(Found::key).containsExactly("2", "3", "5", "7");
        assertThat(completed()).hasSize(1);
        assertThat(producer.consumerGroupOffsetsHistory())
            .containsExactly(Map.of(consumer.groupMetadata().groupId(), Map.of(TASKS_0, new OffsetAndMetadata(4))));
        assertThat(List.of(worker.tasksCompleted(), worker.numbersTested(), worker.primesFound()))
            .as("counted once, not once per attempt").containsExactly(1L, 10L, 4L);
    }

    @Test
    void shouldCountAPoisonRecordOnceWhenItsBatchIsRetried() {
        ConsumerRecord<byte[], byte[]> poison = new ConsumerRecord<>(TASKS, 0, 0, null,
            "this is not an Avro record".getBytes(StandardCharsets.UTF_8));
        producer.commitTransactionException = new KafkaException("the broker rejected the transaction");
        consumer.schedulePollTask(() -> consumer.addRecord(poison));
        consumer.schedulePollTask(() -> {
            producer.commitTransactionException = null;
            consumer.addRecord(poison);
        });

        runUntilIdle();

        assertThat(sentTo(Topics.PRIMES_TASKS_DLQ.name())).hasSize(1);
        assertThat(worker.poisonRecords()).isEqualTo(1);
    }

    @Test
    void shouldStopWithoutCommittingWhenFenced() {
        producer.commitTransactionException = new ProducerFencedException("a newer worker-1 took over");
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task("job-1/a.txt#0",
            List.of(BigInteger.valueOf(5))))));

        assertThatCode(worker::run).doesNotThrowAnyException();

        assertThat(producer.commitCount()).isZero();
        assertThat(producer.history()).as("committed records").isEmpty();
        assertThat(producer.consumerGroupOffsetsHistory()).isEmpty();
        assertThat(producer.aborts).as("a fenced producer cannot abort").isZero();
        assertThat(producer.closed()).isTrue();
        assertThat(consumer.closed()).isTrue();
        assertThat(worker.tasksCompleted()).isZero();
    }

    @Test
    void shouldNotReportRunningAfterBeingFenced() {
        producer.commitTransactionException = new ProducerFencedException("a newer worker-1 took over");
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task("job-1/a.txt#0",
            List.of(BigInteger.valueOf(5))))));

        worker.run();
        assertThat(worker.state()).as("after run() returned").isNotEqualTo(Service.State.RUNNING);
        worker.close();

        assertThat(worker.state()).isEqualTo(Service.State.CLOSED);
    }

    @Test
    void shouldRetryTheCommitWhenItTimesOut() {
        producer.commitTimeouts = 1;
        Task task = task("job-1/a.txt#0", List.of(BigInteger.valueOf(7)));
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task)));

        runUntilIdle();

        assertThat(producer.commitCount()).isEqualTo(1);
        assertThat(found()).extracting(Found::key).containsExactly("7");
        assertThat(worker.tasksCompleted()).isEqualTo(1);
    }

    @Test
    void shouldSendATaskWithAnUnreadableNumberToTheDeadLetterTopic() {
        Task broken = Task.newBuilder(task("job-1/a.txt#0", List.of(BigInteger.TWO)))
            .setNumbers(List.of(ByteBuffer.wrap(new byte[0]))).build();
        Task good = task("job-1/a.txt#1", List.of(BigInteger.valueOf(3)));
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, broken)));
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(1, good)));

        runUntilIdle();

        assertThat(sentTo(Topics.PRIMES_TASKS_DLQ.name())).hasSize(1);
        assertThat(found()).extracting(Found::key).containsExactly("3");
    }

    @Test
    void shouldTestEveryNumberBeforeOpeningTheTransactionThatWritesTheResults() {
        // However slow the numbers, the broker cannot abort a transaction for its timeout while they are tested.
        List<Boolean> inTransaction = new ArrayList<>();
        tester = new PrimeWorker.PrimeTester() {
            @Override
            public boolean isPrime(long n) {
                inTransaction.add(producer.transactionInFlight());
                return MillerRabin.isPrime(n);
            }

            @Override
            public MillerRabin.Verdict test(BigInteger n) {
                inTransaction.add(producer.transactionInFlight());
                nanos.addAndGet(TimeUnit.SECONDS.toNanos(10));
                return MillerRabin.test(n);
            }
        };
        Task slow = task("job-1/a.txt#0", LongStream.rangeClosed(1, 12).mapToObj(BigInteger::valueOf).toList());
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, slow)));

        runUntilIdle();

        assertThat(inTransaction).as("a transaction open while a number was tested").hasSize(12).containsOnly(false);
        assertThat(producer.commitCount()).isEqualTo(1);
        assertThat(producer.aborts).isZero();
        assertThat(found()).extracting(Found::key).containsExactly("2", "3", "5", "7", "11");
        assertThat(completed()).singleElement().satisfies(done -> assertThat(done.getNumbersTested()).isEqualTo(12));
    }

    @Test
    void shouldAbortAndWriteAgainWhenTheBrokerAbortedTheTransactionAtCommit() {
        // What a commit meets after the broker aborted the transaction for its timeout and bumped the epoch.
        producer.commitFailures.add(new InvalidProducerEpochException("attempted to produce with an old epoch"));
        Task task = task("job-1/a.txt#0", LongStream.rangeClosed(1, 10).mapToObj(BigInteger::valueOf).toList());
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(3, task)));

        runUntilIdle();

        assertThat(producer.aborts).isEqualTo(1);
        assertThat(producer.commitCount()).isEqualTo(1);
        assertThat(pauses).as("one backoff before writing again").hasSize(1);
        assertThat(found()).extracting(Found::key).containsExactly("2", "3", "5", "7");
        assertThat(completed()).hasSize(1);
        assertThat(producer.consumerGroupOffsetsHistory())
            .containsExactly(Map.of(consumer.groupMetadata().groupId(), Map.of(TASKS_0, new OffsetAndMetadata(4))));
        assertThat(List.of(worker.tasksCompleted(), worker.numbersTested(), worker.primesFound()))
            .as("counted once, not once per attempt").containsExactly(1L, 10L, 4L);
    }

    @Test
    void shouldAbortAndWriteAgainWhenTheBrokerAbortedTheTransactionBeforeItsOffsets() {
        // A send already met the old epoch: the producer is in an abortable error state and says so at the offsets.
        producer.sendOffsetsToTransactionException = new KafkaException("Cannot execute transactional method because "
            + "we are in an error state", new InvalidProducerEpochException("Producer attempted to produce with an "
            + "old epoch"));
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task("job-1/a.txt#0",
            List.of(BigInteger.valueOf(7))))));
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(1, task("job-1/a.txt#1",
            List.of(BigInteger.valueOf(11))))));

        runUntilIdle();

        assertThat(producer.aborts).isEqualTo(1);
        assertThat(found()).extracting(Found::key).containsExactly("7", "11");
        assertThat(completed()).extracting(TaskCompleted::getTaskId)
            .containsExactly("job-1/a.txt#0", "job-1/a.txt#1");
        assertThat(worker.tasksCompleted()).isEqualTo(2);
    }

    @Test
    void shouldAbortRatherThanCommitATransactionOpenAlmostAsLongAsItsTimeout() {
        // A stall (GC, SIGSTOP) between opening and committing: the broker may have aborted it, and adding offsets or
        // committing then would leave the producer unusable, where an abort succeeds.
        producer.onFirstSend = () -> nanos.addAndGet(
            TimeUnit.MILLISECONDS.toNanos(PrimeWorker.TRANSACTION_TIMEOUT_MS_DEFAULT * 7 / 8));
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task("job-1/a.txt#0",
            List.of(BigInteger.valueOf(13))))));

        runUntilIdle();

        assertThat(producer.aborts).isEqualTo(1);
        assertThat(producer.commitCount()).isEqualTo(1);
        assertThat(found()).extracting(Found::key).containsExactly("13");
        assertThat(completed()).hasSize(1);
    }

    @Test
    void shouldWriteAgainOnANewProducerWhenAStallPastTheTimeoutEndsAtTheOffsets() {
        // Measured on a real broker (BrokerAbortsIT): after the broker aborted the transaction for its timeout, adding
        // the offsets is answered ProducerFencedException and the producer then refuses everything, an abort too. The
        // stall comes after the worker's own check of the transaction's age, so only its clock can tell.
        producer.onSendOffsets = () -> {
            nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(PrimeWorker.TRANSACTION_TIMEOUT_MS_DEFAULT + 500));
            producer.refuseEverything = true;
            throw new ProducerFencedException("There is a newer producer with the same transactionalId");
        };
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task("job-1/a.txt#0",
            List.of(BigInteger.valueOf(7), BigInteger.valueOf(8))))));

        runUntilIdle();

        assertThat(made).as("the refused producer, then a new one").containsExactly(producer, renewed);
        assertThat(producer.closed()).isTrue();
        assertThat(producer.history()).isEmpty();
        assertThat(renewed.transactionInitialized()).isTrue();
        assertThat(found()).extracting(Found::key).containsExactly("7");
        assertThat(completed()).extracting(TaskCompleted::getTaskId).containsExactly("job-1/a.txt#0");
        assertThat(renewed.consumerGroupOffsetsHistory())
            .containsExactly(Map.of(consumer.groupMetadata().groupId(), Map.of(TASKS_0, new OffsetAndMetadata(1))));
        assertThat(List.of(worker.tasksCompleted(), worker.numbersTested(), worker.primesFound()))
            .containsExactly(1L, 2L, 1L);
    }

    @Test
    void shouldWriteAgainOnANewProducerWhenAStallPastTheTimeoutEndsAtTheCommit() {
        // The commit's answer after the broker's abort: InvalidTxnStateException, fatal on that producer.
        producer.onCommit = () -> {
            nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(PrimeWorker.TRANSACTION_TIMEOUT_MS_DEFAULT + 500));
            producer.refuseEverything = true;
            throw new InvalidTxnStateException("The producer attempted a transactional operation in an invalid state");
        };
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task("job-1/a.txt#0",
            List.of(BigInteger.valueOf(11))))));
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(1, task("job-1/a.txt#1",
            List.of(BigInteger.valueOf(13))))));

        runUntilIdle();

        assertThat(made).containsExactly(producer, renewed);
        assertThat(found()).extracting(Found::key).containsExactly("11", "13");
        assertThat(completed()).extracting(TaskCompleted::getTaskId)
            .containsExactly("job-1/a.txt#0", "job-1/a.txt#1");
        assertThat(worker.tasksCompleted()).isEqualTo(2);
    }

    @Test
    void shouldStopAsFencedWhenTheOffsetsAreRefusedWithinTheTimeout() {
        // Within the timeout the broker cannot have aborted the transaction: a newer instance took the id.
        producer.onSendOffsets = () -> {
            throw new ProducerFencedException("There is a newer producer with the same transactionalId");
        };
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task("job-1/a.txt#0",
            List.of(BigInteger.valueOf(7))))));

        assertThatCode(worker::run).doesNotThrowAnyException();

        assertThat(made).containsExactly(producer);
        assertThat(worker.state()).isNotEqualTo(Service.State.RUNNING);
        assertThat(found()).isEmpty();
    }

    @Test
    void shouldStopWhenTheAbortShowsThatANewerInstanceFencedIt() {
        // A fenced producer's sends also meet "old epoch"; unlike after the broker's timeout abort, its abort fails.
        producer.commitFailures.add(new InvalidProducerEpochException("attempted to produce with an old epoch"));
        producer.abortTransactionException = new ProducerFencedException("a newer worker-1 took over");
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task("job-1/a.txt#0",
            List.of(BigInteger.valueOf(5))))));

        assertThatCode(worker::run).doesNotThrowAnyException();

        assertThat(worker.state()).isNotEqualTo(Service.State.RUNNING);
        assertThat(producer.commitCount()).isZero();
        assertThat(producer.history()).as("committed records").isEmpty();
        assertThat(producer.closed()).isTrue();
    }

    @Test
    void shouldStopLoudlyWhenTheBrokerKeepsAbortingTheTransaction() {
        for (int i = 0; i < 10; i++) {
            producer.commitFailures.add(new InvalidProducerEpochException("old epoch"));
        }
        consumer.schedulePollTask(() -> consumer.addRecord(taskRecord(0, task("job-1/a.txt#0",
            List.of(BigInteger.valueOf(5))))));

        assertThatThrownBy(worker::run).hasMessageContaining("the broker aborted 5 transactions in a row");

        assertThat(worker.state()).isNotEqualTo(Service.State.RUNNING);
        assertThat(pauses).as("backoffs, growing").hasSize(4).isSorted();
        assertThat(producer.commitCount()).isZero();
    }

    /** Runs the poll loop until every scheduled poll task has run, then closes the worker from its own poll. */
    /** A registry client that does not answer for as many calls as {@code failuresLeft} says. */
    private static final class FlakyRegistry implements SchemaRegistry {
        private final SchemaRegistry delegate;
        private final AtomicInteger failuresLeft;

        FlakyRegistry(SchemaRegistry delegate, AtomicInteger failuresLeft) {
            this.delegate = delegate;
            this.failuresLeft = failuresLeft;
        }

        private void maybeDown() {
            if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new SchemaRegistryException(SchemaRegistryException.UNREACHABLE,
                    "Schema registry at http://registry:8081 is unreachable (connection refused)");
            }
        }

        @Override
        public int register(String subject, String schema) {
            maybeDown();
            return delegate.register(subject, schema);
        }

        @Override
        public String schemaById(int id) {
            maybeDown();
            return delegate.schemaById(id);
        }

        @Override
        public Optional<RegisteredSchema> lookup(String subject, String schema) {
            maybeDown();
            return delegate.lookup(subject, schema);
        }

        @Override
        public RegisteredSchema version(String subject, int version) {
            maybeDown();
            return delegate.version(subject, version);
        }

        @Override
        public boolean isCompatible(String subject, String schema) {
            return delegate.isCompatible(subject, schema);
        }

        @Override
        public List<String> subjects() {
            return delegate.subjects();
        }

        @Override
        public List<Integer> versions(String subject) {
            return delegate.versions(subject);
        }

        @Override
        public String compatibilityLevel() {
            return delegate.compatibilityLevel();
        }

        @Override
        public void setCompatibilityLevel(String level) {
            delegate.setCompatibilityLevel(level);
        }

        @Override
        public void close() {
        }
    }

    @Test
    void shouldRetryATaskWhileTheRegistryDoesNotAnswerInsteadOfDeadLetteringIt() {
        Task task = task("job-1/a.txt#0", LongStream.rangeClosed(1, 10).mapToObj(BigInteger::valueOf).toList());
        ConsumerRecord<byte[], byte[]> record = taskRecord(0, task);
        registryFailures.set(3);
        consumer.schedulePollTask(() -> consumer.addRecord(record));

        runUntilIdle();

        assertThat(sentTo(Topics.PRIMES_TASKS_DLQ.name())).as("dead-lettered during a registry outage").isEmpty();
        assertThat(completed()).singleElement().satisfies(done -> assertThat(done.getNumbersTested()).isEqualTo(10));
        assertThat(worker.poisonRecords()).isZero();
    }

    @Test
    void shouldStopLoudlyWithoutSkippingOrDeadLetteringWhenTheRegistryStaysDown() {
        Task task = task("job-1/a.txt#0", LongStream.rangeClosed(1, 10).mapToObj(BigInteger::valueOf).toList());
        ConsumerRecord<byte[], byte[]> record = taskRecord(0, task);
        registryFailures.set(Integer.MAX_VALUE);
        consumer.schedulePollTask(() -> consumer.addRecord(record));

        assertThatThrownBy(this::runUntilIdle).isInstanceOf(ReadPolicy.GaveUpException.class)
            .hasMessageContaining("unreachable");

        assertThat(worker.state()).as("stopped (its run() threw)").isIn(Service.State.FAILED, Service.State.CLOSED);
        assertThat(producer.history()).as("nothing written: no dead letter, no completion").isEmpty();
        assertThat(producer.consumerGroupOffsetsHistory()).as("the task's offset is not committed").isEmpty();
    }

    private void runUntilIdle() {
        consumer.schedulePollTask(worker::close);
        worker.run();
    }

    private Task task(String taskId, List<BigInteger> numbers) {
        return Task.newBuilder().setTaskId(taskId).setJobId(JOB).setFile("a.txt").setChunk(0).setFirstLine(1)
            .setLastLine(numbers.size()).setNumbers(numbers.stream().map(Numbers::toBytes).toList())
            .setCreatedAt(Instant.now()).build();
    }

    private ConsumerRecord<byte[], byte[]> taskRecord(long offset, Task task) {
        byte[] key = serdes.keySerde(Topics.PRIMES_TASKS).serializer().serialize(TASKS, task.getTaskId());
        byte[] value = serdes.valueSerde(Topics.PRIMES_TASKS).serializer().serialize(TASKS,
            TaskMessage.newBuilder().setPayload(task).build());
        return new ConsumerRecord<>(TASKS, 0, offset, key, value);
    }

    private List<ProducerRecord<byte[], byte[]>> sentTo(String topic) {
        return made.stream().flatMap(p -> p.history().stream()).filter(r -> r.topic().equals(topic)).toList();
    }

    private List<Found> found() {
        String topic = Topics.PRIMES_FOUND.name();
        return sentTo(topic).stream()
            .map(r -> new Found(keys.deserialize(topic, r.key()), primes.deserialize(topic, r.value()))).toList();
    }

    private List<TaskCompleted> completed() {
        String topic = Topics.PRIMES_COMPLETED.name();
        return sentTo(topic).stream().map(r -> completions.deserialize(topic, r.value())).toList();
    }

    private static String header(ProducerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private record Found(String key, PrimeFound value) {
    }

    /**
     * A transactional MockProducer that notes which transaction each send and offset commit belonged to, counts
     * aborts, and can time out a commit the way KafkaProducer does (after which only a retried commit is allowed).
     */
    private static final class RecordingProducer extends MockProducer<byte[], byte[]> {
        static final int OUTSIDE = 0;

        final List<Integer> sendTransactions = new ArrayList<>();
        /** Failures the next commits throw, the first first. */
        final Deque<RuntimeException> commitFailures = new ArrayDeque<>();
        Runnable onFirstSend = () -> { };
        /** Runs before the offsets are added (and may throw in their place), once. */
        Runnable onSendOffsets;
        /** Runs before a commit (and may throw in its place), once. */
        Runnable onCommit;
        /** What a producer does after the broker's abort met an offsets call or a commit: refuses every call. */
        boolean refuseEverything;
        private boolean sentOnce;
        final List<Integer> offsetTransactions = new ArrayList<>();
        int aborts;
        int commitTimeouts;
        private int transactions;
        private boolean commitMustBeRetried;

        RecordingProducer() {
            super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        }

        @Override
        public void beginTransaction() {
            super.beginTransaction();
            transactions++;
        }

        @Override
        public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
            sendTransactions.add(transactionInFlight() ? transactions : OUTSIDE);
            if (!sentOnce) {
                sentOnce = true;
                onFirstSend.run();
            }
            return super.send(record, callback);
        }

        @Override
        public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets,
                                             ConsumerGroupMetadata groupMetadata) {
            Runnable hook = onSendOffsets;
            onSendOffsets = null;
            if (hook != null) {
                hook.run();
            }
            RuntimeException failure = sendOffsetsToTransactionException;
            sendOffsetsToTransactionException = null;
            if (failure != null) {
                throw failure;
            }
            super.sendOffsetsToTransaction(offsets, groupMetadata);
            offsetTransactions.add(transactions);
        }

        @Override
        public void commitTransaction() {
            Runnable hook = onCommit;
            onCommit = null;
            if (hook != null) {
                hook.run();
            }
            if (commitTimeouts > 0) {
                commitTimeouts--;
                commitMustBeRetried = true;
                throw new TimeoutException("Timeout expired after 60000ms while awaiting EndTxn(COMMIT)");
            }
            if (!commitFailures.isEmpty()) {
                throw commitFailures.poll();
            }
            super.commitTransaction();
            commitMustBeRetried = false;
        }

        @Override
        public void abortTransaction() {
            if (refuseEverything) {
                throw new KafkaException("Cannot execute transactional method because we are in an error state",
                    new ProducerFencedException("There is a newer producer with the same transactionalId"));
            }
            if (commitMustBeRetried) {
                throw new IllegalStateException("Cannot attempt operation `abortTransaction` because the previous "
                    + "call to `commitTransaction` timed out and must be retried");
            }
            super.abortTransaction();
            aborts++;
        }
    }
}
