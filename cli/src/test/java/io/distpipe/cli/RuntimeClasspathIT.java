package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The class path bin/distpipe and the image run with (written by the package phase) is what a deployment needs:
 * nothing that only tests use.
 */
class RuntimeClasspathIT {

    @Test
    void shouldCarryNoTestLibrary() throws Exception {
        List<String> jars = List.of(Files.readString(Path.of("target/classpath.txt")).strip().split(":")).stream()
            .map(p -> Path.of(p).getFileName().toString()).toList();

        assertThat(jars).as("the runtime class path").isNotEmpty()
            .anyMatch(j -> j.startsWith("kafka-clients-"))
            .noneMatch(j -> j.matches("(junit|opentest4j|apiguardian|assertj|testcontainers|kafka-test-common|"
                + "kafka-streams-test-utils|distpipe-testkit|mockito).*"))
            .as("Kafka Connect's runtime (Jetty, Jersey) is not used").noneMatch(j -> j.matches("(connect-runtime|"
                + "jetty-server|jersey-server).*"));
    }
}
