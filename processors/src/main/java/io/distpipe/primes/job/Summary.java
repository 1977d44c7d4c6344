package io.distpipe.primes.job;

import java.io.PrintWriter;

import io.distpipe.primes.JobStatus;
import io.distpipe.topics.Topics;

/** The summary printed at the end of a primes job. */
public final class Summary {

    private Summary() {
    }

    public static void print(PrintWriter out, PrimesJob.Result result) {
        JobStatus s = result.status();
        double seconds = Math.max(result.elapsed().toMillis(), 1) / 1000.0;
        out.printf("Job %s completed in %.1f s.%n", result.jobId(), seconds);
        out.printf("  files            %,d%n", s.getFiles());
        out.printf("  numbers read     %,d%n", s.getNumbersTotal());
        out.printf("  rejected lines   %,d%s%n", s.getRejectedLines(),
            result.rejectedReport() == null ? "" : "  (see " + result.rejectedReport() + ")");
        out.printf("  tasks            %,d%n", s.getTasksTotal());
        out.printf("  primes (unique)  %,d%n", result.uniquePrimes());
        out.printf("  duplicates       %,d removed%n", result.duplicatesRemoved());
        if (result.probablePrimes() > 0) {
            out.printf("  probable primes  %,d (beyond 3.3e24: Miller-Rabin, error <= 2^-100)%n",
                result.probablePrimes());
        }
        out.printf("  throughput       %,.0f numbers/s%n", s.getNumbersTested() / seconds);
        out.printf("  output           %s%n", result.output());
        if (result.deadLettered() > 0) {
            out.printf("  INCOMPLETE       %,d record(s) dead-lettered (%,d task(s) on %s, %,d on %s)%n",
                result.deadLettered(), result.deadLetteredTasks().size(), Topics.PRIMES_TASKS_DLQ.name(),
                result.foundDeadLettered(), Topics.PRIMES_FOUND_DLQ.name());
        }
        out.flush();
    }
}
