package io.distpipe.common;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * Kafka brokers for local runs and demos: the embedded broker of {@code distpipe primes}, {@code kv up} and the
 * demos, and the chat's quorum of broker JVMs. The cluster module provides it; systems find it with
 * {@link ServiceLoader}, so no system module depends on the broker's code at compile time (the build checks that).
 */
public interface LocalKafka {

    /** A combined broker and controller in a child JVM, to be killed and started again on its own data. */
    interface Node extends KafkaCluster {
        long pid();

        boolean isAlive();

        /** Whether it serves (it printed READY since it was last launched). */
        boolean isReady();

        /** SIGKILL. */
        void kill();

        /** Launches it again on its data directory if it is not running; does not wait. */
        void launchIfStopped();

        Path logFile();
    }

    /** A one-node cluster in this JVM on temporary storage, removed on close. */
    KafkaCluster startEmbedded();

    /**
     * {@code nodes} broker+controller JVMs (ids 1..nodes, data in {@code dir/node-<id>}), started together and
     * serving on return; {@code overrides} are server properties, {@code jvmOptions} go to every JVM.
     */
    List<Node> startQuorum(Path dir, int nodes, Map<String, String> overrides, List<String> jvmOptions);

    /** The one on the class path; a clear error if the cluster module is missing. */
    static LocalKafka get() {
        return ServiceLoader.load(LocalKafka.class).findFirst().orElseThrow(() -> new IllegalStateException(
            "No local Kafka broker is on the class path (the distpipe-cluster module provides it); give "
                + "--bootstrap-servers of a running cluster instead"));
    }
}
