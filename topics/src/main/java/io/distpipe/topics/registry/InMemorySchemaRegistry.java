package io.distpipe.topics.registry;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaParseException;

/**
 * A schema registry held in memory, with Confluent's semantics (global ids shared by equal schemas, BACKWARD
 * compatibility by default); used for single-JVM runs, unit tests and behind {@link SchemaRegistryServer}.
 */
public final class InMemorySchemaRegistry implements SchemaRegistry {

    public static final String DEFAULT_COMPATIBILITY = "BACKWARD";

    private final Map<String, Integer> idsByCanonical = new HashMap<>();
    private final Map<Integer, String> schemasById = new HashMap<>();
    private final Map<String, List<RegisteredSchema>> subjects = new LinkedHashMap<>();
    private String compatibility = DEFAULT_COMPATIBILITY;

    @Override
    public synchronized int register(String subject, String schemaText) {
        Schema schema = parse(schemaText);
        String canonical = schema.toString();
        Optional<RegisteredSchema> existing = lookup(subject, schemaText);
        if (existing.isPresent()) {
            return existing.get().id();
        }
        List<RegisteredSchema> versions = subjects.computeIfAbsent(subject, s -> new ArrayList<>());
        if (!versions.isEmpty()) {
            String incompatibility = incompatibility(versions, schema);
            if (incompatibility != null) {
                throw new SchemaRegistryException(SchemaRegistryException.INCOMPATIBLE_SCHEMA,
                    "Schema being registered is incompatible with an earlier schema for subject \"" + subject
                        + "\" (" + compatibility + "): " + incompatibility);
            }
        }
        int id = idsByCanonical.computeIfAbsent(canonical, c -> {
            int next = schemasById.size() + 1;
            schemasById.put(next, c);
            return next;
        });
        versions.add(new RegisteredSchema(subject, versions.size() + 1, id, schemasById.get(id)));
        return id;
    }

    @Override
    public synchronized String schemaById(int id) {
        String schema = schemasById.get(id);
        if (schema == null) {
            throw new SchemaRegistryException(SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema " + id + " not found");
        }
        return schema;
    }

    @Override
    public synchronized Optional<RegisteredSchema> lookup(String subject, String schemaText) {
        String canonical = parse(schemaText).toString();
        return subjects.getOrDefault(subject, List.of()).stream()
            .filter(v -> v.schema().equals(canonical))
            .findFirst();
    }

    @Override
    public synchronized RegisteredSchema version(String subject, int version) {
        List<RegisteredSchema> versions = versionsOf(subject);
        if (version == -1) {
            return versions.get(versions.size() - 1);
        }
        if (version < 1 || version > versions.size()) {
            throw new SchemaRegistryException(SchemaRegistryException.VERSION_NOT_FOUND,
                "Version " + version + " not found.");
        }
        return versions.get(version - 1);
    }

    @Override
    public synchronized boolean isCompatible(String subject, String schemaText) {
        List<RegisteredSchema> versions = subjects.getOrDefault(subject, List.of());
        return versions.isEmpty() || incompatibility(versions, parse(schemaText)) == null;
    }

    @Override
    public synchronized List<String> subjects() {
        return List.copyOf(subjects.keySet());
    }

    @Override
    public synchronized List<Integer> versions(String subject) {
        return versionsOf(subject).stream().map(RegisteredSchema::version).toList();
    }

    private List<RegisteredSchema> versionsOf(String subject) {
        List<RegisteredSchema> versions = subjects.get(subject);
        if (versions == null || versions.isEmpty()) {
            throw new SchemaRegistryException(SchemaRegistryException.SUBJECT_NOT_FOUND,
                "Subject '" + subject + "' not found.");
        }
        return versions;
    }

    @Override
    public synchronized String compatibilityLevel() {
        return compatibility;
    }

    @Override
    public synchronized void setCompatibilityLevel(String level) {
        String upper = level.toUpperCase(Locale.ROOT);
        if (!List.of("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
            "FULL_TRANSITIVE").contains(upper)) {
            throw new SchemaRegistryException(SchemaRegistryException.INVALID_COMPATIBILITY_LEVEL,
                "Invalid compatibility level: " + level);
        }
        compatibility = upper;
    }

    /** Null when {@code candidate} may follow {@code versions}, else why not. */
    private String incompatibility(List<RegisteredSchema> versions, Schema candidate) {
        if (compatibility.equals("NONE")) {
            return null;
        }
        boolean transitive = compatibility.endsWith("_TRANSITIVE");
        List<RegisteredSchema> against = transitive ? versions : List.of(versions.get(versions.size() - 1));
        for (RegisteredSchema previous : against) {
            Schema old = parse(previous.schema());
            if (compatibility.startsWith("BACKWARD") || compatibility.startsWith("FULL")) {
                String why = check(candidate, old);
                if (why != null) {
                    return "new schema cannot read data written with version " + previous.version() + ": " + why;
                }
            }
            if (compatibility.startsWith("FORWARD") || compatibility.startsWith("FULL")) {
                String why = check(old, candidate);
                if (why != null) {
                    return "version " + previous.version() + " cannot read data written with the new schema: " + why;
                }
            }
        }
        return null;
    }

    private static String check(Schema reader, Schema writer) {
        SchemaCompatibility.SchemaPairCompatibility result =
            SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
        if (result.getType() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            return null;
        }
        return result.getResult().getIncompatibilities().stream()
            .map(i -> i.getType() + " at " + i.getLocation() + " " + i.getMessage())
            .reduce((a, b) -> a + "; " + b)
            .orElse(result.getDescription());
    }

    private static Schema parse(String schemaText) {
        try {
            return new Schema.Parser().parse(schemaText);
        } catch (SchemaParseException | NullPointerException e) {
            throw new SchemaRegistryException(SchemaRegistryException.INVALID_SCHEMA,
                "Invalid schema: " + e.getMessage(), e);
        }
    }
}
