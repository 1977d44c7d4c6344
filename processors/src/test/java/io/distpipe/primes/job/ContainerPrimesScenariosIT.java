package io.distpipe.primes.job;

import io.distpipe.testkit.ContainerScenarioCluster;
import io.distpipe.testkit.ScenarioCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The same primes fault scenarios on three {@code apache/kafka:4.3.1} containers and an Apicurio Registry container;
 * skipped where no Docker engine runs (as on this project's build machines).
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainerPrimesScenariosIT extends PrimesScenarios {

    private static ContainerScenarioCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = ContainerScenarioCluster.start(3);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Override
    ScenarioCluster cluster() {
        return cluster;
    }
}
