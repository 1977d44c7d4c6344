package io.distpipe.topics.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.membership.Heartbeat;
import io.distpipe.primes.PrimeFound;
import io.distpipe.primes.TaskMessage;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.Samples;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.SchemaRegistries;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class AvroJsonFormatterTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String url = "mem://formatter-test-" + System.nanoTime();
    private final AvroSerdes serdes = AvroSerdes.connect(url);

    private AvroJsonFormatter formatter(Map<String, String> extra) {
        AvroJsonFormatter formatter = new AvroJsonFormatter();
        java.util.HashMap<String, String> configs = new java.util.HashMap<>(extra);
        configs.put(AvroJsonFormatter.REGISTRY_URL_CONFIG, url);
        formatter.configure(configs);
        return formatter;
    }

    private static ConsumerRecord<byte[], byte[]> record(String topic, byte[] key, byte[] value,
                                                         RecordHeaders headers) {
        return new ConsumerRecord<>(topic, 2, 17L, 1_700_000_000_000L, TimestampType.CREATE_TIME, -1, -1, key, value,
            headers, Optional.empty());
    }

    private static JsonNode print(AvroJsonFormatter formatter, ConsumerRecord<byte[], byte[]> record)
        throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            formatter.writeTo(record, out);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertThat(text).as("one line").endsWith("\n").hasLineCount(1);
        return JSON.readTree(text);
    }

    private byte[] prime(long n) {
        PrimeFound found = PrimeFound.newBuilder().setNumber(Numbers.toBytes(java.math.BigInteger.valueOf(n)))
            .setJobId("job-1").setTaskId("job-1/a.txt#0").setWorkerId("worker-1").setProbable(false).build();
        return serdes.valueSerde(Topics.PRIMES_UNIQUE).serializer().serialize(Topics.PRIMES_UNIQUE.name(), found);
    }

    private byte[] key(String k) {
        return serdes.keySerde(Topics.PRIMES_UNIQUE).serializer().serialize(Topics.PRIMES_UNIQUE.name(), k);
    }

    @Test
    void shouldPrintAnAvroRecordAsOneJsonLineWithItsCoordinates() throws Exception {
        JsonNode line = print(formatter(Map.of()), record("primes.unique", key("97"), prime(97), new RecordHeaders()));

        assertThat(line.get("topic").asText()).isEqualTo("primes.unique");
        assertThat(line.get("partition").asInt()).isEqualTo(2);
        assertThat(line.get("offset").asLong()).isEqualTo(17);
        assertThat(line.get("timestamp").asLong()).isEqualTo(1_700_000_000_000L);
        assertThat(line.get("key").asText()).isEqualTo("97");
        assertThat(line.get("value").get("number").asText()).as("big integers print in decimal").isEqualTo("97");
        assertThat(line.get("value").get("jobId").asText()).isEqualTo("job-1");
        assertThat(line.get("value").get("probable").asBoolean()).isFalse();
        assertThat(line.has("keySchemaId")).as("schema ids only on request").isFalse();
        assertThat(line.has("headers")).isFalse();
        assertThat(line.has("error")).isFalse();
    }

    @Test
    void shouldLeaveOutTheFieldsTheConsoleConsumersPrintSwitchesTurnOff() throws Exception {
        JsonNode line = print(formatter(Map.of("print.key", "false", "print.timestamp", "false", "print.offset",
            "true")), record("primes.unique", key("97"), prime(97), new RecordHeaders()));

        assertThat(line.has("key")).isFalse();
        assertThat(line.has("timestamp")).isFalse();
        assertThat(line.get("offset").asLong()).isEqualTo(17);
        assertThat(line.get("value").get("number").asText()).isEqualTo("97");
        assertThat(line.get("topic").asText()).as("the topic is always there").isEqualTo("primes.unique");
    }

    @Test
    void shouldPrintTheSchemaIdsWhenAsked() throws Exception {
        byte[] value = prime(2);
        JsonNode line = print(formatter(Map.of(AvroJsonFormatter.PRINT_SCHEMA_ID_CONFIG, "true")),
            record("primes.unique", key("2"), value, new RecordHeaders()));

        int valueId = serdes.registry().version(Topics.PRIMES_UNIQUE.valueSubject(), -1).id();
        int keyId = serdes.registry().version(Topics.PRIMES_UNIQUE.keySubject(), -1).id();
        assertThat(line.get("valueSchemaId").asInt()).isEqualTo(valueId);
        assertThat(line.get("keySchemaId").asInt()).isEqualTo(keyId);
        assertThat(keyId).isNotEqualTo(valueId);
    }

    @Test
    void shouldPrintNestedRecordsArraysAndHugeNumbers() throws Exception {
        TaskMessage message = (TaskMessage) Samples.sampleOf(TaskMessage.class);
        byte[] value = serdes.valueSerde(Topics.PRIMES_TASKS).serializer().serialize("primes.tasks", message);

        JsonNode line = print(formatter(Map.of()), record("primes.tasks", null, value, new RecordHeaders()));

        JsonNode payload = line.get("value").get("payload");
        assertThat(line.get("key").isNull()).isTrue();
        assertThat(payload.get("taskId").asText()).isEqualTo("job-1/a.txt#0");
        assertThat(payload.get("numbers").get(0).asText()).isEqualTo(Samples.HUGE.toString());
        assertThat(payload.get("createdAt").asLong()).isEqualTo(Samples.NOW.toEpochMilli());
        assertThat(payload.get("packed").isTextual()).as("other bytes print as base64").isTrue();
    }

    @Test
    void shouldPrintDeadLetterBytesAsBase64WithTheirHeaders() throws Exception {
        byte[] poison = {0, 0, 0, 0x7f, 1, 2, 3};
        RecordHeaders headers = new RecordHeaders();
        headers.add("reason", "unknown schema id 127".getBytes(StandardCharsets.UTF_8));
        headers.add("source.offset", new byte[] {(byte) 0xff, 0});

        JsonNode line = print(formatter(Map.of()), record(Topics.PRIMES_TASKS_DLQ.name(), "k".getBytes(
            StandardCharsets.UTF_8), poison, headers));

        assertThat(line.get("value").get("base64").asText()).isEqualTo(Base64.getEncoder().encodeToString(poison));
        assertThat(line.get("key").get("base64").asText()).isEqualTo("aw==");
        assertThat(line.get("headers").get("reason").asText()).isEqualTo("unknown schema id 127");
        assertThat(line.get("headers").get("source.offset").get("base64").asText()).isEqualTo("/wA=");
        assertThat(line.has("error")).as("raw bytes are not an error on a raw topic").isFalse();
    }

    @Test
    void shouldPrintAnErrorObjectAndGoOnWhenTheSchemaIdIsUnknown() throws Exception {
        AvroJsonFormatter formatter = formatter(Map.of());
        byte[] unknown = ByteBuffer.allocate(7).put((byte) 0).putInt(424_242).put((byte) 2).put((byte) 0x61).array();

        JsonNode bad = print(formatter, record("primes.unique", key("3"), unknown, new RecordHeaders()));
        JsonNode good = print(formatter, record("primes.unique", key("5"), prime(5), new RecordHeaders()));

        assertThat(bad.get("offset").asLong()).isEqualTo(17);
        assertThat(bad.get("key").asText()).isEqualTo("3");
        assertThat(bad.get("value").get("error").asText()).contains("schema id 424242", url);
        assertThat(bad.get("value").get("base64").asText()).isEqualTo(Base64.getEncoder().encodeToString(unknown));
        assertThat(bad.get("error").asText()).startsWith("value: schema id 424242");
        assertThat(good.get("value").get("number").asText()).isEqualTo("5");
    }

    @Test
    void shouldReportCorruptAvroAndUnframedBytesOnAnAvroTopic() throws Exception {
        AvroJsonFormatter formatter = formatter(Map.of());
        byte[] value = prime(7);
        byte[] truncated = java.util.Arrays.copyOf(value, value.length - 3);

        JsonNode corrupt = print(formatter, record("primes.unique", key("7"), truncated, new RecordHeaders()));
        JsonNode unframed = print(formatter, record("primes.unique", "7".getBytes(StandardCharsets.UTF_8), value,
            new RecordHeaders()));

        assertThat(corrupt.get("error").asText()).startsWith("value: not a valid Avro datum");
        assertThat(unframed.get("error").asText()).startsWith("key: not in the Confluent wire format");
        assertThat(unframed.get("value").get("number").asText()).isEqualTo("7");
    }

    @Test
    void shouldPrintPlainStringAndLongKeysOfForeignTopics() throws Exception {
        byte[] longKey = ByteBuffer.allocate(8).putLong(123_456_789_012L).array();
        Heartbeat beat = (Heartbeat) Samples.sampleOf(Heartbeat.class);
        byte[] avroValue = serdes.valueSerde(Topics.MEMBERSHIP_HEARTBEATS).serializer().serialize("some.topic", beat);

        JsonNode text = print(formatter(Map.of()), record("some.topic", "hello".getBytes(StandardCharsets.UTF_8),
            avroValue, new RecordHeaders()));
        JsonNode number = print(formatter(Map.of(AvroJsonFormatter.KEY_FORMAT_CONFIG, "long",
            AvroJsonFormatter.VALUE_FORMAT_CONFIG, "string")), record("some.topic", longKey,
            "plain text".getBytes(StandardCharsets.UTF_8), new RecordHeaders()));

        assertThat(text.get("key").asText()).isEqualTo("hello");
        assertThat(text.get("value").get("memberId").asText()).as("framed bytes found by sniffing")
            .isEqualTo("worker-2");
        assertThat(number.get("key").asLong()).isEqualTo(123_456_789_012L);
        assertThat(number.get("value").asText()).isEqualTo("plain text");
    }

    @Test
    void shouldRefuseToStartWithoutARegistryUrlOrWithABadOption() {
        assertThatThrownBy(() -> new AvroJsonFormatter().configure(Map.of()))
            .isInstanceOf(ConfigException.class).hasMessageContaining("schema.registry.url");
        assertThatThrownBy(() -> new AvroJsonFormatter().configure(Map.of(AvroJsonFormatter.REGISTRY_URL_CONFIG,
            "ftp://x"))).isInstanceOf(ConfigException.class).hasMessageContaining("http://");
        assertThatThrownBy(() -> formatter(Map.of(AvroJsonFormatter.PRINT_SCHEMA_ID_CONFIG, "yes")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("print.schema.id");
        assertThatThrownBy(() -> formatter(Map.of(AvroJsonFormatter.KEY_FORMAT_CONFIG, "xml")))
            .isInstanceOf(ConfigException.class).hasMessageContaining("auto, avro, string, long, bytes");
        assertThat(SchemaRegistries.connect(url)).isNotNull();
    }
}
