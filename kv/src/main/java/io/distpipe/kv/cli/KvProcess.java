package io.distpipe.kv.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.command.Cli;
import io.distpipe.common.command.Logs;

/**
 * One process of the key-value store ({@code distpipe kv worker|coordinator} or a broker) in its own JVM on this
 * JVM's classpath, detached: its output goes to {@code <dir>/<name>.out}, its pid to {@code <dir>/<name>.pid}, so it
 * outlives the command that started it and {@code kv down} (or a test's SIGKILL) can stop it.
 */
final class KvProcess {

    private static final long READY_TIMEOUT_S = 90;

    private final String name;
    private final Process process;
    private final String readyLine;

    private KvProcess(String name, Process process, String readyLine) {
        this.name = name;
        this.process = process;
        this.readyLine = readyLine;
    }

    /** Starts {@code distpipe <args>} as process {@code name} and waits until it prints its READY line. */
    static KvProcess start(String name, Path runDir, Path logDir, String heap, List<String> args)
        throws IOException, InterruptedException {
        return launch(name, runDir, logDir, heap, args).awaitReady();
    }

    /** A launched process that has not said READY yet. */
    record Launched(String name, Process process, Path out) {
        KvProcess awaitReady() throws IOException, InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(READY_TIMEOUT_S);
            while (System.nanoTime() < deadline) {
                Optional<String> ready = readyLine(out);
                if (ready.isPresent()) {
                    return new KvProcess(name, process, ready.get());
                }
                if (!process.isAlive()) {
                    throw new IllegalStateException(name + " exited during start-up (exit " + process.exitValue()
                        + "): " + tail(out));
                }
                process.waitFor(100, TimeUnit.MILLISECONDS);
            }
            process.destroyForcibly();
            throw new IllegalStateException(name + " did not print READY within " + READY_TIMEOUT_S + " s: "
                + tail(out));
        }
    }

    /** Starts {@code distpipe <args>} as process {@code name} without waiting. */
    static Launched launch(String name, Path runDir, Path logDir, String heap, List<String> args)
        throws IOException {
        Files.createDirectories(runDir);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx" + heap, "-XX:+UseSerialGC",
            "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.distpipe", "-D" + Logs.DIR_PROPERTY + "=" + logDir,
            "-D" + Logs.PROCESS_PROPERTY + "=" + name, "-cp", System.getProperty("java.class.path"),
            Cli.class.getName()));
        command.addAll(args);
        Path out = runDir.resolve(name + ".out");
        Files.deleteIfExists(out);
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.to(out.toFile())).redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
        Files.writeString(runDir.resolve(name + ".pid"), process.pid() + "\n");
        return new Launched(name, process, out);
    }

    private static Optional<String> readyLine(Path out) throws IOException {
        if (!Files.exists(out)) {
            return Optional.empty();
        }
        return Files.readAllLines(out, StandardCharsets.UTF_8).stream().filter(l -> l.startsWith("READY"))
            .findFirst();
    }

    private static String tail(Path out) {
        try {
            List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(no output)";
        }
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    /** The READY line's text after "READY " (a broker's bootstrap address). */
    String readyText() {
        return readyLine.substring("READY".length()).strip();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL: no shutdown hook runs, an open Kafka transaction stays open until fenced or timed out. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM, then SIGKILL after {@code seconds}. */
    void stop(long seconds) throws InterruptedException {
        stop(process.toHandle(), seconds);
    }

    static boolean stop(ProcessHandle handle, long seconds) throws InterruptedException {
        if (!handle.isAlive()) {
            return false;
        }
        handle.destroy();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (handle.isAlive() && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(100);
        }
        if (handle.isAlive()) {
            handle.destroyForcibly();
        }
        return true;
    }
}
