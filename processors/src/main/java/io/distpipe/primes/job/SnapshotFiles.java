package io.distpipe.primes.job;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.distpipe.common.AtomicFile;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.SnapshotState;
import io.distpipe.primes.plan.Coordinator;
import io.distpipe.topics.Topics;

/**
 * Writes a consistent snapshot as {@code snapshot_<n>_<timestamp>.json}: the coordinator's state when it started the
 * snapshot, the completions in transit across the cut, every task partition's worker state at its marker, the input
 * offsets of the cut, and the invariant checked on them.
 */
final class SnapshotFiles {

    private static final Pattern NAME = Pattern.compile("snapshot_(\\d+)_.*\\.json");
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
        .withZone(ZoneOffset.UTC);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SnapshotFiles() {
    }

    /** The highest snapshot number already in {@code dir}, or 0. */
    public static long lastId(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        long last = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Matcher m = NAME.matcher(f.getFileName().toString());
                if (m.matches()) {
                    last = Math.max(last, Long.parseLong(m.group(1)));
                }
            }
        }
        return last;
    }

    public static Path write(Path dir, String jobId, Coordinator.Snapshot s) throws IOException {
        Files.createDirectories(dir);
        JobStatus c = s.coordinatorState();
        long created = s.tasksCreated();
        long completedAtCut = s.completedAtStart() + s.inTransit().size();
        long pendingAtCut = created - completedAtCut;
        long inFlightAtCut = s.workerStates().values().stream().mapToLong(w -> w.getInFlight().size()).sum();

        Map<String, Object> coordinator = new LinkedHashMap<>();
        coordinator.put("state", c.getState().toString());
        coordinator.put("files", c.getFiles());
        coordinator.put("plannedFiles", c.getPlannedFiles());
        coordinator.put("tasksCreated", created);
        coordinator.put("tasksCompleted", s.completedAtStart());
        coordinator.put("tasksPendingOrInFlight", created - s.completedAtStart());
        coordinator.put("tasksPerPartition", s.publishedBefore());

        List<Map<String, Object>> workers = new ArrayList<>();
        Map<Integer, Long> cut = new LinkedHashMap<>();
        for (SnapshotState w : s.workerStates().values()) {
            Map<String, Object> worker = new LinkedHashMap<>();
            worker.put("member", w.getMemberId());
            worker.put("partition", w.getPartition());
            worker.put("offset", w.getOffsets().get(0).getOffset());
            worker.put("tasksCompleted", w.getTasksCompleted());
            worker.put("numbersTested", w.getNumbersTested());
            worker.put("primesFound", w.getPrimesFound());
            worker.put("inFlight", w.getInFlight());
            worker.put("recordedAt", w.getRecordedAt().toString());
            workers.add(worker);
            cut.put(w.getPartition(), w.getOffsets().get(0).getOffset());
        }

        Map<String, Object> atCut = new LinkedHashMap<>();
        atCut.put("tasksCreated", created);
        atCut.put("tasksCompleted", completedAtCut);
        atCut.put("tasksPending", pendingAtCut);
        atCut.put("tasksInFlight", inFlightAtCut);
        atCut.put("numbersTested", c.getNumbersTested() + s.numbersInTransit());
        atCut.put("primesReported", c.getPrimesFound() + s.primesInTransit());

        Map<String, Object> snapshot = new LinkedHashMap<>();
        snapshot.put("snapshotId", s.id());
        snapshot.put("jobId", jobId);
        snapshot.put("startedAt", s.startedAt().toString());
        snapshot.put("coordinator", coordinator);
        snapshot.put("channels", Map.of("completionsInTransit", s.inTransit()));
        snapshot.put("workers", workers);
        snapshot.put("cut", Map.of(Topics.PRIMES_TASKS.name(), cut));
        snapshot.put("atCut", atCut);
        // Two independent counts of the tasks created must agree (the planner's and the send callbacks' per
        // partition), and created = pending + in flight + completed with nothing negative.
        snapshot.put("invariantHolds", created == c.getTasksTotal() && pendingAtCut >= 0 && inFlightAtCut >= 0
            && pendingAtCut + inFlightAtCut + completedAtCut == created);

        Path file = dir.resolve("snapshot_" + s.id() + "_" + STAMP.format(s.startedAt()) + ".json");
        AtomicFile.write(file, StandardCharsets.UTF_8, writer -> JSON.writeValue(writer, snapshot));
        return file;
    }
}
