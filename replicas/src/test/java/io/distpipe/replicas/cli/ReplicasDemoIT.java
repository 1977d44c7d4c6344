package io.distpipe.replicas.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.common.command.Cli;
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

    /** Runs the demo, keeping what it prints (it still goes to the console too). */
    private String demo(String... args) {
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        PrintStream console = System.out;
        System.setOut(new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                copy.write(b);
                console.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                copy.write(b, off, len);
                console.write(b, off, len);
            }
        }, true, StandardCharsets.UTF_8));
        try {
            assertThat(Cli.run(args)).as("the demo's exit code (0: its own check of the histories passed)").isZero();
        } finally {
            System.setOut(console);
        }
        return copy.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldSurviveThePassiveScenarioOnANewPrimaryEachTime() throws Exception {
        String printed = demo("replicas", "demo", "passive", "--history-dir", dir.toString(), "--checkpoint-interval",
            "1s");
        assertThat(printed).contains("Step 8/8").contains("no acknowledged request lost or applied twice");
        List<JsonNode> acks = acks();
        assertThat(acks).hasSizeGreaterThan(50);
        assertThat(acks.stream().map(a -> a.path("replica").asText()).distinct())
            .as("three primaries in turn: S1, then S2, then S3").containsExactlyInAnyOrder("S1", "S2", "S3");
    }

    @Test
    void shouldSurviveTheActiveScenarioWithEveryReplicaAnswering() throws Exception {
        String printed = demo("replicas", "demo", "active", "--history-dir", dir.toString());
        List<JsonNode> acks = acks();
        assertThat(acks).hasSizeGreaterThan(50);
        assertThat(acks.stream().map(a -> a.path("replica").asText()).distinct()).hasSizeGreaterThanOrEqualTo(2);
        assertThat(printed).as("S1 restarted and recovered by a state transfer")
            .containsPattern("\\[S1\\] S1: checkpoint #\\d+ received from S[23]")
            .contains("[S1] S1: recovered; confirmed READY");
    }
}
