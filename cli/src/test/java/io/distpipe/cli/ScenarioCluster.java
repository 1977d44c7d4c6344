package io.distpipe.cli;

import java.util.Set;

/**
 * The small view of a running system that the scenario tests are written against: brokers and a schema registry,
 * whatever runs them (in-process nodes here, containers where Docker runs), and a way to stop and start a broker.
 */
interface ScenarioCluster extends AutoCloseable {

    String bootstrapServers();

    /** A registry speaking the Confluent REST API, reachable from this JVM and from worker JVMs it starts. */
    String registryUrl();

    int brokerCount();

    /** Ids of the brokers that run now. */
    Set<Integer> runningBrokers();

    /** Takes a broker away from the cluster (it keeps its data). */
    void stopBroker(int id);

    /** Brings a broker stopped by {@link #stopBroker} back. */
    void startBroker(int id);

    @Override
    void close();
}
