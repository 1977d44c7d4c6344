package io.distpipe.chat.server;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.regex.Pattern;

import io.distpipe.chat.AccountCreated;
import io.distpipe.chat.ChatEvent;
import io.distpipe.chat.LoggedIn;
import io.distpipe.chat.MessageSent;
import io.distpipe.common.AbstractService;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.Retry;
import io.distpipe.common.ReadPolicy;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A chat server: it materializes accounts, sessions and inboxes by reading {@code chat.events} from the beginning
 * (read_committed), and serves create-account, login, send, read and list-users. Every write is one Kafka
 * transaction of an idempotent acks=all producer; it counts as acknowledged only once the send and the commit both
 * succeeded within the write timeout. A write that failed is never committed, so its event stays invisible to every
 * read_committed reader even if its bytes reach the replicas later: the transaction is aborted when this server's
 * next producer fences it, or by the coordinator after the transaction timeout.
 */
public final class ChatServer extends AbstractService {

    /**
     * Settings of one chat server.
     *
     * @param serverId       stable per logical server; its transactional id is {@code distpipe-chat-<serverId>}
     * @param writeTimeout   bound on one write (delivery, commit, producer start); after it the write is refused
     * @param hashIterations PBKDF2 iterations for new accounts
     * @param catchUpTimeout bound on reading the topic up to its end when the server starts
     */
    public record Config(String bootstrapServers, String registryUrl, String serverId, Duration writeTimeout,
                         int hashIterations, Duration catchUpTimeout) {

        public static final Duration WRITE_TIMEOUT_DEFAULT = Duration.ofSeconds(10);
        public static final Duration CATCH_UP_TIMEOUT_DEFAULT = Duration.ofSeconds(30);

        public Config {
            Objects.requireNonNull(bootstrapServers, "bootstrapServers");
            Objects.requireNonNull(registryUrl, "registryUrl");
            Objects.requireNonNull(serverId, "serverId");
            if (writeTimeout.toMillis() < 2000) {
                throw new IllegalArgumentException("write timeout must be at least 2 s, got " + writeTimeout);
            }
            if (hashIterations < 1000) {
                throw new IllegalArgumentException("hash iterations must be at least 1000, got " + hashIterations);
            }
        }

        public static Config of(String bootstrapServers, String registryUrl, String serverId) {
            return new Config(bootstrapServers, registryUrl, serverId, WRITE_TIMEOUT_DEFAULT,
                    Passwords.DEFAULT_ITERATIONS, CATCH_UP_TIMEOUT_DEFAULT);
        }

        public Config withWriteTimeout(Duration timeout) {
            return new Config(bootstrapServers, registryUrl, serverId, timeout, hashIterations, catchUpTimeout);
        }

        public Config withCatchUpTimeout(Duration timeout) {
            return new Config(bootstrapServers, registryUrl, serverId, writeTimeout, hashIterations, timeout);
        }

        public Config withHashIterations(int iterations) {
            return new Config(bootstrapServers, registryUrl, serverId, writeTimeout, iterations, catchUpTimeout);
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(ChatServer.class);
    private static final Pattern USER_NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,31}");
    private static final int MIN_PASSWORD_LENGTH = 6;
    private static final int MAX_TEXT_LENGTH = 4000;
    private static final Duration VISIBLE_TIMEOUT = Duration.ofSeconds(15);
    /** How long a producer made after a refusal keeps trying to initialize its transactional id. */
    private static final Duration INIT_RETRY_BOUND = Duration.ofMinutes(10);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(200);
    private static final String TOPIC = Topics.CHAT_EVENTS.name();

    private final Config config;
    private final String id;
    private final Serializer<String> keySerializer;
    private final Serializer<ChatEvent> valueSerializer;
    private final Deserializer<ChatEvent> valueDeserializer;
    private final Consumer<byte[], byte[]> consumer;
    private final Function<ChatServer, Producer<String, ChatEvent>> producers;
    private final Function<ChatServer, Producer<byte[], byte[]>> deadLetterProducers;
    private final ReadPolicy readPolicy;
    private final Object writeLock = new Object();
    /** Guarded by {@code this}: the state and how far into each partition it reflects. */
    private final ChatState state = new ChatState();
    private final Map<Integer, Long> positions = new HashMap<>();
    private final Thread reader;
    /** Guarded by {@code writeLock}: the producer writes use, once its transactional id is initialized. */
    private Producer<String, ChatEvent> producer;
    /**
     * Guarded by {@code writeLock}: the next producer, being initialized in the background after a refused write
     * dropped the last one; null when none is.
     */
    private CompletableFuture<Producer<String, ChatEvent>> nextProducer;
    private final ExecutorService initializer;
    private long poisonRecords;
    /** Why this server stopped serving (one sentence); null while it serves. */
    private volatile String stoppedBecause;

    private ChatServer(Config config, AvroSerdes serdes, Consumer<byte[], byte[]> consumer,
                       Function<ChatServer, Producer<String, ChatEvent>> producers,
                       Function<ChatServer, Producer<byte[], byte[]>> deadLetterProducers, ReadPolicy readPolicy) {
        super("chat-" + config.serverId(), "chat-" + config.serverId());
        this.config = config;
        this.id = "chat-" + config.serverId();
        this.keySerializer = serdes.keySerde(Topics.CHAT_EVENTS).serializer();
        this.valueSerializer = serdes.valueSerde(Topics.CHAT_EVENTS).serializer();
        this.valueDeserializer = serdes.valueSerde(Topics.CHAT_EVENTS).deserializer();
        this.consumer = consumer;
        this.producers = producers;
        this.deadLetterProducers = deadLetterProducers;
        this.readPolicy = readPolicy;
        this.reader = new Thread(this::readLoop, id + "-reader");
        this.reader.setDaemon(true);
        this.initializer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, id + "-producer-init");
            t.setDaemon(true);
            return t;
        });
    }

    private static Consumer<byte[], byte[]> kafkaConsumer(Config config) {
        Map<String, Object> props = KafkaClients.consumer(config.bootstrapServers(), null,
                "chat-" + config.serverId() + "-reader", 0);
        props.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, 3000);
        props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
        return new KafkaConsumer<>(props);
    }

    /** A transactional, idempotent acks=all producer whose every wait is bounded by the write timeout. */
    private Producer<String, ChatEvent> kafkaProducer() {
        int timeoutMs = (int) config.writeTimeout().toMillis();
        Map<String, Object> props = KafkaClients.transactionalProducer(config.bootstrapServers(), "distpipe-" + id,
                KafkaClients.TRANSACTION_TIMEOUT_MS_DEFAULT);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(3000, timeoutMs / 2));
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, timeoutMs);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeoutMs);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        props.put(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, 500);
        return new KafkaProducer<>(props, keySerializer, valueSerializer);
    }

    /** A plain producer for the dead-letter topic, bounded by the write timeout. */
    private Producer<byte[], byte[]> kafkaDeadLetterProducer() {
        int timeoutMs = (int) config.writeTimeout().toMillis();
        Map<String, Object> props = KafkaClients.producer(config.bootstrapServers(), id + "-dlq");
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(3000, timeoutMs / 2));
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, timeoutMs);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeoutMs);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        return new KafkaProducer<>(props);
    }

    /**
     * Starts a server and returns once it has read the topic up to the end it had when the server started.
     *
     * @throws ChatException with {@link ChatException.Reason#NO_QUORUM} if the topic cannot be read in time
     */
    public static ChatServer start(Config config) throws ChatException {
        return start(config, AvroSerdes.connect(config.registryUrl()), kafkaConsumer(config),
                ChatServer::kafkaProducer);
    }

    /** Starts a server on the given clients; {@code producers} makes a new producer each time one is needed. */
    static ChatServer start(Config config, AvroSerdes serdes, Consumer<byte[], byte[]> consumer,
                            Function<ChatServer, Producer<String, ChatEvent>> producers) throws ChatException {
        return start(config, serdes, consumer, producers, ChatServer::kafkaDeadLetterProducer,
            ReadPolicy.of("chat-" + config.serverId()));
    }

    /** As above, with the producer of dead letters and the read policy given too. */
    static ChatServer start(Config config, AvroSerdes serdes, Consumer<byte[], byte[]> consumer,
                            Function<ChatServer, Producer<String, ChatEvent>> producers,
                            Function<ChatServer, Producer<byte[], byte[]>> deadLetterProducers, ReadPolicy readPolicy)
        throws ChatException {
        ChatServer server = new ChatServer(config, serdes, consumer, producers, deadLetterProducers, readPolicy);
        try {
            server.start();
        } catch (ChatException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    /** Reads the topic up to the end it has now, then serves. */
    @Override
    public void start() throws ChatException {
        life.transition(State.STARTING);
        catchUp();
        life.transition(State.RUNNING);
    }

    private boolean serving() {
        State s = life.state();
        return s == State.STARTING || s == State.RUNNING;
    }

    private void catchUp() throws ChatException {
        long startNanos = System.nanoTime();
        Map<TopicPartition, Long> ends;
        try {
            List<PartitionInfo> infos = consumer.partitionsFor(TOPIC, config.catchUpTimeout());
            if (infos == null || infos.isEmpty()) {
                throw new ChatException(ChatException.Reason.NO_QUORUM, "The topic " + TOPIC + " does not exist on "
                        + config.bootstrapServers() + "; start the chat demo (or create the topic) first.");
            }
            List<TopicPartition> partitions = infos.stream()
                    .map(info -> new TopicPartition(TOPIC, info.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            ends = consumer.endOffsets(partitions, config.catchUpTimeout());
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            throw new ChatException(ChatException.Reason.NO_QUORUM, "Cannot read " + TOPIC + " from "
                    + config.bootstrapServers() + " within " + config.catchUpTimeout().toSeconds()
                    + " s; a partition has no leader that answers (are most nodes down?).", e);
        }
        reader.start();
        long deadline = System.nanoTime() + config.catchUpTimeout().toNanos();
        synchronized (this) {
            while (!reached(ends)) {
                requireServing();
                long waitMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (waitMs <= 0) {
                    throw new ChatException(ChatException.Reason.NO_QUORUM, "Could not read " + TOPIC
                            + " to its end within " + config.catchUpTimeout().toSeconds()
                            + " s; a partition has no leader that answers (are most nodes down?).");
                }
                waitQuietly(waitMs);
            }
        }
        LOG.info("{}: caught up with {} ({} users) in {} ms.", id, TOPIC, users().size(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
    }

    private boolean reached(Map<TopicPartition, Long> ends) {
        return ends.entrySet().stream()
                .allMatch(end -> positions.getOrDefault(end.getKey().partition(), 0L) >= end.getValue());
    }

    private void readLoop() {
        try {
            while (serving()) {
                try {
                    var records = consumer.poll(POLL_INTERVAL);
                    synchronized (this) {
                        for (ConsumerRecord<byte[], byte[]> record : records) {
                            applyRecord(record);
                        }
                        for (TopicPartition partition : consumer.assignment()) {
                            try {
                                positions.put(partition.partition(), consumer.position(partition, Duration.ZERO));
                            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                                LOG.trace("{}: position of {} not known yet.", id, partition);
                            }
                        }
                        notifyAll();
                    }
                } catch (org.apache.kafka.common.errors.TimeoutException e) {
                    LOG.debug("{}: position not known yet: {}", id, e.getMessage());
                } catch (WakeupException e) {
                    throw e;
                } catch (ReadPolicy.GaveUpException e) {
                    stop(id + ": stopped: " + e.getMessage() + "; it serves nothing rather than skip the event.");
                } catch (ReadPolicy.PoisonRecordException e) {
                    stop(deadLetter(e));
                } catch (KafkaException e) {
                    LOG.warn("{}: reading {} failed ({}); retrying.", id, TOPIC, e.getMessage());
                }
            }
        } catch (WakeupException e) {
            LOG.debug("{}: reader woken up to stop.", id);
        } finally {
            consumer.close(Duration.ofSeconds(1));
        }
    }

    /**
     * Applies one event; one no schema reads stops the server ({@link #deadLetter}), one that cannot be read for now
     * is retried by the {@link ReadPolicy} and then stops it: skipping either would leave this server's accounts,
     * sessions or inboxes different from every other server's.
     */
    private void applyRecord(ConsumerRecord<byte[], byte[]> record) {
        ChatEvent event = readPolicy.read(record, r -> {
            ChatEvent e = valueDeserializer.deserialize(r.topic(), r.headers(), r.value());
            if (e == null) {
                throw new IllegalArgumentException("the record has no value");
            }
            return e;
        });
        if (!state.apply(event)) {
            LOG.debug("{}: event {} changed nothing.", id, event.getEventId());
        }
    }

    /** Sends an unreadable event to chat.events.dlq (waiting for it, bounded); the sentence to stop with. */
    private String deadLetter(ReadPolicy.PoisonRecordException poison) {
        String where = ReadPolicy.where(poison.record());
        String sent = "it was sent to " + Topics.CHAT_EVENTS_DLQ.name();
        Producer<byte[], byte[]> dlq = null;
        try {
            dlq = deadLetterProducers.apply(this);
            dlq.send(readPolicy.deadLetter(Topics.CHAT_EVENTS_DLQ.name(), poison))
                .get(config.writeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sent = "it could not be sent to " + Topics.CHAT_EVENTS_DLQ.name() + " (interrupted)";
        } catch (ExecutionException | TimeoutException | KafkaException e) {
            sent = "it could not be sent to " + Topics.CHAT_EVENTS_DLQ.name() + " (" + e.getMessage() + ")";
        } finally {
            if (dlq != null) {
                dlq.close(Duration.ofSeconds(1));
            }
        }
        synchronized (this) {
            poisonRecords++;
        }
        return id + ": stopped: the event " + where + " cannot be read (" + poison.reason() + "); " + sent
            + ", and this server serves nothing rather than answer from a state that lacks it.";
    }

    /** Stops serving for good: FAILED, the reason logged once and given to every caller from now on. */
    private void stop(String because) {
        LOG.error(because);
        synchronized (this) {
            stoppedBecause = because;
            life.compareAndTransition(State.RUNNING, State.FAILED);
            life.compareAndTransition(State.STARTING, State.FAILED);
            notifyAll();
        }
    }

    /** Refuses to serve from a state that stopped following the log. */
    private void requireServing() throws ChatException {
        String because = stoppedBecause;
        if (because != null) {
            throw new ChatException(ChatException.Reason.STOPPED, because);
        }
    }

    /** Creates an account; only a salted PBKDF2 hash of the password is written. */
    public void createAccount(String user, char[] password) throws ChatException {
        requireServing();
        requireUserName(user);
        if (password.length < MIN_PASSWORD_LENGTH) {
            throw new ChatException(ChatException.Reason.INVALID_INPUT,
                    "A password needs at least " + MIN_PASSWORD_LENGTH + " characters.");
        }
        if (account(user).isPresent()) {
            throw new ChatException(ChatException.Reason.USER_EXISTS, "The user '" + user + "' exists already.");
        }
        Passwords.Hash hash = Passwords.hash(password, config.hashIterations());
        AccountCreated created = AccountCreated.newBuilder().setUser(user).setAlgorithm(hash.algorithm())
                .setIterations(hash.iterations()).setSalt(ByteBuffer.wrap(hash.salt()))
                .setHash(ByteBuffer.wrap(hash.hash())).build();
        String eventId = write(user, created, "create account " + user);
        Optional<ChatState.Account> winner = account(user);
        if (winner.isPresent() && !winner.get().eventId().equals(eventId)) {
            throw new ChatException(ChatException.Reason.USER_EXISTS,
                    "The user '" + user + "' was created by someone else at the same time.");
        }
    }

    /** Checks the password and opens a session; returns the session token, which only the client holds. */
    public String login(String user, char[] password) throws ChatException {
        requireServing();
        ChatState.Account account = account(user).orElseThrow(() -> new ChatException(
                ChatException.Reason.UNKNOWN_USER, "There is no user '" + user + "'."));
        if (!Passwords.matches(password, account.algorithm(), account.iterations(), account.salt(), account.hash())) {
            throw new ChatException(ChatException.Reason.WRONG_PASSWORD, "Wrong password for '" + user + "'.");
        }
        String token = Passwords.newSessionToken();
        write(user, LoggedIn.newBuilder().setUser(user).setSessionHash(Passwords.sessionHash(token)).build(),
                "log in " + user);
        return token;
    }

    /** Sends {@code text} from the session's user to {@code to}; returns the message id. */
    public String send(String session, String to, String text) throws ChatException {
        requireServing();
        String from = sessionUser(session);
        if (account(to).isEmpty()) {
            throw new ChatException(ChatException.Reason.UNKNOWN_USER, "There is no user '" + to + "'.");
        }
        if (text == null || text.isBlank() || text.length() > MAX_TEXT_LENGTH) {
            throw new ChatException(ChatException.Reason.INVALID_INPUT,
                    "A message needs 1 to " + MAX_TEXT_LENGTH + " characters.");
        }
        String messageId = UUID.randomUUID().toString();
        write(to, MessageSent.newBuilder().setMessageId(messageId).setFrom(from).setTo(to).setText(text).build(),
                "send a message from " + from + " to " + to);
        return messageId;
    }

    /** The inbox of the session's user, oldest first. */
    public List<ChatState.Message> read(String session) throws ChatException {
        requireServing();
        String user = sessionUser(session);
        synchronized (this) {
            return state.inbox(user);
        }
    }

    /** All account names, sorted. */
    public synchronized List<String> users() {
        return state.users();
    }

    /** Whether this server has read an event with that id (applied or ignored). */
    public synchronized boolean hasSeen(String eventId) {
        return state.hasSeen(eventId);
    }

    /** Records of the topic this server could not read and dead-lettered (at most one: it stops there). */
    public synchronized long poisonRecords() {
        return poisonRecords;
    }

    private synchronized Optional<ChatState.Account> account(String user) {
        return state.account(user);
    }

    private String sessionUser(String session) throws ChatException {
        Optional<String> user;
        synchronized (this) {
            user = session == null ? Optional.empty() : state.sessionUser(Passwords.sessionHash(session));
        }
        return user.orElseThrow(() -> new ChatException(ChatException.Reason.NOT_LOGGED_IN,
                "The session is not known; log in first."));
    }

    /**
     * Writes one event in its own transaction and waits until this server has applied it; returns its event id.
     * Any failure before the commit returned leaves the transaction uncommitted and is reported as NO_QUORUM.
     */
    private String write(String key, Object payload, String what) throws ChatException {
        String eventId = UUID.randomUUID().toString();
        ChatEvent event = ChatEvent.newBuilder().setEventId(eventId).setServer(config.serverId())
                .setAt(Instant.now()).setPayload(payload).build();
        long startNanos = System.nanoTime();
        RecordMetadata metadata;
        synchronized (writeLock) {
            String step = "start the producer";
            try {
                Producer<String, ChatEvent> current = producer();
                step = "begin the transaction";
                current.beginTransaction();
                step = "send";
                metadata = current.send(new ProducerRecord<>(TOPIC, key, event))
                        .get(config.writeTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
                step = "commit";
                current.commitTransaction();
            } catch (ExecutionException e) {
                throw refused(what, step, e.getCause(), eventId, startNanos);
            } catch (TimeoutException | KafkaException e) {
                throw refused(what, step, e, eventId, startNanos);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw refused(what, step, e, eventId, startNanos);
            }
        }
        LOG.debug("{}: {} acknowledged at {}-{}@{} in {} ms.", id, what, TOPIC, metadata.partition(),
                metadata.offset(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
        awaitApplied(metadata.partition(), metadata.offset(), what);
        return eventId;
    }

    private ChatException refused(String what, String step, Throwable cause, String eventId, long startNanos) {
        discardProducer();
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
        String reason = cause == null ? "unknown" : cause.getClass().getSimpleName() + ": " + cause.getMessage();
        String outcome = step.equals("commit")
                ? "the commit was not confirmed, so its outcome is in doubt"
                : "nothing was committed";
        LOG.info("{}: {} (event {}) refused after {} ms at step '{}'; {}: {}", id, what, eventId, millis, step,
                outcome, reason);
        return new ChatException(ChatException.Reason.NO_QUORUM, "no quorum: " + what
                + " was not acknowledged by a quorum within " + millis + " ms (" + step + " failed: " + reason + "); "
                + outcome + ".", cause, eventId);
    }

    private void awaitApplied(int partition, long offset, String what) {
        long deadline = System.nanoTime() + VISIBLE_TIMEOUT.toNanos();
        synchronized (this) {
            while (positions.getOrDefault(partition, 0L) <= offset) {
                long waitMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (waitMs <= 0) {
                    LOG.warn("{}: {} is acknowledged but this server has not read it back within {} s.", id, what,
                            VISIBLE_TIMEOUT.toSeconds());
                    return;
                }
                waitQuietly(waitMs);
            }
        }
    }

    /**
     * The producer to write with. After a refusal the next one is initialized in the background (see
     * {@link #discardProducer()}); a write waits for it at most the write timeout, and the initialization goes on if
     * that passes.
     */
    private Producer<String, ChatEvent> producer() throws InterruptedException {
        if (producer == null && nextProducer != null) {
            try {
                producer = nextProducer.get(config.writeTimeout().toMillis(), TimeUnit.MILLISECONDS);
                nextProducer = null;
            } catch (TimeoutException e) {
                throw new org.apache.kafka.common.errors.TimeoutException("the producer's transactional id is still "
                    + "being initialized (InitProducerId) after " + config.writeTimeout().toMillis() + " ms; it goes "
                    + "on in the background");
            } catch (ExecutionException e) {
                // It gave up: try once more in the caller's thread, which reports its failure.
                nextProducer = null;
            }
        }
        if (producer == null) {
            Producer<String, ChatEvent> created = producers.apply(this);
            try {
                // Fences an earlier producer of this server and aborts a transaction it left open.
                created.initTransactions();
            } catch (RuntimeException e) {
                created.close(Duration.ZERO);
                throw e;
            }
            producer = created;
        }
        return producer;
    }

    /**
     * Makes a producer and initializes its transactional id, retrying initTransactions() on transient failures (a
     * timeout leaves it resumable) for up to {@link #INIT_RETRY_BOUND}, with {@link Retry}'s backoff. After a refused write the coordinator must first abort the
     * transaction that write left open, which needs a quorum again and then the abort markers written: seconds
     * after the cluster is back, often more than one write timeout. Done ahead of the next write, that wait overlaps
     * the outage instead of failing the first write after it.
     */
    private Producer<String, ChatEvent> initializedProducer() {
        Producer<String, ChatEvent> created = producers.apply(this);
        try {
            Retry.transientFailures("initialize the transactional id of " + id + "'s next producer", INIT_RETRY_BOUND,
                () -> {
                    if (!serving()) {
                        throw new IllegalStateException(id + " is closing");
                    }
                    created.initTransactions();
                    return null;
                });
        } catch (RuntimeException e) {
            created.close(Duration.ZERO);
            throw e;
        }
        LOG.debug("{}: producer ready for the next write.", id);
        return created;
    }

    /**
     * Waits until the next write needs no wait for its producer: the one initializing in the background since a
     * refused write (the coordinator first aborts the transaction that write left open, which takes seconds after
     * a quorum returns) is ready. True at once when none is initializing; false if it is not ready in time, or gave
     * up (the next write then initializes one itself).
     */
    public boolean awaitWritable(Duration timeout) throws InterruptedException {
        CompletableFuture<Producer<String, ChatEvent>> next;
        synchronized (writeLock) {
            next = nextProducer;
        }
        if (next == null) {
            return true;
        }
        try {
            next.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException | ExecutionException e) {
            return false;
        }
    }

    /** Whether a producer is initializing in the background (after a refused write). */
    public boolean producerInitializing() {
        synchronized (writeLock) {
            return nextProducer != null && !nextProducer.isDone();
        }
    }

    /** The serializers a producer of this server must use. */
    Serializer<String> keySerializer() {
        return keySerializer;
    }

    Serializer<ChatEvent> valueSerializer() {
        return valueSerializer;
    }

    private void discardProducer() {
        synchronized (writeLock) {
            if (producer != null) {
                // No abortTransaction(): without a quorum it would block for another write timeout. The open
                // transaction is aborted by the next initTransactions() or the coordinator's transaction timeout.
                producer.close(Duration.ZERO);
                producer = null;
            }
            if (nextProducer == null && serving()) {
                nextProducer = CompletableFuture.supplyAsync(this::initializedProducer, initializer);
            }
        }
    }

    private static void requireUserName(String user) throws ChatException {
        if (user == null || !USER_NAME.matcher(user).matches()) {
            throw new ChatException(ChatException.Reason.INVALID_INPUT, "A user name is 1 to 32 characters of a-z, "
                    + "0-9, '_', '.', '-', starting with a letter or digit; got '" + user + "'.");
        }
    }

    private void waitQuietly(long millis) {
        try {
            wait(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(id + ": interrupted.", e);
        }
    }

    @Override
    public void close() {
        if (!life.beginClose()) {
            return;
        }
        consumer.wakeup();
        if (reader.isAlive()) {
            try {
                reader.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else {
            consumer.close(Duration.ZERO);
        }
        initializer.shutdownNow();
        synchronized (writeLock) {
            if (producer != null) {
                producer.close(Duration.ofSeconds(2));
                producer = null;
            }
            if (nextProducer != null) {
                // One still initializing gives up within a backoff (the server no longer serves) and closes itself.
                nextProducer.thenAccept(p -> p.close(Duration.ZERO));
                nextProducer = null;
            }
        }
        life.transition(State.CLOSED);
    }
}
