/**
 * A replicated server over topics in the style of CMU 18-749: {@link io.distpipe.replicas.server.ReplicaState} (the
 * deterministic state machine), {@link io.distpipe.replicas.server.ReplicaCore} (a replica's roles and protocol, pure),
 * {@link io.distpipe.replicas.server.Replica} (one server replica, active or passive: the Kafka shell around its core),
 * {@link io.distpipe.replicas.server.ReplicaManagerTopology} (the RM: membership events to roles),
 * {@link io.distpipe.replicas.server.ReplicaClient} and {@link io.distpipe.replicas.server.HistoryChecker}. The LFD is
 * each replica's {@link io.distpipe.common.HeartbeatSender}; the GFD is the membership processor.
 */
package io.distpipe.replicas.server;
