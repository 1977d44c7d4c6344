package io.distpipe.common;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one launcher of child JVMs: runs a main class with this JVM's java, a class path and JVM options, sends the
 * child's stdout and stderr to an output file, records its pid, waits (bounded) until it prints its {@value #READY}
 * line and stops it (SIGTERM, a bounded wait, then SIGKILL). A launch is described once by a {@link Spec}, which
 * can be launched again (a restart) as often as needed.
 *
 * <p>The handshake: a child prints one line {@code READY <text>} on stdout once it serves
 * ({@link #announceReady(String)}); the launcher finds it in the output written since the launch, and gives up with
 * the last lines of that output when the child exits first or stays silent past the spec's ready timeout.
 */
public final class ChildJvm implements Supervisor.Instance, AutoCloseable {

    /** The first word of the line a child prints once it serves; the rest of the line is the child's to choose. */
    public static final String READY = "READY";
    /** Avro 1.12 deserializes only generated classes of the packages this names; every child needs ours. */
    public static final String AVRO_PACKAGES_OPTION = "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.distpipe";
    /**
     * The environment variable whose JVM options (split at white space) every JVM the project starts gets before its
     * own: {@code bin/distpipe} and the registry of {@code start_system.sh} read it too. The test JVMs set it so that
     * every JVM of the suite runs C1-only with the serial collector (see docs/tests.md, "Run time").
     */
    public static final String EXTRA_OPTIONS_ENV = "DISTPIPE_EXTRA_JAVA_OPTS";
    public static final Duration READY_TIMEOUT_DEFAULT = Duration.ofSeconds(120);
    public static final Duration STOP_TIMEOUT_DEFAULT = Duration.ofSeconds(15);
    /** How long a SIGKILLed child may take to be gone. */
    public static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);
    /** Lines of output a failed start shows. */
    public static final int TAIL_LINES = 30;

    private static final Logger LOG = LoggerFactory.getLogger(ChildJvm.class);
    private static final int TAIL_BYTES = 64 * 1024;
    private static final int SCAN_CHUNK_BYTES = 1 << 20;
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(5);
    private static final Set<ChildJvm> STOP_ON_EXIT = ConcurrentHashMap.newKeySet();

    static {
        // A JVM that exits without stopping its children would leave them running, holding ports and data.
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> STOP_ON_EXIT.forEach(ChildJvm::reap),
                "distpipe-child-jvm-reaper"));
        } catch (IllegalStateException e) {
            // First used while this JVM already shuts down: nothing is launched any more.
        }
    }

    /**
     * What to launch; immutable, so one spec serves every restart. {@code lines}, when set, receives every line of
     * output from a reader thread (which also writes it to {@code output}); without it the child writes
     * {@code output} itself and keeps doing so after this JVM is gone.
     */
    public record Spec(String id, String mainClass, List<String> args, List<String> jvmOptions, String classPath,
                       Path output, boolean appendOutput, Path pidFile, Consumer<String> lines, Duration readyTimeout,
                       boolean stopWithParent) {

        public Spec {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(mainClass, "mainClass");
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(classPath, "classPath");
            args = List.copyOf(args);
            jvmOptions = List.copyOf(jvmOptions);
            if (readyTimeout.isNegative() || readyTimeout.isZero()) {
                throw new IllegalArgumentException(id + ": readyTimeout must be positive, got " + readyTimeout);
            }
        }

        /** The arguments after the main class, appended to those already given. */
        public Spec withArgs(List<String> more) {
            return new Spec(id, mainClass, concat(args, more), jvmOptions, classPath, output, appendOutput, pidFile,
                lines, readyTimeout, stopWithParent);
        }

        public Spec withArgs(String... more) {
            return withArgs(List.of(more));
        }

        /** JVM options (heap, GC, system properties), appended to those already given. */
        public Spec withJvmOptions(List<String> more) {
            return new Spec(id, mainClass, args, concat(jvmOptions, more), classPath, output, appendOutput, pidFile,
                lines, readyTimeout, stopWithParent);
        }

        public Spec withJvmOptions(String... more) {
            return withJvmOptions(List.of(more));
        }

        /** Another class path than this JVM's. */
        public Spec withClassPath(String path) {
            return new Spec(id, mainClass, args, jvmOptions, path, output, appendOutput, pidFile, lines,
                readyTimeout, stopWithParent);
        }

        /** Keeps what the output file holds and appends to it (a restart on the same log), instead of replacing it. */
        public Spec appendingOutput() {
            return new Spec(id, mainClass, args, jvmOptions, classPath, output, true, pidFile, lines, readyTimeout,
                stopWithParent);
        }

        /** Writes the child's pid to {@code file} on launch, for whoever stops it later from another process. */
        public Spec withPidFile(Path file) {
            return new Spec(id, mainClass, args, jvmOptions, classPath, output, appendOutput, file, lines,
                readyTimeout, stopWithParent);
        }

        public Spec withLines(Consumer<String> consumer) {
            return new Spec(id, mainClass, args, jvmOptions, classPath, output, appendOutput, pidFile, consumer,
                readyTimeout, stopWithParent);
        }

        public Spec withReadyTimeout(Duration timeout) {
            return new Spec(id, mainClass, args, jvmOptions, classPath, output, appendOutput, pidFile, lines,
                timeout, stopWithParent);
        }

        /** Sends the child SIGTERM when this JVM exits, for children that must not outlive their parent. */
        public Spec stoppedWithParent() {
            return new Spec(id, mainClass, args, jvmOptions, classPath, output, appendOutput, pidFile, lines,
                readyTimeout, true);
        }

        /**
         * The command line: java, the options of {@value #EXTRA_OPTIONS_ENV}, the spec's JVM options (which win over
         * them), the Avro packages, class path, main class and arguments.
         */
        public List<String> command() {
            return command(System.getenv());
        }

        List<String> command(Map<String, String> environment) {
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(extraOptions(environment));
            command.addAll(jvmOptions);
            command.add(AVRO_PACKAGES_OPTION);
            command.add("-cp");
            command.add(classPath);
            command.add(mainClass);
            command.addAll(args);
            return command;
        }

        /** Starts the child without waiting for it to be ready. */
        public ChildJvm launch() throws IOException {
            Path file = output.toAbsolutePath();
            Files.createDirectories(file.getParent());
            long offset = appendOutput && Files.exists(file) ? Files.size(file) : 0;
            ProcessBuilder builder = new ProcessBuilder(command()).redirectErrorStream(true);
            builder.environment().putAll(ClientProperties.childEnvironment());
            BufferedWriter copy = null;
            if (lines == null) {
                builder.redirectOutput(appendOutput ? ProcessBuilder.Redirect.appendTo(file.toFile())
                    : ProcessBuilder.Redirect.to(file.toFile()));
            } else {
                builder.redirectOutput(ProcessBuilder.Redirect.PIPE);
                copy = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE, appendOutput ? StandardOpenOption.APPEND
                        : StandardOpenOption.TRUNCATE_EXISTING);
            }
            Process process;
            try {
                process = builder.start();
            } catch (IOException e) {
                if (copy != null) {
                    copy.close();
                }
                throw new IOException(id + ": could not launch " + builder.command().get(0) + ": " + e.getMessage(),
                    e);
            }
            ChildJvm child = new ChildJvm(this, process, file, offset);
            if (copy != null) {
                child.follow(copy);
            }
            if (stopWithParent) {
                STOP_ON_EXIT.add(child);
                process.onExit().thenRun(() -> STOP_ON_EXIT.remove(child));
            }
            if (pidFile != null) {
                try {
                    Files.createDirectories(pidFile.toAbsolutePath().getParent());
                    Files.writeString(pidFile, process.pid() + "\n");
                } catch (IOException e) {
                    child.kill();
                    throw e;
                }
            }
            LOG.debug("{}: launched pid {} ({}), output in {}.", id, process.pid(), mainClass, file);
            return child;
        }

        /** Starts the child and waits until it is ready; see {@link ChildJvm#awaitReady()}. */
        public ChildJvm start() throws IOException {
            ChildJvm child = launch();
            child.awaitReady();
            return child;
        }

        private static List<String> concat(List<String> a, List<String> b) {
            List<String> all = new ArrayList<>(a);
            all.addAll(b);
            return all;
        }
    }

    private final Spec spec;
    private final Process process;
    private final Path output;
    private final long launchOffset;
    private Thread reader;
    /** Whether it was sent SIGSTOP and not SIGCONT since; a stopped process holds SIGTERM until it is continued. */
    private volatile boolean paused;
    private long scanned;
    private String readyText;

    private ChildJvm(Spec spec, Process process, Path output, long launchOffset) {
        this.spec = spec;
        this.process = process;
        this.output = output;
        this.launchOffset = launchOffset;
        this.scanned = launchOffset;
    }

    /**
     * A spec for {@code mainClass} on this JVM's class path with output to {@code output} (replaced at each launch),
     * no pid file and the default ready timeout.
     */
    /** The JVM options {@value #EXTRA_OPTIONS_ENV} holds in {@code environment}, none when it is unset or blank. */
    static List<String> extraOptions(Map<String, String> environment) {
        String value = environment.getOrDefault(EXTRA_OPTIONS_ENV, "").strip();
        return value.isEmpty() ? List.of() : List.of(value.split("\\s+"));
    }

    public static Spec spec(String id, String mainClass, Path output) {
        return new Spec(id, mainClass, List.of(), List.of(), System.getProperty("java.class.path"), output, false,
            null, null, READY_TIMEOUT_DEFAULT, false);
    }

    // ---- the handshake, child side

    /** Prints the {@value #READY} line with {@code text} (an id, an address) on stdout: this process serves. */
    public static void announceReady(String text) {
        System.out.println(readyLine(text));
        System.out.flush();
    }

    /** {@code READY <text>}. */
    public static String readyLine(String text) {
        return text == null || text.isBlank() ? READY : READY + " " + text;
    }

    public static boolean isReadyLine(String line) {
        return line.equals(READY) || line.startsWith(READY + " ");
    }

    // ---- the handshake, launcher side

    /**
     * Waits until the child printed its {@value #READY} line since this launch, at most the spec's ready timeout,
     * and returns the line's text. A child that exits first, or is still silent at the deadline (it is then
     * killed), fails the start with an {@link IllegalStateException} showing the last lines of its output.
     */
    public String awaitReady() {
        String what = spec.id() + " (pid " + pid() + ") to print " + READY + " in " + output;
        try {
            return Poll.untilPresent(what, spec.readyTimeout(), () -> {
                Optional<String> ready = scanForReady();
                if (ready.isEmpty() && !process.isAlive()) {
                    awaitOutputDrained();
                    ready = scanForReady();
                    if (ready.isEmpty()) {
                        throw new Poll.PollAbortedException(spec.id() + " (pid " + pid() + ") exited with code "
                            + process.exitValue() + " before it printed " + READY + ".");
                    }
                }
                return ready;
            });
        } catch (Poll.PollTimeoutException | Poll.PollAbortedException e) {
            if (process.isAlive()) {
                kill();
            }
            awaitOutputDrained();
            throw new IllegalStateException(e.getMessage() + System.lineSeparator() + "Last lines of " + output + ":"
                + System.lineSeparator() + String.join(System.lineSeparator(), tail(TAIL_LINES)), e);
        }
    }

    /** Whether it runs and has printed its {@value #READY} line since it was launched; does not wait. */
    public boolean isReady() {
        return process.isAlive() && scanForReady().isPresent();
    }

    /** The text of its {@value #READY} line (a broker's bootstrap address); it must have printed it. */
    public String readyText() {
        return scanForReady().orElseThrow(() -> new IllegalStateException(spec.id() + " has not printed " + READY
            + " yet"));
    }

    /** The last {@code lines} lines of output since this launch. */
    public List<String> tail(int lines) {
        try (SeekableByteChannel channel = Files.newByteChannel(output, StandardOpenOption.READ)) {
            long from = Math.max(launchOffset, channel.size() - TAIL_BYTES);
            String text = new String(read(channel, from, (int) (channel.size() - from)), StandardCharsets.UTF_8);
            List<String> all = text.lines().toList();
            if (from > launchOffset && !all.isEmpty()) {
                all = all.subList(1, all.size());
            }
            return List.copyOf(all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return List.of("(no output: " + e.getMessage() + ")");
        }
    }

    // ---- the process

    public String id() {
        return spec.id();
    }

    public Spec spec() {
        return spec;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Its exit code, once it has exited. */
    public OptionalInt exitCode() {
        return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
    }

    /** The file that receives its stdout and stderr. */
    public Path output() {
        return output;
    }

    /** SIGKILL, as a crash would: no shutdown hook runs. Waits (bounded) until it is gone. */
    public void kill() {
        process.destroyForcibly();
        if (!awaitExit(process.toHandle(), KILL_TIMEOUT)) {
            LOG.warn("{}: pid {} is still there {} s after SIGKILL.", spec.id(), pid(), KILL_TIMEOUT.toSeconds());
        }
    }

    /**
     * SIGSTOP, as a process frozen by the machine, a long GC pause or a debugger would be: it keeps its sockets and
     * its memory but runs no code, so it sends no heartbeats and commits nothing until {@link #resume()}. Fails with
     * an {@link IllegalStateException} if it is not running or {@code kill -STOP} fails.
     */
    public synchronized void pause() {
        signal("STOP");
        paused = true;
        LOG.info("{}: paused (SIGSTOP).", this);
    }

    /** SIGCONT: a paused child runs on from where it stopped. Fails like {@link #pause()}. */
    public synchronized void resume() {
        signal("CONT");
        paused = false;
        LOG.info("{}: resumed (SIGCONT).", this);
    }

    /** Whether it runs and is paused ({@link #pause()} without a {@link #resume()} since). */
    public boolean paused() {
        return paused && process.isAlive();
    }

    /**
     * SIGTERM, so it shuts down cleanly, then SIGKILL after {@code timeout}; false if it was not running. A paused
     * child is resumed first: stopped, it would hold the SIGTERM until the SIGKILL.
     */
    public boolean stop(Duration timeout) {
        if (paused()) {
            try {
                resume();
            } catch (IllegalStateException e) {
                // Gone meanwhile (its SIGCONT found no process): nothing is left to stop.
                if (process.isAlive()) {
                    throw e;
                }
            }
        }
        boolean wasAlive = stop(process.toHandle(), timeout, toString());
        if (spec.pidFile() != null) {
            try {
                Files.deleteIfExists(spec.pidFile());
            } catch (IOException e) {
                LOG.warn("{}: could not remove its pid file {}: {}", spec.id(), spec.pidFile(), e.toString());
            }
        }
        return wasAlive;
    }

    /** SIGTERM, then SIGKILL after {@link #STOP_TIMEOUT_DEFAULT}. */
    @Override
    public void stop() {
        stop(STOP_TIMEOUT_DEFAULT);
    }

    @Override
    public void close() {
        stop();
    }

    /** Blocks until the child exits, for a {@link Supervisor}. */
    @Override
    public Supervisor.Ending awaitEnd() throws InterruptedException {
        int code = process.waitFor();
        awaitOutputDrained();
        return Supervisor.Ending.exited(pid(), code);
    }

    /**
     * Stops any process, e.g. one found by the pid file of an earlier command: SIGTERM, then SIGKILL after
     * {@code timeout}; false if it was not running.
     */
    public static boolean stop(ProcessHandle handle, Duration timeout) {
        return stop(handle, timeout, "pid " + handle.pid());
    }

    private static boolean stop(ProcessHandle handle, Duration timeout, String who) {
        if (!handle.isAlive()) {
            return false;
        }
        handle.destroy();
        if (!awaitExit(handle, timeout)) {
            LOG.warn("{}: ignored SIGTERM for {}; killing it.", who, Supervisor.describe(timeout));
            handle.destroyForcibly();
            awaitExit(handle, KILL_TIMEOUT);
        }
        return true;
    }

    @Override
    public String toString() {
        return spec.id() + " (pid " + pid() + ")";
    }

    /** {@code kill -<name> <pid>}; the child must run, and kill must succeed. */
    private void signal(String name) {
        if (!process.isAlive()) {
            throw new IllegalStateException(this + " is not running: cannot send it SIG" + name + ".");
        }
        List<String> command = List.of("kill", "-" + name, Long.toString(pid()));
        String said;
        int code;
        try {
            Process kill = new ProcessBuilder(command).redirectErrorStream(true).start();
            said = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!kill.waitFor(KILL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                kill.destroyForcibly();
                throw new IllegalStateException(this + ": '" + String.join(" ", command) + "' did not end within "
                    + KILL_TIMEOUT.toSeconds() + " s.");
            }
            code = kill.exitValue();
        } catch (IOException e) {
            throw new UncheckedIOException(this + ": could not run '" + String.join(" ", command) + "'", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(this + ": interrupted while sending SIG" + name + ".", e);
        }
        if (code != 0) {
            throw new IllegalStateException(this + ": '" + String.join(" ", command) + "' failed with exit code "
                + code + (said.isEmpty() ? "" : ": " + said) + ".");
        }
    }

    /** At this JVM's exit: SIGTERM, after SIGCONT if paused (a stopped child would hold the SIGTERM). */
    private static void reap(ChildJvm child) {
        if (child.paused()) {
            try {
                child.resume();
            } catch (RuntimeException e) {
                child.process.destroyForcibly();
                return;
            }
        }
        child.process.destroy();
    }

    // ---- output

    /** Copies the pipe to the output file and to the consumer, and keeps it drained so the child never blocks. */
    private void follow(BufferedWriter copy) {
        reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8)); BufferedWriter out = copy) {
                String line;
                while ((line = in.readLine()) != null) {
                    out.write(line);
                    out.newLine();
                    out.flush();
                    try {
                        spec.lines().accept(line);
                    } catch (RuntimeException e) {
                        LOG.warn("{}: the consumer of its output failed on a line: {}", spec.id(), e.toString());
                    }
                }
            } catch (IOException e) {
                // The child is gone or the output file cannot be written; either way there is nothing left to copy.
                LOG.debug("{}: stopped copying its output: {}", spec.id(), e.toString());
            }
        }, spec.id() + "-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** With a reader thread, the child's last lines reach the file only once the thread has copied them. */
    private void awaitOutputDrained() {
        if (reader == null) {
            return;
        }
        try {
            reader.join(DRAIN_TIMEOUT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads the complete lines written since the last scan, looking for the READY line. */
    private synchronized Optional<String> scanForReady() {
        if (readyText != null) {
            return Optional.of(readyText);
        }
        if (!Files.exists(output)) {
            return Optional.empty();
        }
        try (SeekableByteChannel channel = Files.newByteChannel(output, StandardOpenOption.READ)) {
            while (readyText == null && channel.size() > scanned) {
                byte[] bytes = read(channel, scanned, (int) Math.min(SCAN_CHUNK_BYTES, channel.size() - scanned));
                int end = lastNewline(bytes);
                if (end < 0) {
                    if (bytes.length < SCAN_CHUNK_BYTES) {
                        break;
                    }
                    end = bytes.length - 1;
                }
                scanned += end + 1;
                new String(bytes, 0, end + 1, StandardCharsets.UTF_8).lines().map(String::strip)
                    .filter(ChildJvm::isReadyLine).findFirst()
                    .ifPresent(line -> readyText = line.substring(READY.length()).strip());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(spec.id() + ": could not read " + output, e);
        }
        return Optional.ofNullable(readyText);
    }

    private static byte[] read(SeekableByteChannel channel, long from, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(Math.max(0, length));
        channel.position(from);
        int read;
        do {
            read = channel.read(buffer);
        } while (read > 0 && buffer.hasRemaining());
        byte[] bytes = new byte[buffer.position()];
        buffer.flip().get(bytes);
        return bytes;
    }

    private static int lastNewline(byte[] bytes) {
        for (int i = bytes.length - 1; i >= 0; i--) {
            if (bytes[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static boolean awaitExit(ProcessHandle handle, Duration timeout) {
        try {
            handle.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            return !handle.isAlive();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for pid " + handle.pid() + " to exit.", e);
        }
    }
}
