package io.distpipe.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import io.distpipe.cluster.BrokerSettings;
import io.distpipe.topics.registry.ConfluentRestSchemaRegistry;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.lifecycle.Startables;
import org.testcontainers.utility.DockerImageName;

/**
 * Three {@code apache/kafka} containers forming one KRaft quorum (each broker and controller) with the broker settings
 * of our test clusters, and an Apicurio Registry container; needs a Docker engine. A broker is "stopped" by pausing
 * its container (it stops answering, keeps its data and, unlike a restarted container, its published port, which
 * its advertised listener names).
 */
public final class ContainerScenarioCluster implements ScenarioCluster {

    public static final DockerImageName KAFKA_IMAGE = DockerImageName.parse("apache/kafka:4.3.1");
    public static final DockerImageName REGISTRY_IMAGE = DockerImageName.parse("apicurio/apicurio-registry:3.3.3");
    private static final String CCOMPAT = "/apis/ccompat/v7";

    private final Network network;
    private final List<KafkaContainer> brokers;
    private final GenericContainer<?> registry;
    private final Set<Integer> running = new TreeSet<>();

    private ContainerScenarioCluster(Network network, List<KafkaContainer> brokers, GenericContainer<?> registry) {
        this.network = network;
        this.brokers = brokers;
        this.registry = registry;
        IntStream.rangeClosed(1, brokers.size()).forEach(running::add);
    }

    public static ContainerScenarioCluster start(int count) {
        Network network = Network.newNetwork();
        String voters = IntStream.rangeClosed(1, count).mapToObj(i -> i + "@kafka-" + i + ":9094")
            .collect(Collectors.joining(","));
        List<KafkaContainer> brokers = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            String host = "kafka-" + i;
            KafkaContainer broker = new KafkaContainer(KAFKA_IMAGE).withNetwork(network).withNetworkAliases(host)
                .withCreateContainerCmdModifier(cmd -> cmd.withHostName(host))
                .withEnv("KAFKA_NODE_ID", Integer.toString(i))
                .withEnv("KAFKA_CONTROLLER_QUORUM_VOTERS", voters)
                .withEnv("KAFKA_DEFAULT_REPLICATION_FACTOR", Integer.toString(Math.min(3, count)))
                .withEnv("KAFKA_MIN_INSYNC_REPLICAS", Integer.toString(BrokerSettings.internalTopicMinIsr(count)));
            for (Map.Entry<String, String> setting : BrokerSettings.forCluster(count).entrySet()) {
                broker.withEnv("KAFKA_" + setting.getKey().toUpperCase().replace('.', '_'), setting.getValue());
            }
            brokers.add(broker);
        }
        GenericContainer<?> registry = new GenericContainer<>(REGISTRY_IMAGE).withNetwork(network)
            .withNetworkAliases("registry").withExposedPorts(8080)
            .waitingFor(Wait.forHttp(CCOMPAT + "/subjects").forStatusCode(200));
        List<GenericContainer<?>> all = new ArrayList<>(brokers);
        all.add(registry);
        try {
            // Together: no broker of a quorum is RUNNING (the wait strategy) before a majority runs.
            Startables.deepStart(all).join();
            ContainerScenarioCluster cluster = new ContainerScenarioCluster(network, brokers, registry);
            new ConfluentRestSchemaRegistry(cluster.registryUrl()).setCompatibilityLevel("BACKWARD");
            return cluster;
        } catch (RuntimeException e) {
            all.forEach(GenericContainer::stop);
            network.close();
            throw e;
        }
    }

    @Override
    public String bootstrapServers() {
        return brokers.stream().map(KafkaContainer::getBootstrapServers).collect(Collectors.joining(","));
    }

    @Override
    public String registryUrl() {
        return "http://" + registry.getHost() + ":" + registry.getMappedPort(8080) + CCOMPAT;
    }

    @Override
    public int brokerCount() {
        return brokers.size();
    }

    @Override
    public synchronized Set<Integer> runningBrokers() {
        return Set.copyOf(running);
    }

    @Override
    public synchronized void stopBroker(int id) {
        KafkaContainer broker = brokers.get(id - 1);
        broker.getDockerClient().pauseContainerCmd(broker.getContainerId()).exec();
        running.remove(id);
    }

    @Override
    public synchronized void startBroker(int id) {
        KafkaContainer broker = brokers.get(id - 1);
        broker.getDockerClient().unpauseContainerCmd(broker.getContainerId()).exec();
        running.add(id);
    }

    /** Paused, the registry container accepts connections but answers nothing: requests time out. */
    @Override
    public synchronized void stopRegistry() {
        registry.getDockerClient().pauseContainerCmd(registry.getContainerId()).exec();
    }

    @Override
    public synchronized void startRegistry() {
        registry.getDockerClient().unpauseContainerCmd(registry.getContainerId()).exec();
    }

    @Override
    public long registryConnectionsRefused() {
        return -1;
    }

    @Override
    public void close() {
        registry.stop();
        brokers.forEach(GenericContainer::stop);
        network.close();
    }

    @Override
    public String toString() {
        return brokers.size() + " apache/kafka containers";
    }
}
