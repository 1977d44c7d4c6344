package io.distpipe.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;

import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;

/** Three in-process KRaft nodes (broker and controller each) and our HTTP registry: runs everywhere. */
public final class EmbeddedScenarioCluster implements ScenarioCluster {

    private final MultiNodeCluster kafka;
    /** The registry's schemas: they outlive a stop of its HTTP server, as a registry's storage would. */
    private final InMemorySchemaRegistry schemas;
    private final String registryUrl;
    private final int registryPort;
    private SchemaRegistryServer registry;

    private EmbeddedScenarioCluster(MultiNodeCluster kafka, InMemorySchemaRegistry schemas,
                                    SchemaRegistryServer registry) {
        this.kafka = kafka;
        this.schemas = schemas;
        this.registry = registry;
        this.registryUrl = registry.url();
        this.registryPort = java.net.URI.create(registryUrl).getPort();
    }

    public static EmbeddedScenarioCluster start(int brokers) {
        MultiNodeCluster kafka = MultiNodeCluster.start(brokers);
        try {
            InMemorySchemaRegistry schemas = new InMemorySchemaRegistry();
            return new EmbeddedScenarioCluster(kafka, schemas, SchemaRegistryServer.start(schemas, 0));
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
        return registryUrl;
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
    public synchronized void stopRegistry() {
        if (registry != null) {
            registry.close();
            registry = null;
        }
    }

    @Override
    public synchronized void startRegistry() {
        if (registry == null) {
            try {
                registry = SchemaRegistryServer.start(schemas, registryPort);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot start the registry again on port " + registryPort, e);
            }
        }
    }

    @Override
    public synchronized void close() {
        stopRegistry();
        kafka.close();
    }

    @Override
    public String toString() {
        return "embedded " + kafka.brokerCount() + "-node cluster";
    }
}
