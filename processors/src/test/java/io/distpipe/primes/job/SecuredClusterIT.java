package io.distpipe.primes.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.cluster.Scram;
import io.distpipe.common.ChildJvm;
import io.distpipe.common.ClientProperties;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.WorkerProcess;
import io.distpipe.common.command.Cli;
import io.distpipe.primes.plan.NumberParser;
import io.distpipe.testkit.PrimesAudit;
import io.distpipe.testkit.PrimesOracle;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The primes job on a broker whose only client listener is SASL/SCRAM-SHA-512: given its login with
 * {@code --command-config} (or, for the JVMs a job starts, through {@link ClientProperties#ENV}) every client
 * connects and the output is exact; without credentials, or with a wrong password, a command fails in one sentence.
 */
// A bound: a worker that cannot log in never completes a task, and the job itself would wait 24 h.
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SecuredClusterIT {

    private static EmbeddedKafka kafka;
    private static SchemaRegistryServer registry;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.startTemporary(new Scram("distpipe", "pw-" + UUID.randomUUID()));
        registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @AfterEach
    void reset() {
        ClientProperties.use(null, List.of());
        System.clearProperty(KafkaClients.REACH_TIMEOUT_PROPERTY);
    }

    private Path config(Map<String, String> properties) throws Exception {
        List<String> lines = new ArrayList<>();
        properties.forEach((k, v) -> lines.add(k + "=" + v.replace("\\", "\\\\")));
        return Files.write(dir.resolve("client-" + UUID.randomUUID() + ".properties"), lines);
    }

    /** Runs a command in this JVM; returns its exit code and what it printed on standard error. */
    private record Run(int code, String err) {
    }

    private static Run distpipe(String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return new Run(Cli.run(args), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(saved);
        }
    }

    @Test
    void shouldRunThePrimesCommandExactlyWithItsLoginInACommandConfig() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        PrimesOracle oracle = new PrimesOracle(30_000);
        oracle.writeRange(input.resolve("a.txt"), 0, 30_000);
        Path output = dir.resolve("primes.txt");

        Run run = distpipe("primes", "--input", input.toString(), "--output", output.toString(), "--workers", "2",
            "-b", kafka.bootstrapServers(), "-r", registry.url(), "--command-config",
            config(kafka.clientProperties()).toString());

        assertThat(run.code()).as(run.err()).isEqualTo(Cli.EXIT_OK);
        assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
    }

    @Test
    void shouldHandTheLoginToAWorkerJvmAndStayExactlyOnce() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        PrimesOracle oracle = new PrimesOracle(20_000);
        oracle.writeRange(input.resolve("b.txt"), 0, 20_000);
        Path output = dir.resolve("primes.txt");
        // A file and a --property: the worker JVM gets a private copy of both through the environment.
        Map<String, String> login = new java.util.LinkedHashMap<>(kafka.clientProperties());
        String jaas = login.remove("sasl.jaas.config");
        ClientProperties.use(config(login), List.of("sasl.jaas.config=" + jaas));

        try (ChildJvm worker = WorkerProcess.start("sasl-worker-1", kafka.bootstrapServers(), registry.url(),
            dir.resolve("logs"))) {
            PrimesJob.Result result = new PrimesJob(new PrimesJob.Config(input, output, 0, kafka.bootstrapServers(),
                registry.url(), 500, NumberParser.DEFAULT_MAX_DIGITS, Files.createDirectories(dir.resolve("work"))),
                new PrimesJob.Observer() { }).run();

            assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
            PrimesAudit audit = PrimesAudit.of(kafka.bootstrapServers(), registry.url(), result.jobId())
                .assertExactlyOnce(oracle.expected());
            assertThat(audit.completionsByWorker()).as("the worker JVM did every task").containsOnlyKeys(
                "sasl-worker-1");
            assertThat(worker.isAlive()).isTrue();
        }
    }

    @Test
    void shouldFailInOneSentenceWithoutCredentialsOrWithAWrongPassword() throws Exception {
        Map<String, String> wrong = new Scram("distpipe", "not-the-password").clientProperties();
        Run refused = distpipe("primes", "status", "-b", kafka.bootstrapServers(), "-r", registry.url(),
            "--command-config", config(wrong).toString());
        assertThat(refused.code()).as(refused.err()).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(refused.err()).isEqualTo("distpipe primes status: The Kafka cluster at " + kafka.bootstrapServers()
            + " refused the login: Authentication failed during authentication due to invalid credentials with SASL "
            + "mechanism SCRAM-SHA-512.\n");

        // Plain text to a SASL listener: the broker closes every connection, so nothing ever answers.
        System.setProperty(KafkaClients.REACH_TIMEOUT_PROPERTY, "2000");
        Run anonymous = distpipe("primes", "status", "-b", kafka.bootstrapServers(), "-r", registry.url());
        assertThat(anonymous.code()).as(anonymous.err()).isEqualTo(Cli.EXIT_FAILURE);
        assertThat(anonymous.err()).isEqualTo("distpipe primes status: Cannot reach the Kafka cluster at "
            + kafka.bootstrapServers() + " within 2 s.\n");
    }
}
