package io.distpipe.topics.registry;

/** One version of a subject as the registry stores it. */
public record RegisteredSchema(String subject, int version, int id, String schema) {
}
