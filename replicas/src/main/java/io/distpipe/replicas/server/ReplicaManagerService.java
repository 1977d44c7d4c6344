package io.distpipe.replicas.server;

import java.nio.file.Path;
import java.util.List;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.StreamsService;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The replica manager topology run as a service (it lives here because StreamsService is in processors). */
public final class ReplicaManagerService extends StreamsService {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicaManagerService.class);
    private static final int REACH_ATTEMPTS = 4;

    /** The topics a replicated server uses, with the membership topics its fault detectors use. */
    public static final List<TopicSpec<?, ?>> TOPICS = List.of(Topics.REPLICAS_REQUESTS, Topics.REPLICAS_REPLIES,
        Topics.REPLICAS_ROLES, Topics.REPLICAS_CHECKPOINTS, Topics.REPLICAS_REQUESTS_DLQ, Topics.MEMBERSHIP_HEARTBEATS,
        Topics.MEMBERSHIP_EVENTS);

    public ReplicaManagerService(String bootstrapServers, int replication, Path stateDir, AvroSerdes serdes,
                          ReplicaManagerTopology.Mode mode) {
        super(ReplicaManagerTopology.APPLICATION_ID, ReplicaManagerTopology.build(mode, serdes),
            ReplicaManagerTopology.config(bootstrapServers), replication, stateDir);
    }

    /**
     * Creates the replicated server's topics where missing (idempotent), trying {@link #REACH_ATTEMPTS} times: a
     * replica started on a busy machine may not reach the cluster at the first try.
     */
    public static void ensureTopics(String bootstrapServers) {
        for (int attempt = 1; ; attempt++) {
            try (Admin admin = KafkaClients.reachableAdmin(bootstrapServers, "replicas-admin")) {
                TopicAdmin.ensureTopics(admin, TOPICS, 3);
                return;
            } catch (KafkaException e) {
                if (attempt == REACH_ATTEMPTS) {
                    throw e;
                }
                LOG.warn("Could not set up the replica topics (attempt {} of {}): {}; trying again.", attempt,
                    REACH_ATTEMPTS, e.getMessage());
            }
        }
    }
}
