package io.distpipe.primes.dedup;

import java.nio.file.Path;

import io.distpipe.common.StreamsService;
import io.distpipe.topics.serde.AvroSerdes;

/** Runs the {@link DedupTopology} as a service with its own state directory. */
public final class DedupService extends StreamsService {

    /** {@code replication} is for the internal topics: at most the number of brokers. */
    public DedupService(String id, String bootstrapServers, int replication, Path stateDir, AvroSerdes serdes) {
        super(id, DedupTopology.build(serdes), DedupTopology.config(bootstrapServers), replication, stateDir);
    }
}
