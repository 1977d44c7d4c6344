package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.primes.NumberParser;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client no one here wrote reads our records: the Node.js script in {@code interop/} (kafkajs and
 * {@code @kafkajs/confluent-schema-registry}, installed with {@code npm ci} from the committed lockfile) consumes
 * {@code primes.unique} of a real primes job and decodes the Avro values through our HTTP registry.
 */
class NodeInteropIT {

    private static final Path INTEROP = Path.of("..", "interop").toAbsolutePath().normalize();
    private static final long NPM_TIMEOUT_S = 300;
    private static final long NODE_TIMEOUT_S = 120;

    @TempDir
    Path dir;

    private record Result(int code, String out, String err) {
    }

    private Result exec(List<String> command, long timeoutS) throws Exception {
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command).directory(INTEROP.toFile())
            .redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().put("npm_config_update_notifier", "false");
        Process process = builder.start();
        if (!process.waitFor(timeoutS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", command) + " did not finish within " + timeoutS + " s; "
                + "stderr: " + Files.readString(err));
        }
        return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
    }

    private static boolean runs(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Test
    void shouldDecodeTheUniquePrimesOfARealRunWithKafkajsThroughTheRegistry() throws Exception {
        Assumptions.assumeTrue(runs("node", "--version"), "node is not installed (apt-get install nodejs npm): "
            + "the foreign-client check is skipped");
        Assumptions.assumeTrue(runs("npm", "--version"), "npm is not installed (apt-get install npm): "
            + "the foreign-client check is skipped");

        Result install = exec(List.of("npm", "ci", "--no-audit", "--no-fund"), NPM_TIMEOUT_S);
        assertThat(install.code()).as("npm ci in %s failed:%n%s%n%s", INTEROP, install.out(), install.err())
            .isZero();

        Path input = Files.createDirectories(dir.resolve("input"));
        PrimesOracle oracle = new PrimesOracle(2_000);
        oracle.writeRange(input.resolve("small.txt"), 0, 2_000);
        // Numbers beyond a long travel as BigInteger bytes: the foreign reader must decode those too.
        oracle.writeRandom(input.resolve("huge.txt"), 300, 90, 11);
        assertThat(oracle.expectedLines()).anySatisfy(p -> assertThat(new BigInteger(p).bitLength()).isEqualTo(90));
        try (EmbeddedKafka kafka = EmbeddedKafka.startTemporary();
             SchemaRegistryServer registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0)) {
            Files.createDirectories(dir.resolve("work"));
            new PrimesJob(new PrimesJob.Config(input, dir.resolve("primes.txt"), 1, kafka.bootstrapServers(),
                registry.url(), 500, NumberParser.DEFAULT_MAX_DIGITS, dir.resolve("work")), new PrimesJob.Observer() {
                }).run();

            Result read = exec(List.of("node", "consume-primes.js", "--bootstrap", kafka.bootstrapServers(),
                "--registry", registry.url(), "--topic", "primes.unique", "--idle-ms", "3000", "--timeout-ms",
                "60000"), NODE_TIMEOUT_S);

            assertThat(read.code()).as("node consume-primes.js: %s", read.err()).isZero();
            List<String> decoded = new ArrayList<>(read.out().lines().toList());
            decoded.sort(Comparator.comparing(BigInteger::new));
            assertThat(decoded).as("primes decoded by kafkajs, each once").isEqualTo(oracle.expectedLines());
            assertThat(read.err()).contains(oracle.expectedCount() + " records from primes.unique, 0 not decodable");
        }
    }
}
