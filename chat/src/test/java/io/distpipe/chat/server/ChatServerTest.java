package io.distpipe.chat.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.distpipe.chat.ChatEvent;
import io.distpipe.common.Poll;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The write path's refusals with mock clients: a write that is not acknowledged is never committed. */
class ChatServerTest {

    private static final String TOPIC = Topics.CHAT_EVENTS.name();

    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    private volatile MockProducer<String, ChatEvent> producer;
    private final List<MockProducer<String, ChatEvent>> created = new CopyOnWriteArrayList<>();
    private ChatServer server;
    private final ExecutorService background = Executors.newSingleThreadExecutor();

    private ChatServer start() throws ChatException {
        List<TopicPartition> partitions = IntStream.range(0, Topics.CHAT_EVENTS.partitions())
                .mapToObj(p -> new TopicPartition(TOPIC, p)).toList();
        consumer.updatePartitions(TOPIC, partitions.stream()
                .map(tp -> new PartitionInfo(TOPIC, tp.partition(), null, null, null)).toList());
        Map<TopicPartition, Long> zero = partitions.stream()
                .collect(Collectors.toMap(tp -> tp, tp -> 0L));
        consumer.updateBeginningOffsets(zero);
        consumer.updateEndOffsets(zero);
        ChatServer.Config config = new ChatServer.Config("unused:9092", "mem://chat-server-test", "unit",
                Duration.ofSeconds(2), 1000, Duration.ofSeconds(10));
        server = ChatServer.start(config, AvroSerdes.connect(config.registryUrl()), consumer, s -> {
            producer = new MockProducer<>(false, null, s.keySerializer(), s.valueSerializer());
            created.add(producer);
            return producer;
        });
        return server;
    }

    @AfterEach
    void stop() {
        background.shutdownNow();
        if (server != null) {
            server.close();
        }
    }

    @Test
    void shouldRefuseWithNoQuorumAndNeverCommitWhenTheSendIsNotAcknowledged() throws Exception {
        start();
        Future<String> expire = background.submit(() -> {
            Poll.until("the account event to be sent", Duration.ofSeconds(10), () -> producer != null
                    && !producer.uncommittedRecords().isEmpty());
            String eventId = producer.uncommittedRecords().get(0).value().getEventId();
            producer.errorNext(new TimeoutException("Expiring 1 record(s) for chat.events-0"));
            return eventId;
        });

        assertThatThrownBy(() -> server.createAccount("alice", "secret-pw".toCharArray()))
                .isInstanceOfSatisfying(ChatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ChatException.Reason.NO_QUORUM);
                    assertThat(e.getMessage()).startsWith("no quorum: create account alice")
                            .contains("send failed", "nothing was committed");
                    assertThat(e.attemptedEventId()).isPresent();
                });
        String sent = expire.get();
        assertThatThrownBy(() -> server.createAccount("alice", "secret-pw".toCharArray()))
                .isInstanceOfSatisfying(ChatException.class, e -> assertThat(e.attemptedEventId())
                        .as("a new attempt is a new event").isPresent().get().isNotEqualTo(sent));
        assertThat(created).hasSize(2).allSatisfy(p -> {
            assertThat(p.transactionCommitted()).isFalse();
            assertThat(p.history()).as("committed records").isEmpty();
            assertThat(p.closed()).as("the producer of a refused transaction is dropped").isTrue();
        });
        assertThat(server.users()).isEmpty();
    }

    @Test
    void shouldSayTheOutcomeIsInDoubtWhenOnlyTheCommitTimesOut() throws Exception {
        start();
        Future<?> ack = background.submit(() -> {
            Poll.until("the account event to be sent", Duration.ofSeconds(10), () -> producer != null
                    && !producer.uncommittedRecords().isEmpty());
            producer.commitTransactionException = new TimeoutException("Timeout expired while committing");
            producer.completeNext();
        });

        assertThatThrownBy(() -> server.createAccount("bob", "secret-pw".toCharArray()))
                .isInstanceOfSatisfying(ChatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ChatException.Reason.NO_QUORUM);
                    assertThat(e.getMessage()).contains("commit failed").contains("outcome is in doubt");
                });
        ack.get();
    }

    @Test
    void shouldRefuseBadInputAndUnknownUsersWithoutWriting() throws Exception {
        start();

        assertThatThrownBy(() -> server.createAccount("Bad Name", "secret-pw".toCharArray()))
                .hasFieldOrPropertyWithValue("reason", ChatException.Reason.INVALID_INPUT);
        assertThatThrownBy(() -> server.createAccount("carol", "short".toCharArray()))
                .hasFieldOrPropertyWithValue("reason", ChatException.Reason.INVALID_INPUT);
        assertThatThrownBy(() -> server.login("nobody", "secret-pw".toCharArray()))
                .hasFieldOrPropertyWithValue("reason", ChatException.Reason.UNKNOWN_USER);
        assertThatThrownBy(() -> server.read("no-such-session"))
                .hasFieldOrPropertyWithValue("reason", ChatException.Reason.NOT_LOGGED_IN);
        assertThat(producer).as("no producer was even needed").isNull();
    }
}
