package io.distpipe.common;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Client properties a user gives for every Kafka client of this process, the way Kafka's own tools take them: a file
 * ({@code --command-config}, or {@value #ENV} in the environment) and {@code --property key=value} on top. They carry
 * what a secured or managed cluster needs (security.protocol, sasl.*, ssl.*, timeouts); the settings distpipe's
 * guarantees rest on cannot be overridden ({@link #refusal}). The schema registry's basic authentication
 * ({@code basic.auth.user.info}) is taken from the same place and kept away from the Kafka clients. Every JVM the
 * project starts inherits them through {@value #ENV} ({@link #childEnvironment}).
 *
 * <p>Written here rather than taken from Kafka: {@code Utils.loadProps} reads a file but knows neither the
 * {@code --property} layering, nor which keys must not change, nor the child processes.
 */
public final class ClientProperties {

    /** The environment variable naming a client properties file every distpipe JVM reads at start. */
    public static final String ENV = "DISTPIPE_COMMAND_CONFIG";

    /** Key prefixes for the registry client (Confluent's serde spelling), not for Kafka's. */
    static final List<String> REGISTRY_PREFIXES = List.of("schema.registry.", "basic.auth.");

    /**
     * Keys for the record formatter ({@code consume}, {@code replay}), as Kafka's console consumer takes them with
     * {@code --property}: print.* switches and the key/value formats. Not for the Kafka clients either.
     */
    static final List<String> FORMATTER_PREFIXES = List.of("print.", "key.format", "value.format");

    /**
     * Keys distpipe sets itself because exactly once, ordering, the wire format or the components' identities
     * depend on them, each with the reason a user reads when giving one.
     */
    private static final Map<String, String> PROTECTED = protectedKeys();

    private static volatile Map<String, String> current = Map.of();
    /** Why {@value #ENV} could not be used, or null: said by every client created while it stands. */
    private static volatile String unusable;
    /** What a child JVM gets in {@value #ENV}: the file given, or one written with every property; null if none. */
    private static volatile Path childFile;

    static {
        useEnvironment();
    }

    private ClientProperties() {
    }

    private static Map<String, String> protectedKeys() {
        Map<String, String> keys = new TreeMap<>();
        String identity = "each component sets its own, which fencing and recovery depend on";
        String exactlyOnce = "exactly once depends on it";
        keys.put("bootstrap.servers", "give the cluster with --bootstrap-servers");
        keys.put("client.id", identity);
        keys.put("group.id", identity);
        keys.put("group.instance.id", identity);
        keys.put("transactional.id", identity);
        keys.put("application.id", identity);
        keys.put("enable.idempotence", exactlyOnce);
        keys.put("acks", exactlyOnce);
        keys.put("isolation.level", exactlyOnce);
        keys.put("enable.auto.commit", exactlyOnce);
        keys.put("processing.guarantee", exactlyOnce);
        keys.put("key.serializer", "records are bytes on the wire, serialized by the components");
        keys.put("value.serializer", "records are bytes on the wire, serialized by the components");
        keys.put("key.deserializer", "records are bytes on the wire, deserialized by the components");
        keys.put("value.deserializer", "records are bytes on the wire, deserialized by the components");
        return Collections.unmodifiableMap(keys);
    }

    /** Why {@code key} may not be given, or null if it may. */
    public static String refusal(String key) {
        String why = PROTECTED.get(key);
        return why == null ? null : "client property " + key + " cannot be set: " + why;
    }

    /**
     * The properties of {@code file} (null: none) with {@code properties} ("key=value") on top, checked: an
     * unreadable file, a property without '=' or a protected key is an {@link IllegalArgumentException} saying so.
     */
    public static Map<String, String> parse(Path file, List<String> properties) {
        Map<String, String> merged = new TreeMap<>();
        if (file != null) {
            Properties loaded = new Properties();
            try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                loaded.load(reader);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read the client properties file " + file + ": "
                    + Errors.reason(e), e);
            }
            loaded.stringPropertyNames().forEach(k -> merged.put(k.strip(), loaded.getProperty(k).strip()));
        }
        for (String property : properties) {
            int eq = property.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--property takes key=value, not '" + property + "'");
            }
            merged.put(property.substring(0, eq).strip(), property.substring(eq + 1).strip());
        }
        for (String key : merged.keySet()) {
            String refused = refusal(key);
            if (refused != null) {
                throw new IllegalArgumentException(refused + (file == null ? "" : " (in " + file + " or a "
                    + "--property)"));
            }
        }
        return Collections.unmodifiableMap(merged);
    }

    /**
     * Makes {@code file} and {@code properties} this process's client properties (nothing given: those of
     * {@value #ENV}, as at start). Child JVMs get the file, or, with {@code --property} values, a copy of everything
     * in a file only the user can read, deleted when this JVM exits.
     */
    public static synchronized void use(Path file, List<String> properties) {
        if (file == null && properties.isEmpty()) {
            useEnvironment();
            return;
        }
        Map<String, String> merged = parse(file, properties);
        current = merged;
        unusable = null;
        childFile = properties.isEmpty() ? file.toAbsolutePath() : writePrivateCopy(merged);
    }

    private static void useEnvironment() {
        childFile = environmentFile(System.getenv());
        try {
            current = fromEnvironment(System.getenv());
            unusable = null;
        } catch (IllegalArgumentException e) {
            current = Map.of();
            unusable = e.getMessage();
        }
    }

    /** Whether any client property is in use. */
    public static boolean any() {
        return !checked().isEmpty();
    }

    private static Map<String, String> checked() {
        String why = unusable;
        if (why != null) {
            throw new IllegalArgumentException(why);
        }
        return current;
    }

    /** The properties for a Kafka client (registry and formatter keys left out), for callers to put theirs over. */
    public static Map<String, Object> kafka() {
        return new TreeMap<>(selected(key -> !under(REGISTRY_PREFIXES, key) && !under(FORMATTER_PREFIXES, key)));
    }

    /** The properties for the record formatter: those under {@link #FORMATTER_PREFIXES}. */
    public static Map<String, String> formatter() {
        return selected(key -> under(FORMATTER_PREFIXES, key));
    }

    /** The properties for the registry client: those under {@link #REGISTRY_PREFIXES}. */
    public static Map<String, String> registry() {
        return selected(key -> under(REGISTRY_PREFIXES, key));
    }

    private static boolean under(List<String> prefixes, String key) {
        return prefixes.stream().anyMatch(key::startsWith);
    }

    private static Map<String, String> selected(Predicate<String> keys) {
        Map<String, String> selected = new TreeMap<>(checked());
        selected.keySet().removeIf(keys.negate());
        return selected;
    }

    /** The schema registry's "user:password" (basic.auth.user.info, or its schema.registry. form), or null. */
    public static String registryUserInfo() {
        Map<String, String> properties = checked();
        String info = properties.get("schema.registry.basic.auth.user.info");
        return info != null ? info : properties.get("basic.auth.user.info");
    }

    /** What a child JVM's environment needs for the same client properties (empty when there are none). */
    public static Map<String, String> childEnvironment() {
        Path file = childFile;
        return file == null ? Map.of() : Map.of(ENV, file.toString());
    }

    static Map<String, String> fromEnvironment(Map<String, String> env) {
        Path file = environmentFile(env);
        if (file == null) {
            return Map.of();
        }
        try {
            return parse(file, List.of());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(ENV + " names " + file + ": " + e.getMessage(), e);
        }
    }

    private static Path environmentFile(Map<String, String> env) {
        String value = env.getOrDefault(ENV, "").strip();
        return value.isEmpty() ? null : Path.of(value).toAbsolutePath();
    }

    private static Path writePrivateCopy(Map<String, String> properties) {
        try {
            Path file = Files.createTempFile("distpipe-client-", ".properties",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            file.toFile().deleteOnExit();
            Properties copy = new Properties();
            copy.putAll(properties);
            try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                copy.store(writer, "distpipe client properties, for the JVMs this one starts");
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the client properties for child processes: "
                + Errors.reason(e), e);
        }
    }
}
