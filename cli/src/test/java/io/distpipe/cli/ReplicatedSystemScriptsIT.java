package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;

import io.distpipe.common.Poll;
import io.distpipe.testkit.PrimesOracle;
import org.junit.jupiter.api.Test;

/**
 * The replicated system (three brokers, replication 3, min.insync.replicas 2) as an operator runs it: a broker killed
 * with SIGKILL mid-run changes nothing in primes.txt. Its own class, so it runs beside {@link SystemScriptsIT} in the
 * other IT JVM.
 */
class ReplicatedSystemScriptsIT extends SystemScriptsFixture {

    @Test
    void shouldStayExactWhenABrokerOfTheReplicatedSystemIsKilled() throws Exception {
        // The broker failure is what this test is about: the other test runs Apicurio, this one the builtin registry.
        Map<String, String> env = systemEnv(freePortRun(6), "DISTPIPE_REGISTRY", "builtin");
        try {
            startSystem(env, "replicated", "3");
            assertThat(Files.readString(home.resolve("run/bootstrap")).split(",")).hasSize(3);

            PrimesOracle oracle = new PrimesOracle(300_000);
            oracle.writeRange(home.resolve("a.tmp"), 1, 300_000);
            Files.move(home.resolve("a.tmp"), home.resolve("data/input/a.txt"));
            Poll.until("the coordinator planned a.txt", Duration.ofSeconds(60),
                () -> log("coordinator").contains("a.txt"));
            kill("broker-3");

            awaitOutput(home.resolve("primes.txt"), oracle, 300_000);
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError(e.getMessage() + logTails(), e);
        } finally {
            stopSystem();
        }
        assertNoPidFiles();
    }
}
