package io.distpipe.primes.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.ClientProperties;
import io.distpipe.common.WorkerProcess;
import io.distpipe.primes.plan.NumberParser;
import io.distpipe.testkit.PrimesAudit;
import io.distpipe.testkit.PrimesOracle;
import io.distpipe.testkit.ResetClientProperties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker whose only client listener is SASL/SCRAM-SHA-512 and an HTTP registry (started by the subclass, per test
 * class), and a primes job whose only worker is a JVM of its own logged in through {@link ClientProperties#ENV}.
 */
// A bound: a worker that cannot log in (or is refused what it needs) never completes a task, and the job itself
// would wait 24 h.
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@ExtendWith(ResetClientProperties.class)
abstract class SaslClusterFixture {

    static String bootstrap;
    static String registryUrl;
    private static AutoCloseable resources;

    @TempDir
    Path dir;

    /** The cluster of the subclass: where it is, and what to close after its tests. */
    static void use(String bootstrapServers, String registry, AutoCloseable toClose) {
        bootstrap = bootstrapServers;
        registryUrl = registry;
        resources = toClose;
    }

    @AfterAll
    static void stop() throws Exception {
        if (resources != null) {
            resources.close();
            resources = null;
        }
    }

    /** A client properties file holding {@code properties}. */
    Path config(Map<String, String> properties) throws Exception {
        List<String> lines = new ArrayList<>();
        properties.forEach((k, v) -> lines.add(k + "=" + v));
        return Files.write(dir.resolve("client-" + UUID.randomUUID() + ".properties"), lines);
    }

    /**
     * Runs a job on the numbers up to {@code upTo}: its only worker a JVM started with {@code workerConfig} and
     * {@code workerProperties} as its client properties, the rest of the job in this JVM with {@code jobConfig}'s.
     * The output is exact, {@link PrimesAudit} finds every task and prime once, the worker JVM did every task and
     * still runs.
     */
    void assertExactWithAWorkerJvm(Path workerConfig, List<String> workerProperties, Path jobConfig, int upTo)
        throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        PrimesOracle oracle = new PrimesOracle(upTo);
        oracle.writeRange(input.resolve("a.txt"), 0, upTo);
        Path output = dir.resolve("primes.txt");
        ClientProperties.use(workerConfig, workerProperties);
        try (ChildJvm worker = WorkerProcess.start("sasl-worker-1", bootstrap, registryUrl,
            dir.resolve("logs"))) {
            ClientProperties.use(jobConfig, List.of());
            PrimesJob.Result result = new PrimesJob(new PrimesJob.Config(input, output, 0, bootstrap,
                registryUrl, 500, NumberParser.DEFAULT_MAX_DIGITS, Files.createDirectories(dir.resolve("work"))),
                new PrimesJob.Observer() { }).run();

            assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
            PrimesAudit audit = PrimesAudit.of(bootstrap, registryUrl, result.jobId())
                .assertExactlyOnce(oracle.expected());
            assertThat(audit.completionsByWorker()).as("the worker JVM did every task").containsOnlyKeys(
                "sasl-worker-1");
            assertThat(worker.isAlive()).isTrue();
        }
    }
}
