package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.distpipe.common.Poll;
import io.distpipe.common.Ports;
import io.distpipe.testkit.PrimesOracle;
import org.junit.jupiter.api.io.TempDir;

/**
 * A system of bin/start_system.sh of its own under a temporary home, for the ITs that run it as an operator does:
 * free ports, starting and stopping it, killing one of its processes, its logs, and waiting for primes.txt.
 */
abstract class SystemScriptsFixture {

    static final Path PROJECT = Path.of(System.getProperty("user.dir")).getParent();

    @TempDir
    Path home;

    /** DISTPIPE_* settings for a system of its own under the test's home, and {@code more} name/value pairs. */
    Map<String, String> systemEnv(int basePort, String... more) throws IOException {
        int registryPort = freePortRun(2);
        Map<String, String> env = new HashMap<>(Map.of("DISTPIPE_HOME", home.toString(),
            "DISTPIPE_BASE_PORT", Integer.toString(basePort),
            "DISTPIPE_REGISTRY_PORT", Integer.toString(registryPort),
            "DISTPIPE_REGISTRY_MANAGEMENT_PORT", Integer.toString(registryPort + 1)));
        for (int i = 0; i + 1 < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    /** Runs bin/start_system.sh; on a failure or time-out the assertion shows what it and the processes printed. */
    void startSystem(Map<String, String> env, String mode, String workers) throws Exception {
        Process start = run(env, "bin/start_system.sh", mode, workers);
        boolean finished = start.waitFor(5, TimeUnit.MINUTES);
        if (!finished || start.exitValue() != 0) {
            start.destroyForcibly();
            StringBuilder report = new StringBuilder(finished ? "start_system failed" : "start_system timed out");
            report.append("\n--- start_system.sh.out\n").append(tail(home.resolve("start_system.sh.out"), 30));
            try (Stream<Path> outs = Files.list(home.resolve("run"))) {
                for (Path out : outs.filter(p -> p.toString().endsWith(".out")).sorted().toList()) {
                    report.append("--- run/").append(out.getFileName()).append('\n').append(tail(out, 5));
                }
            }
            report.append("--- logs/registry.log\n").append(tail(home.resolve("logs/registry.log"), 10));
            throw new AssertionError(report.toString());
        }
    }

    /** The last lines of every process log, for a failure to show what the processes were doing. */
    String logTails() {
        StringBuilder report = new StringBuilder();
        try (Stream<Path> logs = Files.list(home.resolve("logs"))) {
            for (Path log : logs.sorted().toList()) {
                report.append("\n--- logs/").append(log.getFileName()).append('\n').append(tail(log, 15));
            }
        } catch (IOException e) {
            report.append("\n(no logs: ").append(e).append(')');
        }
        return report.toString();
    }

    static String tail(Path file, int lines) {
        List<String> all = readLines(file);
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size())) + "\n";
    }

    /** SIGKILLs the process of run/NAME.pid. */
    void kill(String name) throws IOException {
        long pid = Long.parseLong(Files.readString(home.resolve("run/" + name + ".pid")).strip());
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        Poll.until(name + " is gone", Duration.ofSeconds(30),
            () -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
    }

    void awaitOutput(Path output, PrimesOracle oracle, int upTo) {
        List<String> expected = oracle.expectedLines().stream().filter(l -> Long.parseLong(l) <= upTo).toList();
        Poll.until("primes.txt holds the " + expected.size() + " primes up to " + upTo, Duration.ofSeconds(180),
            () -> Files.exists(output) && readLines(output).equals(expected));
    }

    static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            return List.of();
        }
    }

    String log(String process) {
        try {
            Path log = home.resolve("logs/" + process + ".log");
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "";
        }
    }

    List<Long> runningPids() throws IOException {
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> files = Files.list(home.resolve("run"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".pid")).toList()) {
                pids.add(Long.parseLong(Files.readString(f).strip()));
            }
        }
        return pids;
    }

    Process run(Map<String, String> env, String... command) throws IOException {
        List<String> line = new ArrayList<>(List.of(command));
        line.set(0, PROJECT.resolve(command[0]).toString());
        ProcessBuilder builder = new ProcessBuilder(line).directory(home.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve(
                Path.of(command[0]).getFileName() + ".out").toFile()));
        builder.environment().putAll(env);
        return builder.start();
    }

    /** The first of {@code count} consecutive free ports (broker and controller listeners of each node). */
    static int freePortRun(int count) throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int port = Ports.freePort();
            if (port + count < 65_536 && allFree(port + 1, count - 1)) {
                return port;
            }
        }
        throw new IOException("no " + count + " consecutive free ports found");
    }

    static boolean allFree(int from, int count) {
        for (int port = from; port < from + count; port++) {
            try (ServerSocket socket = new ServerSocket(port)) {
                continue;
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    /** Runs bin/stop_system.sh and waits (bounded) for it; afterwards no pid file may be left. */
    void stopSystem() throws Exception {
        Process stop = run(Map.of("DISTPIPE_HOME", home.toString()), "bin/stop_system.sh");
        assertThat(stop.waitFor(2, TimeUnit.MINUTES)).as("stop_system finished").isTrue();
        assertThat(stop.exitValue()).as("stop_system's exit code").isZero();
    }

    /** No pid file is left in run/. */
    void assertNoPidFiles() throws IOException {
        try (Stream<Path> files = Files.list(home.resolve("run"))) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".pid"));
        }
    }
}
