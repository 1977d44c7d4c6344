package io.distpipe.primes.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

import io.distpipe.primes.JobState;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.PlannedFile;
import org.junit.jupiter.api.Test;

class InputWatchTest {

    private static final long MS = 1_000_000L;

    private final InputWatch watch = new InputWatch(Duration.ofSeconds(1));

    @Test
    void shouldPlanAFileOnlyOnceItsSizeAndTimeHaveNotChangedForTheStablePeriod() {
        InputWatch.Seen first = new InputWatch.Seen("a.txt", 100, 5_000);

        assertThat(watch.scan(List.of(first), status(), 0).ready()).as("first sight").isEmpty();
        assertThat(watch.scan(List.of(first), status(), 500 * MS).ready()).as("stable for only 0.5 s").isEmpty();
        assertThat(watch.scan(List.of(first), status(), 1_000 * MS).ready()).containsExactly("a.txt");
    }

    @Test
    void shouldStartTheStablePeriodAgainWhenOnlyTheModificationTimeChanges() {
        watch.scan(List.of(new InputWatch.Seen("a.txt", 100, 5_000)), status(), 0);
        // A copy that rewrites a block in place keeps the size; the time says the file is still being written.
        InputWatch.Seen rewritten = new InputWatch.Seen("a.txt", 100, 5_900);

        assertThat(watch.scan(List.of(rewritten), status(), 1_000 * MS).ready()).isEmpty();
        assertThat(watch.scan(List.of(rewritten), status(), 1_900 * MS).ready()).isEmpty();
        assertThat(watch.scan(List.of(rewritten), status(), 2_000 * MS).ready()).containsExactly("a.txt");
    }

    @Test
    void shouldNotPlanAnEmptyFileThatIsStillBeingCreated() {
        InputWatch.Seen empty = new InputWatch.Seen("a.txt", 0, 5_000);

        watch.scan(List.of(empty), status(), 0);

        assertThat(watch.scan(List.of(empty), status(), 5_000 * MS).ready()).isEmpty();
    }

    @Test
    void shouldReportAPlannedFileThatGrewAfterItWasPlannedOnce() {
        JobStatus planned = status(new PlannedFile("a.txt", 100L, Instant.ofEpochMilli(5_000), 2L));
        InputWatch.Seen grown = new InputWatch.Seen("a.txt", 180, 7_000);

        InputWatch.Scan scan = watch.scan(List.of(grown), planned, 0);

        assertThat(scan.ready()).as("a planned file is never planned again under its name").isEmpty();
        assertThat(scan.changed()).singleElement().satisfies(c -> {
            assertThat(c.name()).isEqualTo("a.txt");
            assertThat(c.plannedSize()).isEqualTo(100);
            assertThat(c.now()).isEqualTo(grown);
            assertThat(c.describe()).contains("a.txt", "100", "180", "not in the output");
        });
        assertThat(watch.scan(List.of(grown), planned, 2_000 * MS).changed()).as("reported once").isEmpty();
    }

    @Test
    void shouldReportAPlannedFileWhoseTimeChangedWithTheSameSize() {
        JobStatus planned = status(new PlannedFile("a.txt", 100L, Instant.ofEpochMilli(5_000), 2L));

        InputWatch.Scan scan = watch.scan(List.of(new InputWatch.Seen("a.txt", 100, 6_000)), planned, 0);

        assertThat(scan.changed()).extracting(InputWatch.Changed::name).containsExactly("a.txt");
    }

    @Test
    void shouldNotReportAFileTheStatusAlreadyListsAsChanged() {
        JobStatus planned = JobStatus.newBuilder(status(new PlannedFile("a.txt", 100L, Instant.ofEpochMilli(5_000),
            2L))).setChangedFiles(List.of("a.txt")).build();

        InputWatch.Scan scan = watch.scan(List.of(new InputWatch.Seen("a.txt", 180, 7_000)), planned, 0);

        assertThat(scan.changed()).isEmpty();
    }

    @Test
    void shouldLeaveAnUnchangedPlannedFileAlone() {
        JobStatus planned = status(new PlannedFile("a.txt", 100L, Instant.ofEpochMilli(5_000), 2L));

        InputWatch.Scan scan = watch.scan(List.of(new InputWatch.Seen("a.txt", 100, 5_000)), planned, 0);

        assertThat(scan.ready()).isEmpty();
        assertThat(scan.changed()).isEmpty();
    }

    private static JobStatus status(PlannedFile... plans) {
        return JobStatus.newBuilder().setJobId("job").setState(JobState.RUNNING).setFiles(plans.length)
            .setTasksTotal(0).setTasksCompleted(0).setNumbersTotal(0).setNumbersTested(0).setPrimesFound(0)
            .setRejectedLines(0).setReason(null).setUpdatedAt(Instant.EPOCH)
            .setPlannedFiles(Arrays.stream(plans).map(PlannedFile::getName).toList())
            .setPlans(List.of(plans)).build();
    }
}
