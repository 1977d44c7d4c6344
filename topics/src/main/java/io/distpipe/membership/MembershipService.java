package io.distpipe.membership;

import java.nio.file.Path;

import io.distpipe.common.StreamsService;
import io.distpipe.topics.serde.AvroSerdes;

/** Runs the {@link MembershipTopology} as a service with its own state directory. */
public final class MembershipService extends StreamsService {

    /** {@code replication} is for the internal topics: at most the number of brokers. */
    public MembershipService(String id, String bootstrapServers, int replication, Path stateDir, AvroSerdes serdes,
                             MembershipTopology.Config cfg) {
        super(id, MembershipTopology.build(cfg, serdes), MembershipTopology.config(bootstrapServers), replication,
            stateDir);
    }
}
