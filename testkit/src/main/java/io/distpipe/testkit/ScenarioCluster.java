package io.distpipe.testkit;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntConsumer;

import io.distpipe.cluster.AdminCalls;
import io.distpipe.common.Poll;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;

/**
 * The small view of a running system that the scenario tests are written against: brokers and a schema registry,
 * whatever runs them (in-process nodes here, containers where Docker runs), and a way to stop and start a broker.
 */
public interface ScenarioCluster extends AutoCloseable {

    public String bootstrapServers();

    /** A registry speaking the Confluent REST API, reachable from this JVM and from worker JVMs it starts. */
    public String registryUrl();

    public int brokerCount();

    /** Ids of the brokers that run now. */
    public Set<Integer> runningBrokers();

    /** Takes a broker away from the cluster (it keeps its data). */
    public void stopBroker(int id);

    /** Brings a broker stopped by {@link #stopBroker} back. */
    public void startBroker(int id);

    /**
     * A rolling restart as an operator does it: each running broker in turn stops (controlled shutdown), starts
     * again, and the next one waits until every partition of every topic has all its replicas in sync again, so that
     * no committed record depends on the broker about to stop. {@code stopping} hears each broker's id just before
     * it stops.
     */
    public default void rollingRestart(Duration catchUp, IntConsumer stopping) {
        for (int id : new TreeSet<>(runningBrokers())) {
            stopping.accept(id);
            stopBroker(id);
            startBroker(id);
            awaitFullyReplicated(catchUp);
        }
    }

    /** Waits until no partition of any topic (internal ones included) is under-replicated. */
    public default void awaitFullyReplicated(Duration timeout) {
        try (Admin admin = AdminCalls.create(bootstrapServers(), "scenario-replication-check")) {
            Poll.until("every partition to have all its replicas in sync", timeout, () -> {
                Set<String> names = AdminCalls.get(admin.listTopics(new ListTopicsOptions().listInternal(true))
                    .names());
                Map<String, TopicDescription> topics = AdminCalls.get(admin.describeTopics(names).allTopicNames());
                return topics.values().stream().flatMap(t -> t.partitions().stream())
                    .allMatch(ScenarioCluster::inSync);
            });
        }
    }

    private static boolean inSync(TopicPartitionInfo partition) {
        List<Integer> replicas = partition.replicas().stream().map(Node::id).toList();
        return partition.leader() != null && !partition.leader().isEmpty()
            && partition.isr().stream().map(Node::id).toList().containsAll(replicas);
    }

    /** Takes the schema registry away (it keeps its schemas): nothing answers at {@link #registryUrl()}. */
    public void stopRegistry();

    /** Brings the registry stopped by {@link #stopRegistry} back at the same URL. */
    public void startRegistry();

    /**
     * Connections to the registry refused since the last {@link #stopRegistry}: who needed it while it was down. -1
     * where they cannot be counted.
     */
    public long registryConnectionsRefused();

    @Override
    public void close();
}
