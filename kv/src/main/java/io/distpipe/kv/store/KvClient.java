package io.distpipe.kv.store;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.LifeCycle;
import io.distpipe.common.Service;
import io.distpipe.kv.KvOp;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvRequest;
import io.distpipe.kv.KvWrite;
import io.distpipe.topics.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of the key-value store: sends {@link KvRequest}s to kv.requests and matches the coordinator's
 * {@link KvReply}s by request id. Thread-safe; many requests may be in flight at once.
 */
public final class KvClient implements Service {

    public static final Duration TIMEOUT_DEFAULT = Duration.ofSeconds(30);

    private static final Logger LOG = LoggerFactory.getLogger(KvClient.class);

    private final String clientId;
    private final KvSerdes serdes;
    private final Duration timeout;
    private final KafkaProducer<byte[], byte[]> producer;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, CompletableFuture<KvReply>> pending = new ConcurrentHashMap<>();
    /** Replies that arrive in parts (a database), by request id and answer; only the reader thread uses it. */
    private final Chunks.Assembler<KvReply> replyParts = new Chunks.Assembler<>();
    private final AtomicLong sequence = new AtomicLong();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final LifeCycle life;
    private Thread reader;

    private KvClient(String bootstrapServers, KvSerdes serdes, Duration timeout) {
        this.clientId = "client-" + UUID.randomUUID().toString().substring(0, 8);
        this.serdes = serdes;
        this.timeout = timeout;
        this.life = new LifeCycle("kv client " + clientId);
        Map<String, Object> producerProps = KafkaClients.producer(bootstrapServers, clientId);
        producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 1);
        this.producer = new KafkaProducer<>(producerProps);
        Map<String, Object> consumerProps = KafkaClients.consumer(bootstrapServers, null, clientId + "-replies", 0);
        this.consumer = new KafkaConsumer<>(consumerProps);
    }

    /** A started client: it reads replies from the end of kv.replies as they are now, so it sees all of its own. */
    public static KvClient open(String bootstrapServers, KvSerdes serdes, Duration timeout) {
        KvClient client = new KvClient(bootstrapServers, serdes, timeout);
        try {
            client.start();
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
        return client;
    }

    @Override
    public String id() {
        return clientId;
    }

    @Override
    public State state() {
        return life.state();
    }

    /** Finds the end of kv.replies and starts the reply reader. */
    @Override
    public void start() {
        life.transition(State.STARTING);
        List<TopicPartition> partitions = new ArrayList<>();
        for (PartitionInfo p : consumer.partitionsFor(Topics.KV_REPLIES.name())) {
            partitions.add(new TopicPartition(p.topic(), p.partition()));
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position);
        reader = new Thread(this::readReplies, clientId + "-replies");
        reader.setDaemon(true);
        reader.start();
        life.compareAndTransition(State.STARTING, State.RUNNING);
    }

    public String clientId() {
        return clientId;
    }

    private boolean serving() {
        State s = life.state();
        return s == State.STARTING || s == State.RUNNING;
    }

    /** Sets one key (a transaction of one write). */
    public CompletableFuture<KvReply> set(String key, String value) {
        return submit(KvOp.WRITE, List.of(new KvWrite(key, value)), null);
    }

    /** Sets all keys in one transaction: all of them commit or none. */
    public CompletableFuture<KvReply> setAll(List<KvWrite> writes) {
        return submit(KvOp.WRITE, writes, null);
    }

    public CompletableFuture<KvReply> get(String key) {
        return submit(KvOp.GET, List.of(), key);
    }

    public CompletableFuture<KvReply> db() {
        return submit(KvOp.DB, List.of(), null);
    }

    public CompletableFuture<KvReply> verify() {
        return submit(KvOp.VERIFY, List.of(), null);
    }

    /**
     * Sends one request; the future completes with the reply, or fails with a {@link TimeoutException} when none
     * came within the timeout (the outcome is then unknown) or with the producer's error. A transaction above one
     * request's limit ({@link Chunks#MAX_REQUEST_BYTES}) is refused here, with a reply that says so, and not sent; a
     * large one travels in parts that the coordinator joins.
     */
    public CompletableFuture<KvReply> submit(KvOp op, List<KvWrite> writes, String key) {
        String requestId = clientId + "-" + sequence.incrementAndGet();
        String refused = Chunks.refusal(Chunks.requestBytes(writes) + (key == null ? 0 : Chunks.utf8Length(key)));
        if (refused != null) {
            return CompletableFuture.completedFuture(KvReply.newBuilder().setRequestId(requestId)
                .setClientId(clientId).setOk(false).setMessage(refused).build());
        }
        CompletableFuture<KvReply> future = new CompletableFuture<>();
        pending.put(requestId, future);
        future.whenComplete((r, e) -> pending.remove(requestId));
        List<List<KvWrite>> parts = Chunks.splitWrites(writes, Chunks.PART_BYTES);
        Instant now = Instant.now();
        for (int i = 0; i < parts.size(); i++) {
            KvRequest request = KvRequest.newBuilder().setRequestId(requestId).setClientId(clientId).setOp(op)
                .setWrites(parts.get(i)).setKey(key).setSentAt(now).setPart(i).setParts(parts.size()).build();
            producer.send(new ProducerRecord<>(Topics.KV_REQUESTS.name(),
                serdes.keys.serialize(Topics.KV_REQUESTS.name(), clientId),
                serdes.requests.serialize(Topics.KV_REQUESTS.name(), request)), (metadata, e) -> {
                    if (e != null) {
                        future.completeExceptionally(e);
                    }
                });
        }
        return future.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void readReplies() {
        try {
            while (serving()) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    KvReply reply;
                    try {
                        reply = serdes.replyReader.deserialize(record.topic(), record.headers(), record.value());
                    } catch (SerializationException e) {
                        LOG.error("{}: skipping unreadable reply at offset {}: {}", clientId, record.offset(),
                            e.getMessage());
                        continue;
                    }
                    if (clientId.equals(reply.getClientId())) {
                        CompletableFuture<KvReply> future = pending.get(reply.getRequestId());
                        if (future == null) {
                            replyParts.remove(reply.getRequestId() + "/" + reply.getTxId());
                            continue;
                        }
                        List<KvReply> parts = replyParts.add(reply.getRequestId() + "/" + reply.getTxId(),
                            reply.getPart(), reply.getParts(), reply).complete();
                        if (parts != null) {
                            future.complete(Chunks.joinReplies(parts));
                        }
                    }
                }
            }
        } catch (WakeupException e) {
            if (serving()) {
                LOG.error("{}: reply reader woken unexpectedly.", clientId, e);
            }
        } finally {
            stopped.countDown();
        }
    }

    @Override
    public void close() {
        if (!life.beginClose()) {
            return;
        }
        consumer.wakeup();
        if (reader != null) {
            try {
                stopped.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        consumer.close(Duration.ofSeconds(5));
        producer.close(Duration.ofSeconds(5));
        pending.values().forEach(f -> f.completeExceptionally(new IllegalStateException("client closed")));
        life.transition(State.CLOSED);
    }
}
