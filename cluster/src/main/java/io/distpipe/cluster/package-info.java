/**
 * Kafka clusters for local runs and tests: {@link io.distpipe.cluster.EmbeddedKafka} (one in-process KRaft node),
 * {@link io.distpipe.cluster.MultiNodeCluster} (several in-process brokers that can be stopped and restarted) and
 * {@link io.distpipe.cluster.BrokerProcess} (a node in a child JVM that can be killed), all behind the small
 * {@link io.distpipe.common.KafkaCluster} interface and sharing {@link io.distpipe.cluster.BrokerSettings}.
 */
package io.distpipe.cluster;

