package io.distpipe.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;

import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;

/** Three in-process KRaft nodes (broker and controller each) and our HTTP registry: runs everywhere. */
public final class EmbeddedScenarioCluster implements ScenarioCluster {

    private final MultiNodeCluster kafka;
    private final SchemaRegistryServer registry;

    private EmbeddedScenarioCluster(MultiNodeCluster kafka, SchemaRegistryServer registry) {
        this.kafka = kafka;
        this.registry = registry;
    }

    public static EmbeddedScenarioCluster start(int brokers) {
        MultiNodeCluster kafka = MultiNodeCluster.start(brokers);
        try {
            return new EmbeddedScenarioCluster(kafka, SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0));
        } catch (IOException e) {
            kafka.close();
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    @Override
    public String registryUrl() {
        return registry.url();
    }

    @Override
    public int brokerCount() {
        return kafka.brokerCount();
    }

    @Override
    public Set<Integer> runningBrokers() {
        return kafka.runningBrokers();
    }

    @Override
    public void stopBroker(int id) {
        kafka.stopBroker(id);
    }

    @Override
    public void startBroker(int id) {
        kafka.startBroker(id);
    }

    @Override
    public void close() {
        registry.close();
        kafka.close();
    }

    @Override
    public String toString() {
        return "embedded " + kafka.brokerCount() + "-node cluster";
    }
}
