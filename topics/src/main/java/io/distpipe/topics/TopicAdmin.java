package io.distpipe.topics;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import io.distpipe.topics.registry.SchemaRegistry;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/** Creates the catalog's topics on a cluster (idempotently) and registers their key and value schemas. */
public final class TopicAdmin {

    private static final long TIMEOUT_SECONDS = 30;

    /** What {@link #ensureTopics} found or did for one topic. */
    public record Outcome(TopicSpec<?, ?> spec, boolean created, int partitions, int replication) {
    }

    private TopicAdmin() {
    }

    /**
     * Creates every topic of {@code specs} that does not exist yet, with replication capped at the live brokers and
     * at {@code maxReplication}; leaves existing topics alone (and reports their layout).
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
            admin.createTopics(toCreate).values().forEach((name, future) -> {
                try {
                    future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    created.add(name);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new KafkaException("Cannot create topic " + name + ": " + e.getCause().getMessage(),
                            e.getCause());
                    }
                } catch (InterruptedException | TimeoutException e) {
                    throw failure("create topic " + name, e);
                }
            });
            Map<String, TopicDescription> descriptions = describeCreated(admin,
                specs.stream().map(TopicSpec::name).collect(Collectors.toList()));
            List<Outcome> outcomes = new ArrayList<>();
            for (TopicSpec<?, ?> spec : specs) {
                TopicDescription d = descriptions.get(spec.name());
                outcomes.add(new Outcome(spec, created.contains(spec.name()), d.partitions().size(),
                    d.partitions().get(0).replicas().size()));
            }
            return outcomes;
        } catch (ExecutionException e) {
            throw new KafkaException("Cannot set up topics: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw failure("set up topics", e);
        }
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
