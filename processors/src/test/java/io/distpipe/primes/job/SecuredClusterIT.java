package io.distpipe.primes.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.cluster.Scram;
import io.distpipe.common.ClientProperties;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.testkit.ConsoleCapture;
import io.distpipe.testkit.PrimesOracle;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The primes job on a broker whose only client listener is SASL/SCRAM-SHA-512: given its login with
 * {@code --command-config} (or, for the JVMs a job starts, through {@link ClientProperties#ENV}) every client
 * connects and the output is exact; without credentials, or with a wrong password, a command fails in one sentence.
 */
class SecuredClusterIT extends SaslClusterFixture {

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.startTemporary(new Scram("distpipe", "pw-" + UUID.randomUUID()));
        SchemaRegistryServer registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
        use(kafka.bootstrapServers(), registry.url(), () -> {
            registry.close();
            kafka.close();
        });
    }

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @Test
    void shouldRunThePrimesCommandExactlyWithItsLoginInACommandConfig() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        PrimesOracle oracle = new PrimesOracle(30_000);
        oracle.writeRange(input.resolve("a.txt"), 0, 30_000);
        Path output = dir.resolve("primes.txt");

        int code = Cli.run("primes", "--input", input.toString(), "--output", output.toString(), "--workers", "2",
            "-b", kafka.bootstrapServers(), "-r", registryUrl, "--command-config",
            config(kafka.clientProperties()).toString());

        assertThat(code).as(console.err()).isEqualTo(Cli.EXIT_OK);
        assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
    }

    @Test
    void shouldHandTheLoginToAWorkerJvmAndStayExactlyOnce() throws Exception {
        // A file and a --property: the worker JVM gets a private copy of both through the environment.
        Map<String, String> login = new LinkedHashMap<>(kafka.clientProperties());
        String jaas = login.remove("sasl.jaas.config");
        assertExactWithAWorkerJvm(config(login), List.of("sasl.jaas.config=" + jaas),
            config(kafka.clientProperties()), 20_000);
    }

    @Test
    void shouldFailInOneSentenceWithoutCredentialsOrWithAWrongPassword() throws Exception {
        Map<String, String> wrong = new Scram("distpipe", "not-the-password").clientProperties();
        int refused = Cli.run("primes", "status", "-b", kafka.bootstrapServers(), "-r", registryUrl,
            "--command-config", config(wrong).toString());
        assertThat(refused).as(console.err()).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(console.err()).isEqualTo("distpipe primes status: The Kafka cluster at " + kafka.bootstrapServers()
            + " refused the login: Authentication failed during authentication due to invalid credentials with SASL "
            + "mechanism SCRAM-SHA-512.\n");

        // Plain text to a SASL listener: the broker closes every connection, so nothing ever answers.
        console.resetErr();
        System.setProperty(KafkaClients.REACH_TIMEOUT_PROPERTY, "2000");
        int anonymous;
        try {
            anonymous = Cli.run("primes", "status", "-b", kafka.bootstrapServers(), "-r", registryUrl);
        } finally {
            System.clearProperty(KafkaClients.REACH_TIMEOUT_PROPERTY);
        }
        assertThat(anonymous).as(console.err()).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(console.err()).isEqualTo("distpipe primes status: Cannot reach the Kafka cluster at "
            + kafka.bootstrapServers() + " within 2 s.\n");
    }
}
