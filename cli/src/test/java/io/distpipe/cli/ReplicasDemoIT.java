package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The eight-step demo in both modes, on real replica JVMs killed with SIGKILL, checked by its exit code and data. */
class ReplicasDemoIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private List<JsonNode> acks() throws Exception {
        try (Stream<Path> files = Files.list(dir.resolve("histories"))) {
            return files.flatMap(f -> {
                try {
                    return Files.readAllLines(f).stream();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).map(line -> {
                try {
                    return JSON.readTree(line);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).filter(e -> e.path("type").asText().equals("ok")).toList();
        }
    }

    @Test
    void shouldSurviveThePassiveScenarioOnANewPrimaryEachTime() throws Exception {
        assertThat(Main.run("replicas", "demo", "passive", "--history-dir", dir.toString(), "--checkpoint-interval",
            "1s")).as("the demo's own check of the histories").isZero();
        List<JsonNode> acks = acks();
        assertThat(acks).hasSizeGreaterThan(50);
        assertThat(acks.stream().map(a -> a.path("replica").asText()).distinct())
            .as("three primaries in turn: S1, then S2, then S3").containsExactlyInAnyOrder("S1", "S2", "S3");
    }

    @Test
    void shouldSurviveTheActiveScenarioWithEveryReplicaAnswering() throws Exception {
        assertThat(Main.run("replicas", "demo", "active", "--history-dir", dir.toString())).isZero();
        List<JsonNode> acks = acks();
        assertThat(acks).hasSizeGreaterThan(50);
        assertThat(acks.stream().map(a -> a.path("replica").asText()).distinct()).hasSizeGreaterThanOrEqualTo(2);
        assertThat(Files.readString(dir.resolve("logs").resolve("S1.log"))).as("S1 restarted and recovered by transfer")
            .contains("checkpoint #").contains("confirmed READY");
    }
}
