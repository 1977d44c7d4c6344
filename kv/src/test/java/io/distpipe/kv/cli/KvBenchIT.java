package io.distpipe.kv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.kv.store.History;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code kv bench} as a user runs it, on its own local store (embedded broker): a short mixed load with a recorded
 * history. Checks what the command reports, not how fast it is (figures belong in docs/benchmarks.md).
 */
class KvBenchIT {

    @TempDir
    Path dir;

    @Test
    void shouldReportTheFiguresAsJsonAndCheckTheRecordedHistory() throws Exception {
        Path history = dir.resolve("h.jsonl");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        int exit;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            exit = new CommandLine(new KvBench()).execute("--clients", "4", "--duration", "3s", "--keys", "5",
                "--read-ratio", "0.5", "--history", history.toString(), "--json", "--registry-url",
                "mem://kv-bench-it");
        } finally {
            System.setOut(stdout);
        }

        assertThat(exit).isZero();
        // The tests' logging writes to standard output too (the command's own logback.xml sends it to files).
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("{")).toList();
        assertThat(lines).as("one JSON object on standard output").hasSize(1);
        Map<String, Object> figures = new ObjectMapper().readValue(lines.get(0), new TypeReference<>() {
        });
        assertThat(figures).containsKeys("commits_per_s", "reads_per_s", "p50_ms", "p99_ms", "max_ms", "aborted",
            "unanswered", "clients", "workers", "baseline_transactions_per_s", "goal_met");
        assertThat(figures).containsEntry("clients", 4).containsEntry("workers", 3).containsEntry("linearizable", true)
            .containsEntry("unanswered", 0);
        assertThat(((Number) figures.get("commits_per_s")).doubleValue()).isPositive();
        assertThat(((Number) figures.get("reads_per_s")).doubleValue()).isPositive();
        @SuppressWarnings("unchecked")
        Map<String, Object> hops = (Map<String, Object>) figures.get("hops");
        assertThat(((Number) hops.get("transactions")).intValue()).isPositive();

        List<History.Op> ops = History.read(history);
        assertThat(ops).extracting(History.Op::f).contains("write", "get");
        assertThat(ops.stream().filter(op -> op.type().equals("invoke")).count())
            .as("every invocation completed").isEqualTo(ops.stream().filter(op -> !op.type().equals("invoke"))
                .count());
    }

    @Test
    void shouldRefuseToOverwriteAnExistingHistoryFile() throws Exception {
        Path history = Files.writeString(dir.resolve("mine.jsonl"), "kept\n");
        StringWriter err = new StringWriter();

        int exit = new CommandLine(new KvBench()).setErr(new PrintWriter(err, true)).execute("--history",
            history.toString());

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("--history " + history + " exists");
        assertThat(Files.readString(history)).isEqualTo("kept\n");
    }
}
