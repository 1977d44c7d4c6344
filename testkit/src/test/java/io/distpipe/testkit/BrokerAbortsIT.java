package io.distpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.BrokerAborts;
import io.distpipe.common.Poll;
import io.distpipe.common.Supervisor;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A writer that stalls inside its transaction until the broker has aborted it (the transaction timeout passed), on a
 * real broker: at each point a stall can end, the transaction is written again and committed exactly once. What the
 * producer answers differs by point (measured here): a send gets an old epoch and the abort succeeds; adding the
 * offsets is answered "fenced" and a commit "invalid state", both fatal for that producer, so only a new one can write.
 */
class BrokerAbortsIT {

    private static final int TIMEOUT_MS = 1000;
    private static final Supervisor.RestartPolicy POLICY = new Supervisor.RestartPolicy(3, Duration.ofMinutes(1),
        Duration.ofMillis(10), Duration.ofMillis(10));

    private static EmbeddedKafka kafka;
    private static Admin admin;

    /** Where the process stalls the first time the transaction runs. */
    enum Stall {
        /** Its first record written, before the second is sent. */
        BEFORE_A_SEND,
        /** Its records written, before adding the consumer offsets. */
        BEFORE_THE_OFFSETS,
        /** Records and offsets added, before the commit. */
        BEFORE_THE_COMMIT
    }

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.startTemporary();
        admin = TestClients.admin(kafka);
    }

    @AfterAll
    static void stop() {
        if (admin != null) {
            admin.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    /** A writer of one transactional id, whose producer can be made again. */
    private static final class StallingWriter implements BrokerAborts.Writer, AutoCloseable {
        final String transactionalId = TestClients.uniqueName("stalling");
        final String topic;
        final Stall stall;
        Producer<String, String> producer;
        int runs;
        int renewals;

        StallingWriter(String topic, Stall stall) {
            this.topic = topic;
            this.stall = stall;
            this.producer = newProducer();
        }

        private Producer<String, String> newProducer() {
            KafkaProducer<String, String> p = TestClients.producer(kafka, Map.of(
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId,
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, TIMEOUT_MS));
            p.initTransactions();
            return p;
        }

        @Override
        public Producer<?, ?> producer() {
            return producer;
        }

        @Override
        public Duration transactionTimeout() {
            return Duration.ofMillis(TIMEOUT_MS);
        }

        @Override
        public void renewProducer() {
            renewals++;
            producer.close(Duration.ZERO);
            producer = newProducer();
        }

        /** One transaction: two records and an offset; the first run stalls at {@link #stall}. */
        String write() {
            boolean stalls = runs++ == 0;
            producer.beginTransaction();
            send("a");
            if (stalls && stall == Stall.BEFORE_A_SEND) {
                awaitBrokerAbort();
            }
            send("b");
            if (stalls && stall == Stall.BEFORE_THE_OFFSETS) {
                awaitBrokerAbort();
            }
            producer.sendOffsetsToTransaction(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(1)),
                new ConsumerGroupMetadata("g-" + transactionalId));
            if (stalls && stall == Stall.BEFORE_THE_COMMIT) {
                awaitBrokerAbort();
            }
            producer.commitTransaction();
            return "committed";
        }

        private void send(String value) {
            try {
                producer.send(new ProducerRecord<>(topic, 0, value, value)).get();
            } catch (ExecutionException e) {
                throw e.getCause() instanceof KafkaException k ? k : new KafkaException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaException(e);
            }
        }

        /** The stall: waits (the producer idle) until the broker has aborted the open transaction. */
        private void awaitBrokerAbort() {
            Poll.until("the broker aborts " + transactionalId + " for its timeout", Duration.ofSeconds(60), () -> {
                TransactionState state = state();
                return state == TransactionState.COMPLETE_ABORT || state == TransactionState.EMPTY;
            });
        }

        private TransactionState state() {
            try {
                return admin.describeTransactions(List.of(transactionalId)).description(transactionalId).get().state();
            } catch (ExecutionException e) {
                throw new KafkaException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaException(e);
            }
        }

        @Override
        public void close() {
            producer.close(Duration.ZERO);
        }
    }

    @ParameterizedTest
    @EnumSource(Stall.class)
    void shouldWriteAStalledTransactionAgainAndCommitItExactlyOnce(Stall stall) {
        String topic = TestClients.uniqueName("stalled-" + stall.name().toLowerCase());
        TestClients.createTopic(kafka, topic, 1, Map.of());
        try (StallingWriter writer = new StallingWriter(topic, stall)) {
            BrokerAborts aborts = new BrokerAborts("w-" + stall, POLICY);

            assertThat(aborts.run(writer, writer::write)).isEqualTo("committed");

            assertThat(writer.runs).as("written again once").isEqualTo(2);
            assertThat(writer.renewals).as("on a new producer: the transaction outlived its timeout").isEqualTo(1);
        }
        assertThat(TestClients.readAll(kafka, topic, IsolationLevel.READ_COMMITTED)).containsExactly("a", "b");
    }

    /**
     * Why a writer must be able to renew its producer: on the same producer, two of the three stalls end the writer
     * (the abort after a send's old epoch succeeds, so that one would be written again there).
     */
    @ParameterizedTest
    @EnumSource(value = Stall.class, names = {"BEFORE_THE_OFFSETS", "BEFORE_THE_COMMIT"})
    void shouldNotRecoverAStalledTransactionOnTheSameProducer(Stall stall) {
        String topic = TestClients.uniqueName("unrecovered-" + stall.name().toLowerCase());
        TestClients.createTopic(kafka, topic, 1, Map.of());
        try (StallingWriter writer = new StallingWriter(topic, stall)) {
            BrokerAborts aborts = new BrokerAborts("w-" + stall, POLICY);

            assertThatThrownBy(() -> aborts.run(writer.producer, writer::write)).isInstanceOf(KafkaException.class);
        }
        assertThat(TestClients.readAll(kafka, topic, IsolationLevel.READ_COMMITTED)).isEmpty();
    }
}
