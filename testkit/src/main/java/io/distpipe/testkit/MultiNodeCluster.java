package io.distpipe.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import io.distpipe.cluster.AdminCalls;
import io.distpipe.cluster.BrokerSettings;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.Poll;
import kafka.server.BrokerServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.errors.TransactionalIdNotFoundException;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.bootstrap.BootstrapMetadata;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;
import org.apache.kafka.server.config.ServerConfigs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A several-broker KRaft cluster in this JVM, built on Kafka's {@link KafkaClusterTestKit}, whose brokers can be
 * stopped and restarted one at a time with their data.
 */
public final class MultiNodeCluster implements KafkaCluster {

    private static final Logger LOG = LoggerFactory.getLogger(MultiNodeCluster.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration BROKER_TIMEOUT = Duration.ofSeconds(60);
    private static final String PROBE_NAME = "distpipe-readiness-probe";
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    /**
     * How many brokers and controllers to run and whether controllers share a JVM-internal node with a broker.
     *
     * @param brokers     number of brokers, ids 0..brokers-1
     * @param controllers number of KRaft controllers; odd, so a majority survives one loss
     * @param combined    true: controllers run inside brokers 0..controllers-1; false: separate controller nodes
     */
    public record Layout(int brokers, int controllers, boolean combined) {
        public Layout {
            if (brokers < 1) {
                throw new IllegalArgumentException("brokers must be at least 1, got " + brokers);
            }
            if (controllers < 1) {
                throw new IllegalArgumentException("controllers must be at least 1, got " + controllers);
            }
            if (combined && controllers > brokers) {
                throw new IllegalArgumentException("a combined layout cannot have more controllers (" + controllers
                        + ") than brokers (" + brokers + ")");
            }
        }

        /** Brokers with 3 combined controllers among them (1 when there are fewer than 3 brokers). */
        public static Layout combined(int brokers) {
            return new Layout(brokers, brokers >= 3 ? 3 : 1, true);
        }

        /** Brokers and a separate controller quorum. */
        public static Layout separate(int brokers, int controllers) {
            return new Layout(brokers, controllers, false);
        }
    }

    private final String id;
    private final KafkaClusterTestKit kit;
    private final Layout layout;
    private final String bootstrapServers;
    private final Set<Integer> running = new ConcurrentSkipListSet<>();
    private final ExecutorService lifecycle;
    private final AtomicBoolean closed = new AtomicBoolean();

    private MultiNodeCluster(String id, KafkaClusterTestKit kit, Layout layout, ExecutorService lifecycle) {
        this.id = id;
        this.kit = kit;
        this.layout = layout;
        this.lifecycle = lifecycle;
        this.running.addAll(kit.brokers().keySet());
        ListenerName listener = kit.nodes().brokerListenerName();
        // Restarted brokers get their old port back (the test kit re-binds it), so this address stays valid.
        this.bootstrapServers = kit.brokers().entrySet().stream()
                .map(entry -> Utils.formatAddress("localhost", entry.getValue().boundPort(listener)))
                .collect(Collectors.joining(","));
    }

    /** Starts {@code brokers} brokers with combined controllers (see {@link Layout#combined(int)}). */
    public static MultiNodeCluster start(int brokers) {
        return start(Layout.combined(brokers), Map.of());
    }

    /** Starts {@code brokers} brokers with combined controllers and server property {@code overrides}. */
    public static MultiNodeCluster start(int brokers, Map<String, String> overrides) {
        return start(Layout.combined(brokers), overrides);
    }

    /**
     * Starts the given layout with {@link BrokerSettings#forCluster(int)} and then {@code overrides} on every node,
     * and returns once every broker is registered, topics can be created and the internal offsets and transaction
     * topics exist (so a broker stopped later cannot keep them from being created).
     */
    public static MultiNodeCluster start(Layout layout, Map<String, String> overrides) {
        String id = "cluster-" + SEQUENCE.incrementAndGet();
        long startNanos = System.nanoTime();
        KafkaClusterTestKit kit = build(layout, overrides);
        ExecutorService lifecycle = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, id + "-lifecycle");
            thread.setDaemon(true);
            return thread;
        });
        MultiNodeCluster cluster = null;
        try {
            kit.format();
            // Starting brokers together with several controllers raced; controllers first is what KafkaRaftServer does.
            startAll(lifecycle, "controller", kit.controllers().values().stream()
                    .map(controller -> (Runnable) controller::startup).toList());
            startAll(lifecycle, "broker", kit.brokers().values().stream()
                    .map(broker -> (Runnable) broker::startup).toList());
            cluster = new MultiNodeCluster(id, kit, layout, lifecycle);
            cluster.awaitReady();
        } catch (Exception e) {
            if (cluster != null) {
                cluster.close();
            } else {
                closeQuietly(id, kit);
                lifecycle.shutdownNow();
            }
            throw new IllegalStateException(id + ": the " + layout + " cluster did not start: " + e.getMessage(), e);
        }
        LOG.info("{}: {} broker(s) and {} {} controller(s) ready at {} in {} ms.", id, layout.brokers(),
                layout.controllers(), layout.combined() ? "combined" : "separate", cluster.bootstrapServers,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
        return cluster;
    }

    /** All brokers' addresses, stopped ones included (they come back on the same port). */
    @Override
    public String bootstrapServers() {
        return bootstrapServers;
    }

    @Override
    public int brokerCount() {
        return layout.brokers();
    }

    /** The layout this cluster was started with. */
    public Layout layout() {
        return layout;
    }

    /** Ids of all brokers, running or not. */
    public Set<Integer> brokerIds() {
        return Set.copyOf(new TreeSet<>(kit.brokers().keySet()));
    }

    /** Ids of the brokers that are running now. */
    public Set<Integer> runningBrokers() {
        return Set.copyOf(running);
    }

    /** The cluster id all nodes were formatted with. */
    public String clusterId() {
        return kit.nodes().clusterId();
    }

    /** Shuts one broker down cleanly (controlled shutdown), keeping its data; a combined controller keeps running. */
    public void stopBroker(int nodeId) {
        BrokerServer broker = broker(nodeId);
        if (!running.contains(nodeId)) {
            throw new IllegalStateException(id + ": broker " + nodeId + " is already stopped.");
        }
        long startNanos = System.nanoTime();
        runBounded("stop broker " + nodeId, () -> {
            broker.shutdown();
            broker.awaitShutdown();
        });
        running.remove(nodeId);
        LOG.info("{}: broker {} stopped in {} ms; running brokers {}.", id, nodeId,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), running);
    }

    /** Starts a stopped broker again on its old port and data, and waits until the cluster lists it. */
    public void startBroker(int nodeId) {
        BrokerServer broker = broker(nodeId);
        if (running.contains(nodeId)) {
            throw new IllegalStateException(id + ": broker " + nodeId + " is already running.");
        }
        long startNanos = System.nanoTime();
        runBounded("start broker " + nodeId, broker::startup);
        running.add(nodeId);
        try (Admin admin = admin()) {
            Poll.until(id + ": broker " + nodeId + " to be listed by describeCluster", BROKER_TIMEOUT,
                    () -> AdminCalls.get(admin.describeCluster().nodes()).stream()
                            .anyMatch(node -> node.id() == nodeId));
        }
        LOG.info("{}: broker {} restarted in {} ms; running brokers {}.", id, nodeId,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), running);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long startNanos = System.nanoTime();
        closeQuietly(id, kit);
        lifecycle.shutdownNow();
        running.clear();
        LOG.info("{}: cluster closed in {} ms.", id, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
    }

    private static KafkaClusterTestKit build(Layout layout, Map<String, String> overrides) {
        // Production metadata version AND feature levels: setting only the version would drop transaction.version 2.
        SortedMap<String, Short> featureLevels = new TreeMap<>();
        for (Feature feature : Feature.PRODUCTION_FEATURES) {
            featureLevels.put(feature.featureName(), feature.defaultLevel(MetadataVersion.LATEST_PRODUCTION));
        }
        BootstrapMetadata bootstrap = BootstrapMetadata.fromVersions(
                MetadataVersion.LATEST_PRODUCTION, featureLevels, "distpipe MultiNodeCluster");
        TestKitNodes nodes = new TestKitNodes.Builder(bootstrap)
                .setCombined(layout.combined())
                .setNumBrokerNodes(layout.brokers())
                .setNumControllerNodes(layout.controllers())
                .build();
        KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes);
        // The test kit enables unstable versions by default; clients should see what a real 4.3 broker offers.
        builder.setConfigProp(ServerConfigs.UNSTABLE_API_VERSIONS_ENABLE_CONFIG, "false");
        builder.setConfigProp(ServerConfigs.UNSTABLE_FEATURE_VERSIONS_ENABLE_CONFIG, "false");
        BrokerSettings.forCluster(layout.brokers()).forEach(builder::setConfigProp);
        overrides.forEach(builder::setConfigProp);
        try {
            return builder.build();
        } catch (Exception e) {
            throw new IllegalStateException("Could not build the " + layout + " test cluster: " + e.getMessage(), e);
        }
    }

    private static void startAll(ExecutorService executor, String role, List<Runnable> startups)
            throws InterruptedException, ExecutionException, TimeoutException {
        List<Future<?>> futures = new ArrayList<>();
        for (Runnable startup : startups) {
            futures.add(executor.submit(startup));
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        for (Future<?> future : futures) {
            try {
                future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                throw new TimeoutException("a " + role + " did not start within " + START_TIMEOUT.toSeconds() + " s");
            }
        }
    }

    private void awaitReady() {
        int replication = BrokerSettings.internalTopicReplication(layout.brokers());
        try (Admin admin = admin()) {
            Poll.until(id + ": all " + layout.brokers() + " brokers to register and accept topic creation",
                    START_TIMEOUT, () -> {
                        Collection<Node> nodes = AdminCalls.get(admin.describeCluster().nodes());
                        if (nodes.size() < layout.brokers()) {
                            return false;
                        }
                        NewTopic probe = new NewTopic(PROBE_NAME, 1, (short) replication);
                        CreateTopicsOptions validateOnly = new CreateTopicsOptions().validateOnly(true);
                        AdminCalls.get(admin.createTopics(List.of(probe), validateOnly).all());
                        return true;
                    });
            // Both internal topics are created on the first FindCoordinator request for their kind.
            Poll.until(id + ": the consumer offsets topic to be created", START_TIMEOUT, () -> {
                AdminCalls.get(admin.listConsumerGroupOffsets(PROBE_NAME).partitionsToOffsetAndMetadata());
                return true;
            });
            Poll.until(id + ": the transaction state topic to be created", START_TIMEOUT,
                    () -> transactionCoordinatorAnswers(admin));
        }
    }

    private static boolean transactionCoordinatorAnswers(Admin admin) {
        try {
            admin.describeTransactions(List.of(PROBE_NAME)).all()
                    .get(AdminCalls.CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TransactionalIdNotFoundException) {
                return true;
            }
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the transaction coordinator.", e);
        } catch (TimeoutException e) {
            return false;
        }
    }

    private Admin admin() {
        return AdminCalls.create(bootstrapServers, id + "-admin");
    }

    private BrokerServer broker(int nodeId) {
        if (closed.get()) {
            throw new IllegalStateException(id + " is closed.");
        }
        BrokerServer broker = kit.brokers().get(nodeId);
        if (broker == null) {
            throw new IllegalArgumentException(id + " has no broker " + nodeId + "; its brokers are "
                    + new TreeSet<>(kit.brokers().keySet()));
        }
        return broker;
    }

    private void runBounded(String what, Runnable action) {
        Future<?> future = lifecycle.submit(action);
        try {
            future.get(BROKER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(id + ": interrupted while waiting to " + what + ".", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(id + ": could not " + what + ": " + e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(id + ": could not " + what + " within " + BROKER_TIMEOUT.toSeconds()
                    + " s.", e);
        }
    }

    private static void closeQuietly(String id, KafkaClusterTestKit kit) {
        try {
            kit.close();
        } catch (Exception e) {
            LOG.warn("{}: the test cluster reported a problem while closing.", id, e);
        }
    }
}
