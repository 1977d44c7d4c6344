package io.distpipe.topics.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The same registry behaviour, in memory and through the Confluent REST API over HTTP on loopback. */
class SchemaRegistryContractTest {

    private static final String V1 = """
        {"type":"record","name":"Greeting","namespace":"test","fields":[{"name":"text","type":"string"}]}""";
    private static final String V2_WITH_DEFAULT = """
        {"type":"record","name":"Greeting","namespace":"test","fields":[{"name":"text","type":"string"},
         {"name":"lang","type":"string","default":"en"}]}""";
    private static final String V2_WITHOUT_DEFAULT = """
        {"type":"record","name":"Greeting","namespace":"test","fields":[{"name":"text","type":"string"},
         {"name":"lang","type":"string"}]}""";

    private static SchemaRegistryServer server;
    private static int subjectCounter;

    @BeforeAll
    static void startServer() throws IOException {
        server = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    static Stream<SchemaRegistry> registries() {
        return Stream.of(new InMemorySchemaRegistry(), new ConfluentRestSchemaRegistry(server.url()));
    }

    private static String newSubject() {
        return "subject-" + (++subjectCounter) + "-value";
    }

    @ParameterizedTest
    @MethodSource("registries")
    void shouldGiveTheSameIdToTheSameSchemaUnderAnySubject(SchemaRegistry registry) {
        int first = registry.register(newSubject(), V1);
        int second = registry.register(newSubject(), V1);
        String subject = newSubject();
        int third = registry.register(subject, V1);

        assertThat(second).isEqualTo(first);
        assertThat(registry.register(subject, V1)).isEqualTo(third);
        assertThat(registry.versions(subject)).containsExactly(1);
        assertThat(registry.schemaById(first)).contains("Greeting");
    }

    @ParameterizedTest
    @MethodSource("registries")
    void shouldAcceptABackwardCompatibleChange(SchemaRegistry registry) {
        String subject = newSubject();
        int v1 = registry.register(subject, V1);

        assertThat(registry.isCompatible(subject, V2_WITH_DEFAULT)).isTrue();
        int v2 = registry.register(subject, V2_WITH_DEFAULT);

        assertThat(v2).isNotEqualTo(v1);
        assertThat(registry.version(subject, -1)).satisfies(latest -> {
            assertThat(latest.version()).isEqualTo(2);
            assertThat(latest.id()).isEqualTo(v2);
        });
        assertThat(registry.lookup(subject, V1)).hasValueSatisfying(s -> assertThat(s.version()).isEqualTo(1));
    }

    @ParameterizedTest
    @MethodSource("registries")
    void shouldRefuseAnIncompatibleChange(SchemaRegistry registry) {
        String subject = newSubject();
        registry.register(subject, V1);

        assertThat(registry.isCompatible(subject, V2_WITHOUT_DEFAULT)).isFalse();
        assertThatThrownBy(() -> registry.register(subject, V2_WITHOUT_DEFAULT))
            .isInstanceOfSatisfying(SchemaRegistryException.class,
                e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.INCOMPATIBLE_SCHEMA))
            .hasMessageContaining("incompatible")
            .hasMessageContaining("lang");
        assertThat(registry.versions(subject)).containsExactly(1);
    }

    @ParameterizedTest
    @MethodSource("registries")
    void shouldAnswerNotFoundForUnknownIdsAndSubjects(SchemaRegistry registry) {
        assertThatThrownBy(() -> registry.schemaById(987_654))
            .isInstanceOfSatisfying(SchemaRegistryException.class,
                e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.SCHEMA_NOT_FOUND));
        assertThatThrownBy(() -> registry.version("no-such-subject", -1))
            .isInstanceOfSatisfying(SchemaRegistryException.class,
                e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.SUBJECT_NOT_FOUND));
        assertThat(registry.lookup("no-such-subject", V1)).isEmpty();
    }

    @ParameterizedTest
    @MethodSource("registries")
    void shouldAllowAnyChangeWhenCompatibilityIsNone(SchemaRegistry registry) {
        String subject = newSubject();
        registry.register(subject, V1);
        String before = registry.compatibilityLevel();
        registry.setCompatibilityLevel("NONE");
        try {
            registry.register(subject, V2_WITHOUT_DEFAULT);
            assertThat(registry.versions(subject)).containsExactly(1, 2);
        } finally {
            registry.setCompatibilityLevel(before);
        }
        assertThat(registry.compatibilityLevel()).isEqualTo("BACKWARD");
    }

    @ParameterizedTest
    @MethodSource("registries")
    void shouldRejectTextThatIsNoSchema(SchemaRegistry registry) {
        assertThatThrownBy(() -> registry.register(newSubject(), "{\"type\":\"nonsense\"}"))
            .isInstanceOfSatisfying(SchemaRegistryException.class,
                e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.INVALID_SCHEMA));
    }

    @org.junit.jupiter.api.Test
    void shouldReportAnUnreachableRegistryInOneSentence() {
        SchemaRegistry unreachable = new ConfluentRestSchemaRegistry("http://127.0.0.1:1");

        assertThatThrownBy(unreachable::subjects)
            .isInstanceOfSatisfying(SchemaRegistryException.class,
                e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.UNREACHABLE))
            .hasMessageStartingWith("Schema registry at http://127.0.0.1:1 is unreachable");
    }
}
