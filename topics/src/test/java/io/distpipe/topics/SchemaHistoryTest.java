package io.distpipe.topics;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every released version of a value schema lives in src/test/resources/schema-history/NAME/vN.avsc. The current
 * schema must read data written with each of them (BACKWARD_TRANSITIVE), and the newest one must equal the current
 * schema: changing a schema means adding its new version to the history, where this test checks it.
 */
class SchemaHistoryTest {

    static Stream<Class<?>> recordTypes() {
        return Topics.ALL.stream().filter(Topics::isAvro).flatMap(t -> Stream.of(t.keyType(), t.valueType()))
            .filter(c -> c.getPackageName().startsWith("io.distpipe")).distinct();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("recordTypes")
    void shouldReadDataWrittenWithEveryReleasedVersion(Class<?> type) throws IOException {
        Schema current = TopicAdmin.schemaOf(type);
        List<Schema> history = history(type.getName());

        assertThat(history).as("released versions of " + type.getName()).isNotEmpty();
        for (int v = 0; v < history.size(); v++) {
            SchemaCompatibility.SchemaPairCompatibility result =
                SchemaCompatibility.checkReaderWriterCompatibility(current, history.get(v));
            assertThat(result.getType()).as("current %s reading v%d: %s", type.getSimpleName(), v + 1,
                result.getDescription()).isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
        }
        assertThat(history.get(history.size() - 1))
            .as("newest released version of %s equals the current schema (add vN.avsc when you change it)",
                type.getSimpleName())
            .isEqualTo(current);
    }

    private static List<Schema> history(String fullName) throws IOException {
        List<Schema> result = new ArrayList<>();
        for (int v = 1; ; v++) {
            try (InputStream in = SchemaHistoryTest.class.getResourceAsStream(
                "/schema-history/" + fullName + "/v" + v + ".avsc")) {
                if (in == null) {
                    return result;
                }
                result.add(new Schema.Parser().parse(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
            }
        }
    }
}
