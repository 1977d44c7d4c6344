package io.distpipe.kv.store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.distpipe.common.KafkaClients;
import io.distpipe.kv.Ack;
import io.distpipe.kv.Decision;
import io.distpipe.kv.KvLogEntry;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.KvRequest;
import io.distpipe.kv.Outcome;
import io.distpipe.kv.Vote;
import io.distpipe.kv.VoteRequest;
import io.distpipe.kv.WorkerMessage;
import io.distpipe.topics.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Where the time of a committed SET goes, hop by hop, read back from the store's topics after a load: every record
 * carries the time its producer sent it, so for each client transaction the request, its vote request, the last
 * vote, the decision, the reply and the last acknowledgement give the critical path's hops. The clocks are the
 * processes' wall clocks in milliseconds (one machine for the bench), so the figures are means over many
 * transactions, not single ones.
 */
public final class KvHops {

    /** Mean milliseconds per hop over {@code transactions} committed transactions. */
    public record Hops(int transactions, double requestToPrepare, double prepareToLastVote,
                       double lastVoteToDecision, double decisionToReply, double decisionToLastAck) {

        /** The hops as a table of text lines, with what each one holds. */
        public List<String> describe() {
            return List.of(
                String.format("  %6.1f ms  request sent -> vote request sent (client send, coordinator read, its "
                    + "cycle)", requestToPrepare),
                String.format("  %6.1f ms  vote request sent -> last vote sent (coordinator's Kafka commit, "
                    + "workers' read_committed fetch)", prepareToLastVote),
                String.format("  %6.1f ms  last vote sent -> decision sent (worker's Kafka commit, coordinator's "
                    + "fetch and cycle)", lastVoteToDecision),
                String.format("  %6.1f ms  decision sent -> reply sent (coordinator's Kafka commit)",
                    decisionToReply),
                String.format("  (%5.1f ms  decision sent -> last acknowledgement sent: off the critical path)",
                    decisionToLastAck));
        }

        public Map<String, Object> asMap() {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("transactions", transactions);
            map.put("request_to_prepare_ms", round(requestToPrepare));
            map.put("prepare_to_last_vote_ms", round(prepareToLastVote));
            map.put("last_vote_to_decision_ms", round(lastVoteToDecision));
            map.put("decision_to_reply_ms", round(decisionToReply));
            map.put("decision_to_last_ack_ms", round(decisionToLastAck));
            return map;
        }

        private static double round(double value) {
            return Math.round(value * 10) / 10.0;
        }
    }

    /** What the log and the votes topic show of one transaction; the request and reply are found by request id. */
    private static final class Tx {
        long prepare = -1;
        long lastVote = -1;
        long decision = -1;
        long lastAck = -1;
        String requestId;
    }

    private KvHops() {
    }

    /** Reads the four topics of the store and averages the hops of the transactions requested from {@code fromMs}. */
    public static Hops measure(String bootstrapServers, KvSerdes serdes, long fromMs) {
        Map<String, Long> requests = new HashMap<>();
        Map<String, Long> replies = new HashMap<>();
        Map<String, Tx> txs = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(KafkaClients.consumer(bootstrapServers,
            null, "kv-hops", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : List.of(Topics.KV_REQUESTS.name(), Topics.KV_DECISIONS.name(), Topics.KV_VOTES.name(),
                Topics.KV_REPLIES.name())) {
                for (PartitionInfo p : consumer.partitionsFor(topic)) {
                    partitions.add(new TopicPartition(topic, p.partition()));
                }
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
                && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.timestamp() < fromMs) {
                        continue;
                    }
                    read(serdes, r, requests, replies, txs);
                }
            }
        }
        double[] sums = new double[5];
        int n = 0;
        for (Tx tx : txs.values()) {
            Long request = tx.requestId == null ? null : requests.get(tx.requestId);
            Long reply = tx.requestId == null ? null : replies.get(tx.requestId);
            if (request == null || reply == null || tx.prepare < 0 || tx.lastVote < 0 || tx.decision < 0) {
                continue;
            }
            n++;
            sums[0] += tx.prepare - request;
            sums[1] += tx.lastVote - tx.prepare;
            sums[2] += tx.decision - tx.lastVote;
            sums[3] += reply - tx.decision;
            sums[4] += tx.lastAck < 0 ? 0 : tx.lastAck - tx.decision;
        }
        int count = Math.max(1, n);
        return new Hops(n, sums[0] / count, sums[1] / count, sums[2] / count, sums[3] / count, sums[4] / count);
    }

    private static void read(KvSerdes serdes, ConsumerRecord<byte[], byte[]> r, Map<String, Long> requests,
                             Map<String, Long> replies, Map<String, Tx> txs) {
        String topic = r.topic();
        try {
            if (topic.equals(Topics.KV_REQUESTS.name())) {
                KvRequest request = serdes.requestReader.deserialize(topic, r.headers(), r.value());
                requests.merge(request.getRequestId(), r.timestamp(), Math::min);
            } else if (topic.equals(Topics.KV_REPLIES.name())) {
                KvReply reply = serdes.replyReader.deserialize(topic, r.headers(), r.value());
                if (reply.getOk() && reply.getTxId() != null) {
                    replies.merge(reply.getRequestId(), r.timestamp(), Math::min);
                }
            } else if (topic.equals(Topics.KV_DECISIONS.name())) {
                KvLogEntry entry = serdes.logReader.deserialize(topic, r.headers(), r.value());
                if (entry.getPayload() instanceof VoteRequest vr) {
                    Tx tx = txs.computeIfAbsent(vr.getTxId(), k -> new Tx());
                    tx.requestId = vr.getRequestId();
                    tx.prepare = tx.prepare < 0 ? r.timestamp() : Math.min(tx.prepare, r.timestamp());
                } else if (entry.getPayload() instanceof Decision d && d.getOutcome() == Outcome.COMMIT) {
                    txs.computeIfAbsent(d.getTxId(), k -> new Tx()).decision = r.timestamp();
                }
            } else {
                WorkerMessage m = serdes.workerReader.deserialize(topic, r.headers(), r.value());
                if (m.getPayload() instanceof Vote v) {
                    Tx tx = txs.computeIfAbsent(v.getTxId(), k -> new Tx());
                    tx.lastVote = Math.max(tx.lastVote, r.timestamp());
                } else if (m.getPayload() instanceof Ack a) {
                    Tx tx = txs.computeIfAbsent(a.getTxId(), k -> new Tx());
                    tx.lastAck = Math.max(tx.lastAck, r.timestamp());
                }
            }
        } catch (RuntimeException e) {
            // Not one of the store's records (another tool's): it tells nothing about the store's hops.
        }
    }
}
