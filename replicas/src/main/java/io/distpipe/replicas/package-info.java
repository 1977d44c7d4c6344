/**
 * Replicated servers over topics (active and passive replication, fault detectors, replica manager). The replica
 * code arrives with the replicas issue; the module exists now so the layout shows the architecture.
 */
package io.distpipe.replicas;
