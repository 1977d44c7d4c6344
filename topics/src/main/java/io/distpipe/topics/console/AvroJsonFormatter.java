package io.distpipe.topics.console;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.SchemaRegistries;
import io.distpipe.topics.registry.SchemaRegistry;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.MessageFormatter;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.header.Header;

/**
 * A {@link MessageFormatter} for Kafka's console consumer that prints each record as one JSON object per line, the
 * Avro key and value (Confluent wire format) decoded with the writer schema fetched from the registry.
 *
 * <pre>
 * kafka-console-consumer.sh --topic primes.unique --from-beginning --isolation-level read_committed \
 *   --formatter io.distpipe.topics.console.AvroJsonFormatter \
 *   --formatter-property schema.registry.url=http://localhost:8081/apis/ccompat/v7
 * </pre>
 *
 * <p>A line holds {@code topic, partition, offset, timestamp, key, value}, {@code keySchemaId/valueSchemaId} with
 * {@code print.schema.id=true} and {@code headers} when the record has any. Bytes that are not Avro (dead-letter
 * topics keep the original bytes) print as {@code {"base64": "..."}}. A record that cannot be decoded (unknown
 * schema id, corrupt bytes) prints as {@code {"error": "...", "base64": "..."}} in its field, and the line gets a
 * top-level {@code "error"}; the formatter never stops the consumer.
 */
public final class AvroJsonFormatter implements MessageFormatter {

    public static final String REGISTRY_URL_CONFIG = "schema.registry.url";
    public static final String PRINT_SCHEMA_ID_CONFIG = "print.schema.id";
    public static final boolean PRINT_SCHEMA_ID_DEFAULT = false;
    public static final String PRINT_HEADERS_CONFIG = "print.headers";
    public static final boolean PRINT_HEADERS_DEFAULT = true;
    /** Kafka's console consumer's switches for the fields of a line (all printed unless set to false). */
    public static final List<String> PRINT_FIELD_CONFIGS = List.of("print.partition", "print.offset",
        "print.timestamp", "print.key", "print.value");
    /** How to read keys: auto (from the topic catalog, else by sniffing), avro, string, long or bytes. */
    public static final String KEY_FORMAT_CONFIG = "key.format";
    public static final String VALUE_FORMAT_CONFIG = "value.format";
    public static final String FORMAT_DEFAULT = "auto";

    private static final byte MAGIC = 0;
    private static final int HEADER = 5;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** How a key or a value is decoded. */
    enum Format {
        AUTO, AVRO, STRING, LONG, BYTES;

        static Format parse(String key, Object value) {
            String text = value == null ? FORMAT_DEFAULT : value.toString().trim();
            try {
                return valueOf(text.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key, text, "must be one of auto, avro, string, long, bytes");
            }
        }
    }

    private final Map<Integer, Schema> schemas = new ConcurrentHashMap<>();
    private SchemaRegistry registry;
    private boolean ownsRegistry;
    private String registryUrl;
    private boolean printSchemaId = PRINT_SCHEMA_ID_DEFAULT;
    private boolean printHeaders = PRINT_HEADERS_DEFAULT;
    /** The fields among {@link #PRINT_FIELD_CONFIGS} left out of every line ("key", "value", ...). */
    private Set<String> hidden = Set.of();
    private Format keyFormat = Format.AUTO;
    private Format valueFormat = Format.AUTO;

    public AvroJsonFormatter() {
    }

    /** A formatter over an already open registry (tests, and {@code distpipe consume}). */
    public AvroJsonFormatter(SchemaRegistry registry, String registryUrl) {
        this.registry = registry;
        this.registryUrl = registryUrl;
    }

    @Override
    public void configure(Map<String, ?> configs) {
        printSchemaId = bool(configs, PRINT_SCHEMA_ID_CONFIG, PRINT_SCHEMA_ID_DEFAULT);
        printHeaders = bool(configs, PRINT_HEADERS_CONFIG, PRINT_HEADERS_DEFAULT);
        Set<String> off = new HashSet<>();
        for (String field : PRINT_FIELD_CONFIGS) {
            if (!bool(configs, field, true)) {
                off.add(field.substring("print.".length()));
            }
        }
        hidden = Set.copyOf(off);
        keyFormat = Format.parse(KEY_FORMAT_CONFIG, configs.get(KEY_FORMAT_CONFIG));
        valueFormat = Format.parse(VALUE_FORMAT_CONFIG, configs.get(VALUE_FORMAT_CONFIG));
        if (registry == null) {
            Object url = configs.get(REGISTRY_URL_CONFIG);
            if (url == null || url.toString().isBlank()) {
                throw new ConfigException("AvroJsonFormatter needs --formatter-property " + REGISTRY_URL_CONFIG
                    + "=<registry URL> (for the Confluent REST API, e.g. http://localhost:8081/apis/ccompat/v7)");
            }
            registryUrl = url.toString().trim();
            try {
                registry = SchemaRegistries.connect(registryUrl);
                ownsRegistry = true;
            } catch (IllegalArgumentException e) {
                throw new ConfigException(REGISTRY_URL_CONFIG, registryUrl, e.getMessage());
            }
        }
    }

    private static boolean bool(Map<String, ?> configs, String key, boolean defaultValue) {
        Object value = configs.get(key);
        if (value == null) {
            return defaultValue;
        }
        String text = value.toString().trim().toLowerCase(Locale.ROOT);
        if (!text.equals("true") && !text.equals("false")) {
            throw new ConfigException(key, value, "must be true or false");
        }
        return Boolean.parseBoolean(text);
    }

    @Override
    public void writeTo(ConsumerRecord<byte[], byte[]> record, PrintStream output) {
        try {
            output.println(JSON.writeValueAsString(format(record)));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The JSON object printed for {@code record}. */
    public ObjectNode format(ConsumerRecord<byte[], byte[]> record) {
        if (registry == null) {
            throw new IllegalStateException("AvroJsonFormatter is not configured: " + REGISTRY_URL_CONFIG
                + " is missing");
        }
        TopicSpec<?, ?> spec = Topics.byName(record.topic()).orElse(null);
        ObjectNode line = NODES.objectNode();
        line.put("topic", record.topic());
        line.put("partition", record.partition());
        line.put("offset", record.offset());
        line.put("timestamp", record.timestamp());
        Decoded key = decode(record.key(), formatOf(keyFormat, spec, true));
        Decoded value = decode(record.value(), formatOf(valueFormat, spec, false));
        line.set("key", key.json());
        line.set("value", value.json());
        hidden.forEach(line::remove);
        if (printSchemaId) {
            line.set("keySchemaId", key.schemaId() == null ? NODES.nullNode() : NODES.numberNode(key.schemaId()));
            line.set("valueSchemaId", value.schemaId() == null ? NODES.nullNode()
                : NODES.numberNode(value.schemaId()));
        }
        if (printHeaders && record.headers().toArray().length > 0) {
            ObjectNode headers = NODES.objectNode();
            for (Header h : record.headers()) {
                headers.set(h.key(), h.value() == null ? NODES.nullNode() : textOrBytes(h.value()));
            }
            line.set("headers", headers);
        }
        if (key.error() != null || value.error() != null) {
            line.put("error", key.error() != null ? "key: " + key.error()
                : "value: " + value.error());
        }
        return line;
    }

    /** The declared format of a catalog topic when the user left it at auto. */
    private static Format formatOf(Format configured, TopicSpec<?, ?> spec, boolean isKey) {
        if (configured != Format.AUTO || spec == null) {
            return configured;
        }
        return Topics.isAvro(spec) ? Format.AVRO : Format.BYTES;
    }

    private record Decoded(JsonNode json, Integer schemaId, String error) {
        static Decoded plain(JsonNode json) {
            return new Decoded(json, null, null);
        }
    }

    private Decoded decode(byte[] bytes, Format format) {
        if (bytes == null) {
            return Decoded.plain(NODES.nullNode());
        }
        return switch (format) {
            case BYTES -> Decoded.plain(base64(bytes));
            case STRING -> Decoded.plain(NODES.textNode(new String(bytes, StandardCharsets.UTF_8)));
            case LONG -> bytes.length == Long.BYTES ? Decoded.plain(NODES.numberNode(ByteBuffer.wrap(bytes).getLong()))
                : failed(bytes, null, "expected 8 bytes of a long, found " + bytes.length);
            case AVRO -> avro(bytes);
            case AUTO -> bytes.length >= HEADER && bytes[0] == MAGIC ? avro(bytes) : Decoded.plain(textOrBytes(bytes));
        };
    }

    private Decoded avro(byte[] bytes) {
        if (bytes.length < HEADER || bytes[0] != MAGIC) {
            return failed(bytes, null, "not in the Confluent wire format (magic byte 0 and a 4-byte schema id)");
        }
        int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
        Schema schema;
        try {
            schema = schema(id);
        } catch (RuntimeException e) {
            return failed(bytes, id, "schema id " + id + " cannot be read from the registry at " + registryUrl
                + ": " + e.getMessage());
        }
        try {
            BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes, HEADER, bytes.length - HEADER, null);
            Object datum = new GenericDatumReader<>(schema).read(null, decoder);
            if (!decoder.isEnd()) {
                return failed(bytes, id, "bytes left over after the Avro datum of schema id " + id);
            }
            return new Decoded(toJson(datum, false), id, null);
        } catch (IOException | RuntimeException e) {
            return failed(bytes, id, "not a valid Avro datum of schema id " + id + ": " + e);
        }
    }

    private Schema schema(int id) {
        Schema known = schemas.get(id);
        if (known != null) {
            return known;
        }
        // Only successes are cached: a schema registered later must be found on the next record.
        Schema parsed = new Schema.Parser().parse(registry.schemaById(id));
        schemas.put(id, parsed);
        return parsed;
    }

    private static Decoded failed(byte[] bytes, Integer id, String reason) {
        ObjectNode node = NODES.objectNode();
        node.put("error", reason);
        node.put("base64", Base64.getEncoder().encodeToString(bytes));
        return new Decoded(node, id, reason);
    }

    private static ObjectNode base64(byte[] bytes) {
        ObjectNode node = NODES.objectNode();
        node.put("base64", Base64.getEncoder().encodeToString(bytes));
        return node;
    }

    /** UTF-8 text without control characters as a string, anything else as base64. */
    private static JsonNode textOrBytes(byte[] bytes) {
        try {
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
            boolean printable = text.chars().noneMatch(c -> c < 0x20 && c != '\t' && c != '\n' && c != '\r');
            return printable ? NODES.textNode(text) : base64(bytes);
        } catch (CharacterCodingException e) {
            return base64(bytes);
        }
    }

    /**
     * Avro's generic datum as plain JSON: unions print their branch's value, bytes and fixed as base64, except bytes
     * documented as {@code BigInteger#toByteArray} (our big integers), which print as decimal strings.
     */
    static JsonNode toJson(Object datum, boolean bigInteger) {
        if (datum == null) {
            return NODES.nullNode();
        }
        if (datum instanceof GenericRecord record) {
            ObjectNode node = NODES.objectNode();
            for (Schema.Field field : record.getSchema().getFields()) {
                boolean big = field.doc() != null && field.doc().contains("BigInteger#toByteArray");
                node.set(field.name(), toJson(record.get(field.pos()), big));
            }
            return node;
        }
        if (datum instanceof CharSequence || datum instanceof GenericEnumSymbol<?>) {
            return NODES.textNode(datum.toString());
        }
        if (datum instanceof ByteBuffer buffer) {
            byte[] bytes = new byte[buffer.remaining()];
            buffer.duplicate().get(bytes);
            return bigInteger && bytes.length > 0 ? NODES.textNode(new BigInteger(bytes).toString())
                : NODES.textNode(Base64.getEncoder().encodeToString(bytes));
        }
        if (datum instanceof GenericFixed fixed) {
            return NODES.textNode(Base64.getEncoder().encodeToString(fixed.bytes()));
        }
        if (datum instanceof Integer i) {
            return NODES.numberNode(i);
        }
        if (datum instanceof Long l) {
            return NODES.numberNode(l);
        }
        if (datum instanceof Float f) {
            return Float.isFinite(f) ? NODES.numberNode(f) : NODES.textNode(f.toString());
        }
        if (datum instanceof Double d) {
            return Double.isFinite(d) ? NODES.numberNode(d) : NODES.textNode(d.toString());
        }
        if (datum instanceof Boolean b) {
            return NODES.booleanNode(b);
        }
        if (datum instanceof Map<?, ?> map) {
            ObjectNode node = NODES.objectNode();
            map.forEach((k, v) -> node.set(k.toString(), toJson(v, bigInteger)));
            return node;
        }
        if (datum instanceof Collection<?> items) {
            ArrayNode node = NODES.arrayNode();
            items.forEach(item -> node.add(toJson(item, bigInteger)));
            return node;
        }
        return NODES.textNode(datum.toString());
    }

    @Override
    public void close() {
        if (registry != null && ownsRegistry) {
            registry.close();
        }
    }
}
