package io.distpipe.topics.registry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Opens a registry from a URL: {@code http(s)://…} is a Confluent-REST registry, {@code mem://NAME} is in-memory. */
public final class SchemaRegistries {

    public static final String MEMORY_SCHEME = "mem://";

    private static final Map<String, InMemorySchemaRegistry> MEMORY = new ConcurrentHashMap<>();

    private SchemaRegistries() {
    }

    public static SchemaRegistry connect(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("No schema registry URL given");
        }
        if (url.startsWith(MEMORY_SCHEME)) {
            return MEMORY.computeIfAbsent(url.substring(MEMORY_SCHEME.length()), n -> new InMemorySchemaRegistry());
        }
        if (url.startsWith("http://") || url.startsWith("https://")) {
            return new ConfluentRestSchemaRegistry(url);
        }
        throw new IllegalArgumentException("Schema registry URL must start with http://, https:// or "
            + MEMORY_SCHEME + ": " + url);
    }
}
