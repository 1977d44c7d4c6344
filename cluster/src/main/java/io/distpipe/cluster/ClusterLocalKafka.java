package io.distpipe.cluster;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.distpipe.common.KafkaCluster;
import io.distpipe.common.LocalKafka;

/** The brokers of this module behind {@link LocalKafka}, registered in {@code META-INF/services}. */
public final class ClusterLocalKafka implements LocalKafka {

    @Override
    public KafkaCluster startEmbedded() {
        return EmbeddedKafka.startTemporary();
    }

    @Override
    public List<Node> startQuorum(Path dir, int nodes, Map<String, String> overrides, List<String> jvmOptions) {
        return List.copyOf(BrokerProcess.startQuorum(dir, nodes, overrides, jvmOptions));
    }
}
