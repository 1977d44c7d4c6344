package io.distpipe.topics.serde;

import java.util.HashMap;
import java.util.Map;

import io.apicurio.registry.resolver.config.SchemaResolverConfig;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import io.apicurio.registry.serde.avro.AvroSerdeConfig;
import io.apicurio.registry.serde.kafka.config.KafkaSerdeConfig;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.registry.ApicurioRegistryFacade;
import io.distpipe.topics.registry.SchemaRegistries;
import io.distpipe.topics.registry.SchemaRegistry;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Builds Avro serdes in the Confluent wire format (magic byte 0, 4-byte schema id, Avro binary), registering schemas
 * under {@code <topic>-key} and {@code <topic>-value}; one instance per registry, passed to whoever needs serdes.
 */
public final class AvroSerdes {

    private final SchemaRegistry registry;

    public AvroSerdes(SchemaRegistry registry) {
        this.registry = registry;
    }

    public static AvroSerdes connect(String registryUrl) {
        return new AvroSerdes(SchemaRegistries.connect(registryUrl));
    }

    public SchemaRegistry registry() {
        return registry;
    }

    public <K> Serde<K> keySerde(TopicSpec<K, ?> topic) {
        return serde(topic.keyType(), true);
    }

    public <V> Serde<V> valueSerde(TopicSpec<?, V> topic) {
        return serde(topic.valueType(), false);
    }

    public <T> Serde<T> serde(Class<T> type, boolean isKey) {
        return Serdes.serdeFrom(serializer(type, isKey), deserializer(type, isKey));
    }

    @SuppressWarnings("unchecked")
    public <T> Serializer<T> serializer(Class<T> type, boolean isKey) {
        Serializer<T> full = fullSerializer(type, isKey);
        return type == String.class ? (Serializer<T>) StringKeySerde.serializer((Serializer<String>) full) : full;
    }

    @SuppressWarnings("unchecked")
    public <T> Deserializer<T> deserializer(Class<T> type, boolean isKey) {
        Deserializer<T> full = fullDeserializer(type, isKey);
        return type == String.class ? (Deserializer<T>) StringKeySerde.deserializer((Deserializer<String>) full)
            : full;
    }

    /** The serializer that resolves the schema through Apicurio's resolver on every record. */
    <T> Serializer<T> fullSerializer(Class<T> type, boolean isKey) {
        AvroKafkaSerializer<T> inner = new AvroKafkaSerializer<>(new ApicurioRegistryFacade(registry));
        inner.configure(config(type, true), isKey);
        return new TypedSerializer<>(inner);
    }

    <T> Deserializer<T> fullDeserializer(Class<T> type, boolean isKey) {
        AvroKafkaDeserializer<Object> inner = new AvroKafkaDeserializer<>(new ApicurioRegistryFacade(registry));
        inner.configure(config(type, false), isKey);
        return new TypedDeserializer<>(type, inner);
    }

    /** A deserializer that yields generic records (or primitives) for whatever schema a record carries. */
    public Deserializer<Object> genericDeserializer(boolean isKey) {
        AvroKafkaDeserializer<Object> inner = new AvroKafkaDeserializer<>(new ApicurioRegistryFacade(registry));
        inner.configure(config(Object.class, false), isKey);
        return inner;
    }

    private static Map<String, Object> config(Class<?> type, boolean serializing) {
        Map<String, Object> config = new HashMap<>();
        config.put(SchemaResolverConfig.AUTO_REGISTER_ARTIFACT, serializing);
        config.put(KafkaSerdeConfig.ENABLE_HEADERS, false);
        // Register each schema whole, as Confluent's serializer does, not split into references per named type.
        config.put(SchemaResolverConfig.DEREFERENCE_SCHEMA, true);
        config.put(AvroSerdeConfig.USE_SPECIFIC_AVRO_READER, SpecificRecord.class.isAssignableFrom(type));
        config.put(AvroSerdeConfig.AVRO_DATUM_PROVIDER, SchemaIdentityDatumProvider.class.getName());
        return config;
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.toString() : root.getMessage();
    }

    private record TypedSerializer<T>(Serializer<T> inner) implements Serializer<T> {
        @Override
        public byte[] serialize(String topic, T data) {
            return serialize(topic, null, data);
        }

        @Override
        public byte[] serialize(String topic, Headers headers, T data) {
            if (data == null) {
                return null;
            }
            try {
                return headers == null ? inner.serialize(topic, data) : inner.serialize(topic, headers, data);
            } catch (RuntimeException e) {
                RegistryUnavailableException unavailable = RegistryUnavailableException.of(
                    "write a record to topic " + topic, e);
                throw unavailable != null ? unavailable : e;
            }
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    /** Checks that what was read is what the topic promises, and turns Avro strings into {@link String}. */
    private record TypedDeserializer<T>(Class<T> type, Deserializer<Object> inner) implements Deserializer<T> {
        @Override
        public T deserialize(String topic, byte[] data) {
            return deserialize(topic, null, data);
        }

        @Override
        public T deserialize(String topic, Headers headers, byte[] data) {
            if (data == null) {
                return null;
            }
            Object value;
            try {
                value = headers == null ? inner.deserialize(topic, data) : inner.deserialize(topic, headers, data);
            } catch (RuntimeException e) {
                RegistryUnavailableException unavailable = RegistryUnavailableException.of(
                    "read a record on topic " + topic, e);
                if (unavailable != null) {
                    throw unavailable;
                }
                if (e instanceof SerializationException) {
                    throw e;
                }
                throw new SerializationException("Cannot read a record on topic " + topic + ": " + rootMessage(e), e);
            }
            return cast(topic, value);
        }

        private T cast(String topic, Object value) {
            Object result = type == String.class && value instanceof CharSequence ? value.toString() : value;
            if (!type.isInstance(result)) {
                throw new SerializationException("A record on topic " + topic + " holds "
                    + (result == null ? "null" : result.getClass().getName()) + ", not the " + type.getName()
                    + " the topic catalog declares");
            }
            return type.cast(result);
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
