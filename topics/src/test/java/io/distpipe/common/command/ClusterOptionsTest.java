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

    @Test
    void shouldNoteAGivenClusterWithoutARegistryButNotOneWithIt() {
        Probe probe = new Probe();
        new CommandLine(probe).parseArgs("-b", "h:1");
        assertThat(probe.cluster.registryNotice()).startsWith("note: no --registry-url given, so schemas are "
            + "registered in and read from an in-process registry (mem://distpipe) that no other process sees");
        Probe given = new Probe();
        new CommandLine(given).parseArgs("-b", "h:1", "-r", "http://registry:8081");
        assertThat(given.cluster.registryNotice()).isNull();
        Probe embedded = new Probe();
        new CommandLine(embedded).parseArgs();
        assertThat(embedded.cluster.registryNotice()).as("an embedded broker with its own registry").isNull();
    }

    @Test
    void shouldTakeRepeatedPropertiesAndACommandConfigFile() {
        Probe probe = new Probe();
        new CommandLine(probe).parseArgs("--command-config", "c.properties", "--property", "a=1", "--property",
            "b=2");
        assertThat(probe.cluster.commandConfig).hasToString("c.properties");
        assertThat(probe.cluster.properties).containsExactly("a=1", "b=2");
    }
}
