package io.distpipe.common.command;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** The cluster options every command shares, as picocli parses them. */
class ClusterOptionsTest {

    @Command(name = "probe")
    static final class Probe {
        @Mixin
        ClusterOptions cluster;
    }

    @Test
    void shouldTakeKafkaToolsSpellingOfTheBootstrapOptionAsWellAsOurs() {
        for (String name : new String[] {"-b", "--bootstrap-servers", "--bootstrap-server"}) {
            Probe probe = new Probe();
            new CommandLine(probe).parseArgs(name, "h1:9092,h2:9092");
            assertThat(probe.cluster.bootstrapServers).as(name).isEqualTo("h1:9092,h2:9092");
            assertThat(probe.cluster.registryUrl).isEqualTo(ClusterOptions.REGISTRY_DEFAULT);
        }
    }
}
