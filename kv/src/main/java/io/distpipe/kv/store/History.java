package io.distpipe.kv.store;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A history of client operations as JSON lines, in the style of Jepsen: an {@code invoke} when an operation starts
 * and an {@code ok} (it happened), {@code fail} (it certainly did not) or {@code info} (unknown: no answer) when it
 * ends. {@link HistoryChecker} reads it back.
 */
public final class History implements AutoCloseable {

    /** One line of the history. {@code f} is write, get or db; {@code values} the keys written or read. */
    public record Op(long index, String process, String type, String f, Map<String, String> values, long timeNs,
                     String error) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicLong ORIGIN = new AtomicLong(System.nanoTime());

    private final BufferedWriter out;
    private final AtomicLong index = new AtomicLong();

    private History(BufferedWriter out) {
        this.out = out;
    }

    /** Appends to {@code file} (created if missing). */
    public static History open(Path file) throws IOException {
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        return new History(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND));
    }

    public synchronized void record(String process, String type, String f, Map<String, String> values,
                                    String error) {
        Op op = new Op(index.getAndIncrement(), process, type, f, values == null ? null
            : new LinkedHashMap<>(values), System.nanoTime() - ORIGIN.get(), error);
        try {
            out.write(JSON.writeValueAsString(op));
            out.newLine();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the history", e);
        }
    }

    public static List<Op> read(Path file) throws IOException {
        List<Op> ops = new ArrayList<>();
        int line = 0;
        for (String text : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            line++;
            if (text.isBlank()) {
                continue;
            }
            try {
                Map<String, Object> m = JSON.readValue(text, new TypeReference<>() {
                });
                @SuppressWarnings("unchecked")
                Map<String, String> values = (Map<String, String>) m.get("values");
                ops.add(new Op(((Number) m.get("index")).longValue(), (String) m.get("process"),
                    (String) m.get("type"), (String) m.get("f"), values, ((Number) m.get("timeNs")).longValue(),
                    (String) m.get("error")));
            } catch (JsonProcessingException | RuntimeException e) {
                throw new IOException(file + " line " + line + " is not a history entry: " + e.getMessage(), e);
            }
        }
        return ops;
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }

    public synchronized void flush() throws IOException {
        out.flush();
    }
}
