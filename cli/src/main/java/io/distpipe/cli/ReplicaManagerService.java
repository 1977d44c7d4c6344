package io.distpipe.cli;

import java.nio.file.Path;
import java.util.List;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.StreamsService;
import io.distpipe.replicas.ReplicaManagerTopology;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;

/** The replica manager topology run as a service (it lives here because StreamsService is in processors). */
final class ReplicaManagerService extends StreamsService {

    /** The topics a replicated server uses, with the membership topics its fault detectors use. */
    static final List<TopicSpec<?, ?>> TOPICS = List.of(Topics.REPLICAS_REQUESTS, Topics.REPLICAS_REPLIES,
        Topics.REPLICAS_ROLES, Topics.REPLICAS_CHECKPOINTS, Topics.MEMBERSHIP_HEARTBEATS, Topics.MEMBERSHIP_EVENTS);

    ReplicaManagerService(String bootstrapServers, int replication, Path stateDir, AvroSerdes serdes,
                          ReplicaManagerTopology.Mode mode) {
        super(ReplicaManagerTopology.APPLICATION_ID, ReplicaManagerTopology.build(mode, serdes),
            ReplicaManagerTopology.config(bootstrapServers), replication, stateDir);
    }

    /** Creates the replicated server's topics where missing (idempotent). */
    static void ensureTopics(String bootstrapServers) {
        try (Admin admin = KafkaClients.reachableAdmin(bootstrapServers, "replicas-admin")) {
            TopicAdmin.ensureTopics(admin, TOPICS, 3);
        }
    }
}
