package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Client properties as a user gives them: a file, --property on top, the protected keys, the child JVMs. */
class ClientPropertiesTest {

    @TempDir
    Path dir;

    @AfterEach
    void reset() {
        ClientProperties.use(null, List.of());
    }

    private Path file(String... lines) throws Exception {
        Path file = dir.resolve("client.properties");
        Files.write(file, List.of(lines));
        return file;
    }

    @Test
    void shouldLayerPropertiesOverTheFile() throws Exception {
        Path file = file("security.protocol=SASL_SSL", "sasl.mechanism = SCRAM-SHA-512", "# a comment");
        Map<String, String> merged = ClientProperties.parse(file, List.of("sasl.mechanism=PLAIN",
            "sasl.jaas.config=x required a=\"b=c\";"));
        assertThat(merged).containsExactlyInAnyOrderEntriesOf(Map.of("security.protocol", "SASL_SSL",
            "sasl.mechanism", "PLAIN", "sasl.jaas.config", "x required a=\"b=c\";"));
    }

    @Test
    void shouldRefuseWhatDistpipesGuaranteesRestOnAndSayWhy() throws Exception {
        assertThatThrownBy(() -> ClientProperties.parse(null, List.of("acks=1")))
            .hasMessage("client property acks cannot be set: exactly once depends on it");
        assertThatThrownBy(() -> ClientProperties.parse(file("isolation.level=read_uncommitted"), List.of()))
            .hasMessageStartingWith("client property isolation.level cannot be set: exactly once depends on it");
        assertThatThrownBy(() -> ClientProperties.parse(null, List.of("bootstrap.servers=h:1")))
            .hasMessage("client property bootstrap.servers cannot be set: give the cluster with --bootstrap-servers");
        assertThatThrownBy(() -> ClientProperties.parse(null, List.of("transactional.id=mine")))
            .hasMessageContaining("each component sets its own");
        assertThatThrownBy(() -> ClientProperties.parse(null, List.of("security.protocol")))
            .hasMessage("--property takes key=value, not 'security.protocol'");
        assertThatThrownBy(() -> ClientProperties.parse(dir.resolve("missing.properties"), List.of()))
            .hasMessageStartingWith("cannot read the client properties file " + dir.resolve("missing.properties"));
    }

    @Test
    void shouldGiveEveryKafkaClientThePropertiesUnderItsOwnSettingsAndTheRegistryItsCredentials() throws Exception {
        ClientProperties.use(file("security.protocol=SASL_PLAINTEXT", "basic.auth.user.info=reg:secret"),
            List.of("request.timeout.ms=7000"));
        assertThat(ClientProperties.any()).isTrue();
        assertThat(ClientProperties.kafka()).containsOnlyKeys("security.protocol", "request.timeout.ms");
        assertThat(ClientProperties.registryUserInfo()).isEqualTo("reg:secret");

        Map<String, Object> consumer = KafkaClients.consumer("h:1", "g", "c", 0);
        assertThat(consumer).containsEntry("security.protocol", "SASL_PLAINTEXT")
            .containsEntry("request.timeout.ms", "7000").containsEntry(ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed").containsEntry("bootstrap.servers", "h:1").doesNotContainKey("basic.auth.user.info");
        assertThat(KafkaClients.producer("h:1", "p")).containsEntry("security.protocol", "SASL_PLAINTEXT")
            .containsEntry(ProducerConfig.ACKS_CONFIG, "all");
        assertThat(StreamsService.exactlyOnceConfig("app", "h:1")).containsEntry("security.protocol",
            "SASL_PLAINTEXT").containsEntry("processing.guarantee", "exactly_once_v2");

        ClientProperties.use(null, List.of());
        assertThat(ClientProperties.any()).as("back to the environment's (none here)").isFalse();
        assertThat(KafkaClients.consumer("h:1", "g", "c", 0)).doesNotContainKey("security.protocol");
    }

    @Test
    void shouldHandChildJvmsTheFileOrAPrivateCopyWithEveryProperty() throws Exception {
        Path file = file("security.protocol=SASL_PLAINTEXT");
        ClientProperties.use(file, List.of());
        assertThat(ClientProperties.childEnvironment()).containsExactly(Map.entry(ClientProperties.ENV,
            file.toAbsolutePath().toString()));

        ClientProperties.use(file, List.of("sasl.mechanism=SCRAM-SHA-512"));
        Path copy = Path.of(ClientProperties.childEnvironment().get(ClientProperties.ENV));
        assertThat(copy).isNotEqualTo(file.toAbsolutePath());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(copy))).isEqualTo("rw-------");
        Properties read = new Properties();
        try (var reader = Files.newBufferedReader(copy)) {
            read.load(reader);
        }
        assertThat(read).containsOnly(Map.entry("security.protocol", "SASL_PLAINTEXT"),
            Map.entry("sasl.mechanism", "SCRAM-SHA-512"));
        // A child reads it as its environment's.
        assertThat(ClientProperties.fromEnvironment(Map.of(ClientProperties.ENV, copy.toString())))
            .containsEntry("sasl.mechanism", "SCRAM-SHA-512");
        assertThatThrownBy(() -> ClientProperties.fromEnvironment(Map.of(ClientProperties.ENV,
            dir.resolve("gone").toString()))).hasMessageStartingWith(ClientProperties.ENV + " names ");
    }
}
