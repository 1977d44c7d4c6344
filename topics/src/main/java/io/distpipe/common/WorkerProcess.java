package io.distpipe.common;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.distpipe.common.command.Cli;

/**
 * A process of our CLI in its own JVM on this JVM's classpath ({@code distpipe worker}, {@code distpipe replica}...),
 * started once it printed READY, to be killed with SIGKILL.
 */
public final class WorkerProcess implements AutoCloseable {

    private static final long READY_TIMEOUT_S = 120;

    private final String id;
    private final Process process;

    private WorkerProcess(String id, Process process) {
        this.id = id;
        this.process = process;
    }

    /** A primes worker ({@code distpipe worker}). */
    public static WorkerProcess start(String id, String bootstrap, String registryUrl, Path logDir) throws Exception {
        return launch(id, logDir, List.of(), line -> { }, "worker", "--id", id, "--bootstrap-servers", bootstrap,
            "--registry-url", registryUrl);
    }

    /** A child JVM running {@code distpipe <arguments>}, which must print READY when it serves. */
    public static WorkerProcess start(String id, List<String> arguments, Path logDir) throws Exception {
        return launch(id, logDir, List.of(), line -> { }, arguments.toArray(String[]::new));
    }

    /**
     * Any {@code distpipe} command line in a child JVM with its log under {@code logDir}; waits until it printed
     * READY. {@code jvmOptions} come before the class path. Every line it prints (before READY and after) goes to
     * {@code lines}, from a reader thread.
     */
    public static WorkerProcess launch(String id, Path logDir, List<String> jvmOptions, Consumer<String> lines,
                                String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx256m"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.distpipe",
            "-Ddistpipe.log.dir=" + logDir, "-cp", System.getProperty("java.class.path"), Cli.class.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.PIPE).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8));
        CompletableFuture<Boolean> ready = new CompletableFuture<>();
        // Keeps draining its output after READY so it never blocks on a full pipe.
        Thread reader = new Thread(() -> {
            try {
                String line;
                while ((line = out.readLine()) != null) {
                    lines.accept(line);
                    if (line.startsWith("READY")) {
                        ready.complete(true);
                    }
                }
            } catch (IOException e) {
                // The process is gone.
            } finally {
                ready.complete(false);
            }
        }, id + "-output");
        reader.setDaemon(true);
        reader.start();
        Boolean started;
        try {
            started = ready.get(READY_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IllegalStateException(id + " did not print READY within " + READY_TIMEOUT_S + " s", e);
        }
        if (!started) {
            throw new IllegalStateException(id + " exited before READY (see " + logDir + "/" + id + ".log)");
        }
        return new WorkerProcess(id, process);
    }

    public String id() {
        return id;
    }

    public long pid() {
        return process.pid();
    }

    /** SIGKILL: no shutdown hook, no goodbye to the group, an open transaction left behind. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
