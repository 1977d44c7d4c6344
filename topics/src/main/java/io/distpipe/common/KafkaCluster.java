package io.distpipe.common;

/** The small view of a running Kafka cluster that scenario tests are written against, whatever runs the brokers. */
public interface KafkaCluster extends AutoCloseable {

    /** Comma-separated {@code host:port} list for the clients' {@code bootstrap.servers}. */
    String bootstrapServers();

    /** Number of brokers the cluster was started with (running or not). */
    int brokerCount();

    /** Stops the cluster; calling it again does nothing. */
    @Override
    void close();
}
