package io.distpipe.topics;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import io.distpipe.topics.registry.SchemaRegistry;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the catalog's topics on a cluster (idempotently) and registers their key and value schemas. */
public final class TopicAdmin {

    private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);

    private static final long TIMEOUT_SECONDS = 30;

    /**
     * What {@link #ensureTopics} found or did for one topic.
     *
     * @param aligned the configs of an existing topic that differed from the catalog and were set to its values
     */
    public record Outcome(TopicSpec<?, ?> spec, boolean created, int partitions, int replication,
                          List<String> aligned) {
    }

    /**
     * The configs an existing topic is brought back to when they differ from the catalog: how long its records live.
     * A topic created by an older release (primes.completed was once delete/7 days) would otherwise keep losing
     * the state a restart reads back.
     */
    static final List<String> ALIGNED_CONFIGS = List.of(TopicConfig.CLEANUP_POLICY_CONFIG,
        TopicConfig.RETENTION_MS_CONFIG);

    private TopicAdmin() {
    }

    /**
     * Creates every topic of {@code specs} that does not exist yet, with replication capped at the live brokers and
     * at {@code maxReplication}; of an existing topic, sets the {@link #ALIGNED_CONFIGS} that differ from the catalog
     * and leaves the rest alone (and reports its layout).
     */
    public static List<Outcome> ensureTopics(Admin admin, Collection<TopicSpec<?, ?>> specs, int maxReplication) {
        try {
            int brokers = admin.describeCluster().nodes().get(TIMEOUT_SECONDS, TimeUnit.SECONDS).size();
            Set<String> existing = admin.listTopics().names().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            List<NewTopic> toCreate = new ArrayList<>();
            for (TopicSpec<?, ?> spec : specs) {
                if (!existing.contains(spec.name())) {
                    short replication = spec.effectiveReplication(brokers, maxReplication);
                    toCreate.add(new NewTopic(spec.name(), spec.partitions(), replication)
                        .configs(spec.configs(replication)));
                }
            }
            Set<String> created = new HashSet<>();
            Set<String> refused = new TreeSet<>();
            admin.createTopics(toCreate).values().forEach((name, future) -> {
                try {
                    future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    created.add(name);
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof TopicAuthorizationException) {
                        // A secured cluster: this principal may neither see nor create the topic. Not ours.
                        refused.add(name);
                    } else if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new KafkaException("Cannot create topic " + name + ": " + e.getCause().getMessage(),
                            e.getCause());
                    }
                } catch (InterruptedException | TimeoutException e) {
                    throw failure("create topic " + name, e);
                }
            });
            if (!refused.isEmpty()) {
                LOG.info("Not allowed to see or create {} topics (on a secured cluster an administrator creates "
                    + "them with `distpipe topics create`); leaving them alone: {}.", refused.size(), refused);
            }
            List<TopicSpec<?, ?>> ours = specs.stream().filter(spec -> !refused.contains(spec.name())).toList();
            Map<String, TopicDescription> descriptions = describeCreated(admin,
                ours.stream().map(TopicSpec::name).collect(Collectors.toList()));
            Map<String, List<String>> aligned = align(admin, ours.stream()
                .filter(spec -> !created.contains(spec.name())).toList());
            List<Outcome> outcomes = new ArrayList<>();
            for (TopicSpec<?, ?> spec : ours) {
                TopicDescription d = descriptions.get(spec.name());
                outcomes.add(new Outcome(spec, created.contains(spec.name()), d.partitions().size(),
                    d.partitions().get(0).replicas().size(), aligned.getOrDefault(spec.name(), List.of())));
            }
            return outcomes;
        } catch (ExecutionException e) {
            throw new KafkaException("Cannot set up topics: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw failure("set up topics", e);
        }
    }

    /** Sets the {@link #ALIGNED_CONFIGS} of existing topics that differ from the catalog; returns what it set. */
    private static Map<String, List<String>> align(Admin admin, List<TopicSpec<?, ?>> existing)
        throws ExecutionException, InterruptedException, TimeoutException {
        if (existing.isEmpty()) {
            return Map.of();
        }
        Map<ConfigResource, TopicSpec<?, ?>> resources = new LinkedHashMap<>();
        existing.forEach(spec -> resources.put(new ConfigResource(ConfigResource.Type.TOPIC, spec.name()), spec));
        Map<ConfigResource, Config> current;
        try {
            current = admin.describeConfigs(resources.keySet()).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TopicAuthorizationException) {
                LOG.info("Not allowed to read the topics' configs (a secured cluster); not aligning them with the "
                    + "catalog: an administrator's `distpipe topics create` does.");
                return Map.of();
            }
            throw e;
        }
        Map<ConfigResource, Collection<AlterConfigOp>> changes = new LinkedHashMap<>();
        Map<String, List<String>> aligned = new LinkedHashMap<>();
        resources.forEach((resource, spec) -> {
            Map<String, String> wanted = spec.configs((short) 1);
            for (String name : ALIGNED_CONFIGS) {
                ConfigEntry entry = current.get(resource).get(name);
                String value = wanted.get(name);
                if (entry == null || !value.equals(entry.value())) {
                    changes.computeIfAbsent(resource, r -> new ArrayList<>())
                        .add(new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET));
                    aligned.computeIfAbsent(spec.name(), n -> new ArrayList<>())
                        .add(name + "=" + value + " (was " + (entry == null ? "unset" : entry.value()) + ")");
                }
            }
        });
        if (!changes.isEmpty()) {
            admin.incrementalAlterConfigs(changes).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            aligned.forEach((topic, what) -> LOG.info("Topic {} differed from the catalog; set {}.", topic, what));
        }
        return aligned;
    }

    /**
     * Describes topics that were just created: the broker that answers may not have their metadata yet
     * (UnknownTopicOrPartition), so that answer is retried until {@link #TIMEOUT_SECONDS} have passed.
     */
    private static Map<String, TopicDescription> describeCreated(Admin admin, List<String> names)
        throws ExecutionException, InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (true) {
            try {
                return admin.describeTopics(names).allTopicNames().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw e;
                }
                TimeUnit.MILLISECONDS.sleep(100);
            }
        }
    }

    /** Registers the key and value schema of each topic under {@code <topic>-key} and {@code <topic>-value}. */
    public static void registerSchemas(SchemaRegistry registry, Collection<TopicSpec<?, ?>> specs) {
        for (TopicSpec<?, ?> spec : specs) {
            if (!Topics.isAvro(spec)) {
                continue;
            }
            registry.register(spec.keySubject(), schemaOf(spec.keyType()).toString());
            registry.register(spec.valueSubject(), schemaOf(spec.valueType()).toString());
        }
    }

    /** The Avro schema of a catalog type: a generated record class, or a Java type of an Avro primitive. */
    public static Schema schemaOf(Class<?> type) {
        if (type == String.class) {
            return Schema.create(Schema.Type.STRING);
        }
        if (type == Long.class) {
            return Schema.create(Schema.Type.LONG);
        }
        if (type == Integer.class) {
            return Schema.create(Schema.Type.INT);
        }
        return SpecificData.get().getSchema(type);
    }

    private static KafkaException failure(String what, Exception e) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        return new KafkaException("Timed out or interrupted trying to " + what + " (is the cluster reachable?)", e);
    }
}
