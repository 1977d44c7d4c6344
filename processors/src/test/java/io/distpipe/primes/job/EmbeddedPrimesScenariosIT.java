package io.distpipe.primes.job;

import io.distpipe.testkit.EmbeddedScenarioCluster;
import io.distpipe.testkit.ScenarioCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The primes fault scenarios on three in-process KRaft nodes and our HTTP registry (always runs). */
class EmbeddedPrimesScenariosIT extends PrimesScenarios {

    private static EmbeddedScenarioCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = EmbeddedScenarioCluster.start(3);
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
