package io.distpipe.chat.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.distpipe.chat.ChatEvent;
import io.distpipe.chat.AccountCreated;
import io.distpipe.common.Poll;
import io.distpipe.common.ReadPolicy;
import io.distpipe.common.Service;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The write path's refusals with mock clients: a write that is not acknowledged is never committed. */
class ChatServerTest {

    private static final String TOPIC = Topics.CHAT_EVENTS.name();

    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    private volatile MockProducer<String, ChatEvent> producer;
    private final List<MockProducer<String, ChatEvent>> created = new CopyOnWriteArrayList<>();
    private final MockProducer<byte[], byte[]> dlq = new MockProducer<>(true, null, new ByteArraySerializer(),
            new ByteArraySerializer());
    private ChatServer server;
    private final ExecutorService background = Executors.newSingleThreadExecutor();

    private ChatServer start() throws ChatException {
        return start(s -> new MockProducer<>(false, null, s.keySerializer(), s.valueSerializer()));
    }

    private ChatServer start(Function<ChatServer, MockProducer<String, ChatEvent>> producers) throws ChatException {
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
            MockProducer<String, ChatEvent> made = producers.apply(s);
            created.add(made);
            producer = made;
            return made;
        }, s -> dlq, new ReadPolicy("chat-unit", Duration.ZERO));
        return server;
    }

    @AfterEach
    void stop() {
        background.shutdownNow();
        if (server != null) {
            server.close();
        }
    }

    private ConsumerRecord<byte[], byte[]> account(long offset, String user) {
        ChatEvent event = ChatEvent.newBuilder().setEventId("e-" + user).setServer("other").setAt(Instant.EPOCH)
                .setPayload(AccountCreated.newBuilder().setUser(user).setAlgorithm("PBKDF2WithHmacSHA256")
                        .setIterations(1000).setSalt(ByteBuffer.wrap(new byte[16]))
                        .setHash(ByteBuffer.wrap(new byte[32])).build()).build();
        return new ConsumerRecord<>(TOPIC, 0, offset, null, server.valueSerializer().serialize(TOPIC, event));
    }

    @Test
    void shouldStopAtAnUnreadableEventDeadLetterItAndRefuseToServeInsteadOfSkippingIt() throws Exception {
        start();
        byte[] garbage = "not a chat event".getBytes(StandardCharsets.UTF_8);
        consumer.addRecord(account(0, "alice"));
        consumer.addRecord(new ConsumerRecord<>(TOPIC, 0, 1, null, garbage));
        consumer.addRecord(account(2, "bob"));

        Poll.until("the server to stop, or to apply the event after the unreadable one", Duration.ofSeconds(10),
                () -> server.state() == Service.State.FAILED || server.users().contains("bob"));

        assertThat(server.users()).as("nothing past the unreadable event").containsExactly("alice");
        assertThat(server.state()).isEqualTo(Service.State.FAILED);
        assertThat(dlq.history()).singleElement().satisfies(r -> {
            assertThat(r.topic()).isEqualTo(Topics.CHAT_EVENTS_DLQ.name());
            assertThat(r.value()).isEqualTo(garbage);
            assertThat(new String(r.headers().lastHeader(ReadPolicy.HEADER_SOURCE).value(), StandardCharsets.UTF_8))
                    .isEqualTo(TOPIC + "-0@1");
        });
        assertThat(server.poisonRecords()).isEqualTo(1);
        assertThatThrownBy(() -> server.login("alice", "secret-pw".toCharArray()))
                .isInstanceOfSatisfying(ChatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ChatException.Reason.STOPPED);
                    assertThat(e.getMessage()).startsWith("chat-unit: stopped: the event chat.events-0@1 cannot be "
                            + "read (").endsWith("; it was sent to chat.events.dlq, and this server serves nothing "
                            + "rather than answer from a state that lacks it.");
                });
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
        // Each refusal drops its producer and starts initializing the next one in the background.
        Poll.until("the producer after the second refusal", Duration.ofSeconds(10), () -> created.size() == 3);
        assertThat(created).allSatisfy(p -> {
            assertThat(p.transactionCommitted()).isFalse();
            assertThat(p.history()).as("committed records").isEmpty();
        });
        assertThat(created.subList(0, 2)).allSatisfy(p -> assertThat(p.closed())
                .as("the producer of a refused transaction is dropped").isTrue());
        assertThat(server.users()).isEmpty();
    }

    /**
     * After a refusal the coordinator must abort the refused write's open transaction before it answers the next
     * producer's InitProducerId, which can take longer than one write timeout once the cluster is back (ChatDemoIT's
     * write after "start all" failed so). The next producer is initialized in the background from the refusal on, so
     * the first write after the outage does not pay for it.
     */
    @Test
    void shouldWriteAfterARefusalEvenWhenTheNextProducersInitTimesOutFirst() throws Exception {
        AtomicInteger producersMade = new AtomicInteger();
        start(s -> {
            boolean slowInit = producersMade.incrementAndGet() == 2;
            AtomicInteger inits = new AtomicInteger();
            return new MockProducer<>(false, null, s.keySerializer(), s.valueSerializer()) {
                @Override
                public void initTransactions() {
                    if (slowInit && inits.incrementAndGet() == 1) {
                        throw new TimeoutException("Timeout expired after 2000ms while awaiting InitProducerId");
                    }
                    super.initTransactions();
                }
            };
        });
        Future<?> sends = background.submit(() -> {
            Poll.until("the first event to be sent", Duration.ofSeconds(10), () -> producer != null
                    && !producer.uncommittedRecords().isEmpty());
            producer.errorNext(new TimeoutException("Expiring 1 record(s) for chat.events-0"));
            MockProducer<String, ChatEvent> first = producer;
            Poll.until("the second event to be sent", Duration.ofSeconds(10), () -> producer != first
                    && !producer.uncommittedRecords().isEmpty());
            ProducerRecord<String, ChatEvent> sent = producer.uncommittedRecords().get(0);
            consumer.schedulePollTask(() -> consumer.addRecord(new ConsumerRecord<>(TOPIC, 0, 0L,
                    server.keySerializer().serialize(TOPIC, sent.key()),
                    server.valueSerializer().serialize(TOPIC, sent.value()))));
            producer.completeNext();
        });

        assertThatThrownBy(() -> server.createAccount("alice", "secret-pw".toCharArray()))
                .hasFieldOrPropertyWithValue("reason", ChatException.Reason.NO_QUORUM);
        server.createAccount("alice", "secret-pw".toCharArray());

        sends.get();
        assertThat(server.users()).containsExactly("alice");
        assertThat(created.get(1).transactionCommitted()).isTrue();
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
