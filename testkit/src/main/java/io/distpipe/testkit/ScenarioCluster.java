package io.distpipe.testkit;

import java.util.Set;

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
