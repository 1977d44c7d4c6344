package io.distpipe.kv.store;

import java.util.List;
import java.util.Map;

import io.distpipe.common.KafkaClients;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvRequest;
import io.distpipe.kv.WorkerMessage;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/** The serializers of the four kv topics, built once per process from its registry. */
public final class KvSerdes {

    /** The topics of the key-value store. */
    public static final List<TopicSpec<?, ?>> TOPICS = List.of(Topics.KV_REQUESTS, Topics.KV_DECISIONS,
        Topics.KV_VOTES, Topics.KV_REPLIES);

    /**
     * fetch.max.wait.ms of the read_committed readers (workers on the log, the coordinator on the votes). It was 5 ms,
     * in case a fetch parked at the last stable offset were not woken when a commit marker moves it; measured on
     * Kafka 4.3.1 it is woken (a committed record reached a read_committed reader 1.0 ms after the commit returned
     * with a 5 ms wait, 1.2 ms with 500 ms), while the 5 ms wait made every idle reader fetch 200 times a second,
     * which cost the shared broker CPU: kv bench, 4 alternating pairs, 100 ms against 5 ms: 1 client 28 and 20
     * commits/s against 19 and 18, 64 clients 603 and 493 against 517 and 378.
     */
    public static final int COMMITTED_FETCH_WAIT_MS = 100;

    final Serializer<String> keys;
    final Deserializer<String> keyReader;
    final Serializer<KvRequest> requests;
    final Deserializer<KvRequest> requestReader;
    final Serializer<KvLogEntry> log;
    final Deserializer<KvLogEntry> logReader;
    final Serializer<WorkerMessage> workers;
    final Deserializer<WorkerMessage> workerReader;
    final Serializer<KvReply> replies;
    final Deserializer<KvReply> replyReader;

    public KvSerdes(AvroSerdes serdes) {
        this.keys = serdes.keySerde(Topics.KV_REQUESTS).serializer();
        this.keyReader = serdes.keySerde(Topics.KV_REQUESTS).deserializer();
        this.requests = serdes.valueSerde(Topics.KV_REQUESTS).serializer();
        this.requestReader = serdes.valueSerde(Topics.KV_REQUESTS).deserializer();
        this.log = serdes.valueSerde(Topics.KV_DECISIONS).serializer();
        this.logReader = serdes.valueSerde(Topics.KV_DECISIONS).deserializer();
        this.workers = serdes.valueSerde(Topics.KV_VOTES).serializer();
        this.workerReader = serdes.valueSerde(Topics.KV_VOTES).deserializer();
        this.replies = serdes.valueSerde(Topics.KV_REPLIES).serializer();
        this.replyReader = serdes.valueSerde(Topics.KV_REPLIES).deserializer();
    }

    /**
     * Creates the kv topics if missing and registers every catalog schema in catalog order: with an in-memory
     * registry ({@code mem://}) each process then assigns the same ids, so processes without a shared registry
     * still read each other's records.
     */
    public static void prepare(String bootstrapServers, AvroSerdes serdes, int maxReplication) {
        TopicAdmin.registerSchemas(serdes.registry(), Topics.ALL);
        try (Admin admin = KafkaClients.reachableAdmin(bootstrapServers, "kv-admin")) {
            // Every kv process also sends membership heartbeats.
            TopicAdmin.ensureTopics(admin, List.of(Topics.KV_REQUESTS, Topics.KV_DECISIONS, Topics.KV_VOTES,
                Topics.KV_REPLIES, Topics.KV_DECISIONS_DLQ, Topics.KV_REQUESTS_DLQ, Topics.KV_VOTES_DLQ,
                Topics.MEMBERSHIP_HEARTBEATS), maxReplication);
        }
    }

    /** {@code reply} as the bytes of a kv.replies record (for load generators that write replies nobody awaits). */
    public byte[] replyBytes(KvReply reply) {
        return replies.serialize(Topics.KV_REPLIES.name(), reply);
    }

    /**
     * A transactional producer that retries quickly: right after a commit, the next transaction's first send may meet
     * CONCURRENT_TRANSACTIONS until the broker has written the previous markers, and the client's exponential
     * backoff (up to retry.backoff.max.ms, 1 s by default) could sleep far longer than that takes.
     */
    public static Map<String, Object> transactionalProducer(String bootstrapServers, String transactionalId,
                                                            int transactionTimeoutMs) {
        Map<String, Object> props = KafkaClients.transactionalProducer(bootstrapServers, transactionalId,
            transactionTimeoutMs);
        props.put(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, RETRY_BACKOFF_MAX_MS);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        return props;
    }

    /** retry.backoff.max.ms of the transactional producers. */
    public static final int RETRY_BACKOFF_MAX_MS = 10;

    /** The partition of kv.votes a worker writes: its number when its id ends in one, else a hash. */
    public static int votesPartition(String workerId) {
        int partitions = Topics.KV_VOTES.partitions();
        String digits = workerId.replaceAll("^.*?(\\d+)$", "$1");
        if (!digits.equals(workerId) && digits.length() < 9) {
            return Integer.parseInt(digits) % partitions;
        }
        return Math.floorMod(workerId.hashCode(), partitions);
    }
}
