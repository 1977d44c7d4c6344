package io.distpipe.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A primes worker in its own JVM ({@code distpipe worker}) on this JVM's classpath, to be killed with SIGKILL. */
final class WorkerProcess implements AutoCloseable {

    private final String id;
    private final Process process;

    private WorkerProcess(String id, Process process) {
        this.id = id;
        this.process = process;
    }

    static WorkerProcess start(String id, String bootstrap, String registryUrl, Path logDir) throws Exception {
        return start(id, List.of("worker", "--id", id, "--bootstrap-servers", bootstrap, "--registry-url",
            registryUrl), logDir);
    }

    /** A child JVM running {@code distpipe <arguments>}, which must print READY when it serves. */
    static WorkerProcess start(String id, List<String> arguments, Path logDir) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new java.util.ArrayList<>(List.of(java, "-Xmx256m",
            "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.distpipe", "-Ddistpipe.log.dir=" + logDir, "-cp",
            System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(arguments);
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.PIPE).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8));
        CompletableFuture<Boolean> ready = CompletableFuture.supplyAsync(() -> {
            try {
                String line;
                while ((line = out.readLine()) != null) {
                    if (line.startsWith("READY")) {
                        return true;
                    }
                }
                return false;
            } catch (IOException e) {
                return false;
            }
        });
        Boolean started;
        try {
            started = ready.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IllegalStateException("worker " + id + " did not print READY within 60 s", e);
        }
        if (!started) {
            throw new IllegalStateException("worker " + id + " exited before READY (see " + logDir + "/" + id
                + ".log)");
        }
        // Keep draining its output so it never blocks on a full pipe.
        CompletableFuture.runAsync(() -> {
            try {
                while (out.readLine() != null) {
                    continue;
                }
            } catch (IOException e) {
                // The process is gone.
            }
        });
        return new WorkerProcess(id, process);
    }

    String id() {
        return id;
    }

    long pid() {
        return process.pid();
    }

    /** SIGKILL: no shutdown hook, no goodbye to the group, an open transaction left behind. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    boolean isAlive() {
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
