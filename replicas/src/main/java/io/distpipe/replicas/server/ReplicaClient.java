package io.distpipe.replicas.server;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.common.KafkaClients;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRequest;
import io.distpipe.replicas.RoleAssignment;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of the replicated server: sends numbered requests one at a time to the request log, takes the first reply
 * to each and discards the others (active mode: one per replica), follows the primary on the roles topic, resends
 * with bounded exponential backoff when no reply comes, and writes a JSON-lines history of every event.
 */
public final class ReplicaClient implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicaClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration POLL = Duration.ofMillis(10);

    /**
     * @param rate          requests per second at most (0: as fast as replies come)
     * @param firstTimeout  how long to wait for a reply before the first resend; doubled per resend
     * @param maxBackoff    the longest wait between resends
     * @param giveUpAfter   after this long without a reply a request is recorded as indeterminate and skipped
     */
    public record Config(String id, String bootstrapServers, long requests, double rate, Path history,
                         Duration firstTimeout, Duration maxBackoff, Duration giveUpAfter) {

        public Config {
            if (id == null || !id.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("A client id is letters, digits, '.', '_' or '-': " + id);
            }
            if (requests < 0 || rate < 0) {
                throw new IllegalArgumentException("requests and rate must not be negative");
            }
            Objects.requireNonNull(firstTimeout, "firstTimeout");
            Objects.requireNonNull(maxBackoff, "maxBackoff");
            Objects.requireNonNull(giveUpAfter, "giveUpAfter");
        }

        public static Config of(String id, String bootstrapServers, long requests, double rate, Path history) {
            return new Config(id, bootstrapServers, requests, rate, history, Duration.ofMillis(1500),
                Duration.ofSeconds(4), Duration.ofSeconds(60));
        }
    }

    /** What a run did. */
    public record Result(long acknowledged, long indeterminate, long resends, long duplicatesDiscarded,
                         long divergentReplies, Duration elapsed) {
    }

    private final Config cfg;
    private final Consumer<String> out;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<byte[], byte[]> producer;
    private final TopicPartition repliesTp = new TopicPartition(Topics.REPLICAS_REPLIES.name(), 0);
    private final TopicPartition rolesTp = new TopicPartition(Topics.REPLICAS_ROLES.name(), 0);
    private final Serializer<String> keySer;
    private final Serializer<ReplicaRequest> requestSer;
    private final Deserializer<String> keyDe;
    private final Deserializer<ReplicaReply> replyDe;
    private final Deserializer<RoleAssignment> roleDe;
    private final BufferedWriter history;
    /** Per request number, the replicas that replied, and per request-log offset the state hash they reported. */
    private final Map<Long, List<String>> repliedBy = new HashMap<>();
    private final Map<Long, String> hashAtOffset = new HashMap<>();
    private final List<ReplicaReply> collected = new ArrayList<>();
    private String primary;
    private long duplicates;
    private long divergent;
    private volatile boolean stopped;
    private volatile AckListener listener = (reply, nanos) -> { };

    /** Told of each acknowledged request (the first reply to it), with the {@link System#nanoTime} it arrived. */
    @FunctionalInterface
    public interface AckListener {
        void acknowledged(ReplicaReply reply, long nanoTime);
    }

    public ReplicaClient(Config cfg, AvroSerdes serdes, Consumer<String> out) throws IOException {
        this.cfg = cfg;
        this.out = out;
        this.consumer = new KafkaConsumer<>(KafkaClients.consumer(cfg.bootstrapServers(), null, cfg.id() + "-replies",
            KafkaClients.SESSION_TIMEOUT_MS_DEFAULT));
        Map<String, Object> props = KafkaClients.producer(cfg.bootstrapServers(), cfg.id() + "-requests");
        props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        this.producer = new KafkaProducer<>(props);
        this.keySer = serdes.keySerde(Topics.REPLICAS_REQUESTS).serializer();
        this.requestSer = serdes.valueSerde(Topics.REPLICAS_REQUESTS).serializer();
        this.keyDe = serdes.keySerde(Topics.REPLICAS_REPLIES).deserializer();
        this.replyDe = serdes.valueSerde(Topics.REPLICAS_REPLIES).deserializer();
        this.roleDe = serdes.valueSerde(Topics.REPLICAS_ROLES).deserializer();
        if (cfg.history() != null) {
            Path parent = cfg.history().toAbsolutePath().getParent();
            Files.createDirectories(parent);
            this.history = Files.newBufferedWriter(cfg.history(), StandardCharsets.UTF_8);
        } else {
            this.history = null;
        }
        consumer.assign(List.of(repliesTp, rolesTp));
        consumer.seekToEnd(List.of(repliesTp));
        consumer.position(repliesTp);
        consumer.seekToBeginning(List.of(rolesTp));
    }

    public void onAck(AckListener listener) {
        this.listener = listener;
    }

    public String primary() {
        return primary;
    }

    /** Asks {@link #run} to stop after the request in flight. */
    public void stop() {
        stopped = true;
    }

    /** Sends requests 1..N (or until {@link #stop}), one at a time, at most at the configured rate. */
    public Result run() {
        long start = System.nanoTime();
        long acked = 0;
        long unknown = 0;
        long resends = 0;
        for (long n = 1; n <= cfg.requests() && !stopped; n++) {
            if (cfg.rate() > 0) {
                long due = start + (long) ((n - 1) * 1e9 / cfg.rate());
                while (System.nanoTime() < due && !stopped) {
                    drain(Duration.ofMillis(Math.max(1, Math.min(50, (due - System.nanoTime()) / 1_000_000))), -1);
                }
            }
            Attempt attempt = invoke(n, "op " + n);
            resends += attempt.resends();
            if (attempt.reply() != null) {
                acked++;
            } else {
                unknown++;
            }
        }
        drain(Duration.ofMillis(200), -1);
        Result result = new Result(acked, unknown, resends, duplicates, divergent,
            Duration.ofNanos(System.nanoTime() - start));
        say("%s: %d acknowledged, %d indeterminate, %d resends, %d duplicate replies discarded in %.1f s.", cfg.id(),
            acked, unknown, resends, duplicates, result.elapsed().toMillis() / 1e3);
        return result;
    }

    /** One request until its first reply (or giving up). */
    public record Attempt(ReplicaReply reply, long resends) {
    }

    public Attempt invoke(long n, String payload) {
        record("invoke", n, payload, null, Map.of());
        ReplicaRequest request = ReplicaRequest.newBuilder().setClient(cfg.id()).setRequestNum(n).setPayload(payload)
            .setSentAt(Instant.now()).build();
        long started = System.nanoTime();
        Duration wait = cfg.firstTimeout();
        long resends = 0;
        while (true) {
            send(request);
            long deadline = System.nanoTime() + wait.toNanos();
            while (System.nanoTime() < deadline) {
                ReplicaReply reply = drain(POLL, n);
                if (reply != null) {
                    listener.acknowledged(reply, System.nanoTime());
                    Map<String, Object> extra = new LinkedHashMap<>();
                    extra.put("applied", reply.getRequestsApplied());
                    extra.put("hash", reply.getStateHash());
                    extra.put("offset", reply.getRequestOffset());
                    extra.put("duplicate", reply.getDuplicate());
                    record("ok", n, reply.getState(), reply.getServer(), extra);
                    return new Attempt(reply, resends);
                }
            }
            if (System.nanoTime() - started > cfg.giveUpAfter().toNanos() || stopped) {
                record("info", n, "no reply within " + cfg.giveUpAfter().toSeconds() + " s; outcome unknown", null,
                    Map.of());
                return new Attempt(null, resends);
            }
            resends++;
            record("info", n, "no reply after " + wait.toMillis() + " ms; resending", null, Map.of());
            wait = wait.multipliedBy(2).compareTo(cfg.maxBackoff()) > 0 ? cfg.maxBackoff() : wait.multipliedBy(2);
        }
    }

    /**
     * Sends request {@code n} and collects every reply to it that arrives within {@code window} (or until
     * {@code replicas} replicas replied): the live replicas' states, for checks.
     */
    public List<ReplicaReply> probe(long n, int replicas, Duration window) {
        collected.clear();
        Attempt attempt = invoke(n, "probe");
        List<ReplicaReply> replies = new ArrayList<>();
        if (attempt.reply() == null) {
            return replies;
        }
        replies.add(attempt.reply());
        long deadline = System.nanoTime() + window.toNanos();
        while (System.nanoTime() < deadline && replies.size() < replicas) {
            drain(POLL, -1);
            for (ReplicaReply r : collected) {
                if (r.getRequestNum() == n && r.getRequestOffset() == attempt.reply().getRequestOffset()
                    && replies.stream().noneMatch(x -> x.getServer().equals(r.getServer()))) {
                    replies.add(r);
                }
            }
            collected.clear();
        }
        return replies;
    }

    private void send(ReplicaRequest request) {
        String topic = Topics.REPLICAS_REQUESTS.name();
        producer.send(new ProducerRecord<>(topic, keySer.serialize(topic, cfg.id()),
            requestSer.serialize(topic, request)));
    }

    /** Reads replies and roles for a while; returns the first reply to request {@code n} not seen before. */
    private ReplicaReply drain(Duration timeout, long n) {
        ReplicaReply first = null;
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
            if (r.value() == null) {
                continue;
            }
            if (r.topic().equals(rolesTp.topic())) {
                RoleAssignment a = roleDe.deserialize(r.topic(), r.headers(), r.value());
                if (ReplicaManagerTopology.RM.equals(a.getAssignedBy()) && a.getPrimary() != null
                    && !a.getPrimary().equals(primary)) {
                    primary = a.getPrimary();
                    record("info", 0, "primary " + primary, primary, Map.of());
                    say("%s: the primary is now %s.", cfg.id(), primary);
                }
                continue;
            }
            if (!cfg.id().equals(keyDe.deserialize(r.topic(), r.headers(), r.key()))) {
                continue;
            }
            ReplicaReply reply = replyDe.deserialize(r.topic(), r.headers(), r.value());
            collected.add(reply);
            String seen = hashAtOffset.putIfAbsent(reply.getRequestOffset(), reply.getStateHash());
            if (seen != null && !seen.equals(reply.getStateHash())) {
                divergent++;
                record("info", reply.getRequestNum(), "replicas disagree on the state after offset "
                    + reply.getRequestOffset() + ": " + seen + " != " + reply.getStateHash(), reply.getServer(),
                    Map.of());
            }
            List<String> servers = repliedBy.computeIfAbsent(reply.getRequestNum(), k -> new ArrayList<>());
            if (!servers.isEmpty() || first != null || reply.getRequestNum() != n) {
                duplicates++;
                say("%s: duplicate reply discarded: #%d from %s.", cfg.id(), reply.getRequestNum(),
                    reply.getServer());
            } else {
                first = reply;
            }
            servers.add(reply.getServer());
        }
        return first;
    }

    private void record(String type, long n, String value, String replica, Map<String, Object> extra) {
        if (history == null) {
            return;
        }
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("client", cfg.id());
        event.put("requestNum", n);
        event.put("type", type);
        event.put("value", value);
        event.put("replica", replica);
        event.put("time", Instant.now().toString());
        event.putAll(extra);
        try {
            history.write(JSON.writeValueAsString(event));
            history.newLine();
            history.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the history " + cfg.history(), e);
        }
    }

    private void say(String format, Object... args) {
        String line = String.format(format, args);
        LOG.info(line);
        out.accept(line);
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(3));
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(3)));
        if (history != null) {
            try {
                history.close();
            } catch (IOException e) {
                LOG.warn("{}: could not close the history file: {}", cfg.id(), e.toString());
            }
        }
    }
}
