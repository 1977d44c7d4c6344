package io.distpipe.topics.registry;

import java.util.List;
import java.util.Optional;

/**
 * The subset of the Confluent Schema Registry model distpipe needs: subjects hold versions of schemas, every distinct
 * schema text has one global id, and a new version must be compatible with the latest under the subject's rule.
 */
public interface SchemaRegistry extends AutoCloseable {

    /** Registers {@code schema} under {@code subject} (or finds it there) and returns its global id. */
    int register(String subject, String schema);

    /** The schema text with this global id. */
    String schemaById(int id);

    /** The version of {@code subject} whose schema is {@code schema}, if registered. */
    Optional<RegisteredSchema> lookup(String subject, String schema);

    /** A version of a subject; {@code version} -1 means the latest. */
    RegisteredSchema version(String subject, int version);

    /** Whether {@code schema} could be registered now as the next version of {@code subject}. */
    boolean isCompatible(String subject, String schema);

    List<String> subjects();

    List<Integer> versions(String subject);

    /** The global compatibility level (BACKWARD, NONE, ...). */
    String compatibilityLevel();

    void setCompatibilityLevel(String level);

    @Override
    default void close() {
    }
}
