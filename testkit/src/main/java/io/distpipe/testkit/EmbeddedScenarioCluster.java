package io.distpipe.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import io.distpipe.common.Poll;
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
    /** While the registry is stopped: the listener that refuses its connections. */
    private volatile ServerSocket refusing;
    private Thread acceptor;
    private final AtomicLong refused = new AtomicLong();

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

    /**
     * Stops the registry's HTTP server and holds its port with a listener that accepts each connection and closes it at
     * once, as a registry that is going down does (clients see the connection dropped: unreachable), counting them.
     */
    @Override
    public synchronized void stopRegistry() {
        if (registry == null) {
            return;
        }
        registry.close();
        registry = null;
        refused.set(0);
        try {
            ServerSocket socket = new ServerSocket();
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress("127.0.0.1", registryPort));
            refusing = socket;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot hold the registry's port " + registryPort, e);
        }
        acceptor = new Thread(() -> {
            ServerSocket socket = refusing;
            while (socket != null && !socket.isClosed()) {
                try (Socket connection = socket.accept()) {
                    refused.incrementAndGet();
                    connection.setSoLinger(true, 0);
                } catch (IOException e) {
                    // Closed by startRegistry().
                }
            }
        }, "registry-down");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    @Override
    public synchronized void startRegistry() {
        if (registry != null) {
            return;
        }
        try {
            if (refusing != null) {
                refusing.close();
                refusing = null;
                // A socket closed while a thread accepts on it releases its port once that thread has left accept().
                acceptor.join(5_000);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot release the registry's port " + registryPort, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while releasing the registry's port", e);
        }
        registry = Poll.untilPresent("the registry to listen on port " + registryPort + " again", Duration.ofSeconds(10),
            () -> {
                try {
                    return Optional.of(SchemaRegistryServer.start(schemas, registryPort));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
    }

    @Override
    public long registryConnectionsRefused() {
        return refused.get();
    }

    @Override
    public synchronized void close() {
        startRegistry();
        registry.close();
        registry = null;
        kafka.close();
    }

    @Override
    public String toString() {
        return "embedded " + kafka.brokerCount() + "-node cluster";
    }
}
