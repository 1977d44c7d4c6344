package io.distpipe.primes.plan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.distpipe.primes.JobStatus;

/**
 * Decides when a file of a watched input directory is ready to be planned. The rule of the old watcher, kept while
 * its tests are written: a file is ready once two scans in a row see the same size; planned files are not looked at.
 */
public final class InputWatch {

    /** One file as a scan saw it. */
    public record Seen(String name, long sizeBytes, long modifiedMillis) {
        public static Seen of(Path file) throws IOException {
            return new Seen(file.getFileName().toString(), Files.size(file),
                Files.getLastModifiedTime(file).toMillis());
        }
    }

    /** A planned file whose size or modification time is no longer what was planned. */
    public record Changed(String name, long plannedSize, long plannedModified, Seen now) {
        public String describe() {
            return "";
        }
    }

    /** What one scan found: files to plan now, and planned files that changed. */
    public record Scan(List<String> ready, List<Changed> changed) {
    }

    private final Map<String, Long> lastSizes = new HashMap<>();

    public InputWatch(Duration stableFor) {
    }

    /** Looks at one scan of the directory, taken at {@code nowNs} on the monotonic clock. */
    public Scan scan(List<Seen> files, JobStatus status, long nowNs) {
        Set<String> planned = new HashSet<>(status.getPlannedFiles());
        List<String> ready = new ArrayList<>();
        for (Seen file : files) {
            if (planned.contains(file.name())) {
                continue;
            }
            Long before = lastSizes.put(file.name(), file.sizeBytes());
            if (before != null && before == file.sizeBytes()) {
                ready.add(file.name());
                lastSizes.remove(file.name());
            }
        }
        return new Scan(ready, List.of());
    }
}
