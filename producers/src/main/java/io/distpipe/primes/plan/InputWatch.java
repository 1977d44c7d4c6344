package io.distpipe.primes.plan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.distpipe.primes.JobStatus;
import io.distpipe.primes.PlannedFile;

/**
 * Decides when a file of a watched input directory is ready to be planned, and notices a planned file that changed
 * afterwards. A file is ready once it is non-empty and its size and modification time have stayed the same for the
 * stable period (judged on the monotonic clock across scans); a planned file is compared with the size and time its
 * plan recorded, and a difference is reported once.
 */
public final class InputWatch {

    public static final Duration STABLE_FOR_DEFAULT = Duration.ofSeconds(1);

    /** One file as a scan saw it. */
    public record Seen(String name, long sizeBytes, long modifiedMillis) {
        public static Seen of(Path file) throws IOException {
            return new Seen(file.getFileName().toString(), Files.size(file),
                Files.getLastModifiedTime(file).toMillis());
        }

        private boolean sameAs(Seen other) {
            return sizeBytes == other.sizeBytes && modifiedMillis == other.modifiedMillis;
        }
    }

    /** A planned file whose size or modification time is no longer what was planned. */
    public record Changed(String name, long plannedSize, long plannedModified, Seen now) {
        /** One sentence for the log and the job's status. */
        public String describe() {
            return "input file " + name + " changed after it was planned (" + plannedSize + " bytes modified "
                + Instant.ofEpochMilli(plannedModified) + ", now " + now.sizeBytes() + " bytes modified "
                + Instant.ofEpochMilli(now.modifiedMillis()) + "): what changed is not in the output; write a file "
                + "elsewhere and rename it into the input directory, under a new name for a new version";
        }
    }

    /** What one scan found: files to plan now, and planned files that changed. */
    public record Scan(List<String> ready, List<Changed> changed) {
    }

    /** A file not planned yet as it was first seen unchanged, and since when (monotonic). */
    private record Candidate(Seen seen, long sinceNs) {
    }

    private final long stableForNs;
    private final Map<String, Candidate> candidates = new HashMap<>();
    private final Set<String> reported = new HashSet<>();

    public InputWatch(Duration stableFor) {
        if (stableFor.isNegative()) {
            throw new IllegalArgumentException("the stable period must not be negative: " + stableFor);
        }
        this.stableForNs = stableFor.toNanos();
    }

    /** Looks at one scan of the directory, taken at {@code nowNs} on the monotonic clock. */
    public Scan scan(List<Seen> files, JobStatus status, long nowNs) {
        Set<String> planned = new HashSet<>(status.getPlannedFiles());
        Map<String, PlannedFile> plans = new HashMap<>();
        status.getPlans().forEach(p -> plans.put(p.getName(), p));
        Set<String> alreadyChanged = new HashSet<>(status.getChangedFiles());
        List<String> ready = new ArrayList<>();
        List<Changed> changed = new ArrayList<>();
        Set<String> present = new HashSet<>();
        for (Seen file : files) {
            present.add(file.name());
            if (planned.contains(file.name())) {
                // A file planned by an older coordinator has no recorded size and time: nothing to compare with.
                PlannedFile plan = plans.get(file.name());
                if (plan != null && !alreadyChanged.contains(file.name()) && !reported.contains(file.name())
                    && (plan.getSizeBytes() != file.sizeBytes()
                        || plan.getModifiedAt().toEpochMilli() != file.modifiedMillis())) {
                    reported.add(file.name());
                    changed.add(new Changed(file.name(), plan.getSizeBytes(), plan.getModifiedAt().toEpochMilli(),
                        file));
                }
                continue;
            }
            Candidate before = candidates.get(file.name());
            if (before == null || !before.seen().sameAs(file)) {
                candidates.put(file.name(), new Candidate(file, nowNs));
            } else if (file.sizeBytes() > 0 && nowNs - before.sinceNs() >= stableForNs) {
                ready.add(file.name());
                candidates.remove(file.name());
            }
        }
        candidates.keySet().retainAll(present);
        return new Scan(ready, changed);
    }
}
