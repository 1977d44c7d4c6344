package io.distpipe.primes.job;

import java.io.PrintWriter;
import java.time.Duration;

import io.distpipe.primes.JobStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Shows a job's progress on standard error: a live bar on a terminal, a line every few seconds otherwise. */
public final class Progress implements PrimesJob.Observer {

    private static final Logger LOG = LoggerFactory.getLogger(Progress.class);
    private static final long TERMINAL_EVERY_NS = Duration.ofMillis(200).toNanos();
    private static final long LOG_EVERY_NS = Duration.ofSeconds(5).toNanos();
    private static final int BAR = 30;

    private final PrintWriter out;
    private final boolean terminal;
    private final long started = System.nanoTime();
    private long lastShown;
    private boolean barShown;
    private long rejected;

    public Progress(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public synchronized void phase(String text) {
        clearBar();
        LOG.info("{}.", capitalize(text));
        out.println("» " + text);
        out.flush();
    }

    @Override
    public synchronized void rejected(String file, long line, String text, String reason) {
        rejected++;
        if (rejected <= 5) {
            LOG.warn("Rejected {} line {}: {} ({}).", file, line, text, reason);
        } else if (rejected == 6) {
            LOG.warn("More rejected lines follow; all of them are in the rejected-line report.");
        }
    }

    @Override
    public synchronized void planned(JobStatus s) {
        LOG.info("Planned {} tasks for {} numbers from {} files.", s.getTasksTotal(), s.getNumbersTotal(),
            s.getFiles());
    }

    @Override
    public synchronized void progress(JobStatus s) {
        long now = System.nanoTime();
        boolean last = s.getTasksTotal() > 0 && s.getTasksCompleted() == s.getTasksTotal();
        if (!last && now - lastShown < (terminal ? TERMINAL_EVERY_NS : LOG_EVERY_NS)) {
            return;
        }
        lastShown = now;
        double seconds = Math.max(1, now - started) / 1e9;
        double rate = s.getNumbersTested() / seconds;
        long total = Math.max(s.getTasksTotal(), 1);
        double fraction = s.getState().toString().equals("PLANNING") ? 0 : (double) s.getTasksCompleted() / total;
        String eta = rate > 0 && s.getNumbersTotal() > 0
            ? formatDuration((s.getNumbersTotal() - s.getNumbersTested()) / rate) : "?";
        String line = String.format("%d/%d tasks  %,.0f numbers/s  %,d primes so far  ETA %s",
            s.getTasksCompleted(), s.getTasksTotal(), rate, s.getPrimesFound(), eta);
        if (terminal) {
            int filled = (int) Math.round(fraction * BAR);
            out.print("\r[" + "#".repeat(filled) + ".".repeat(BAR - filled) + "] " + line + "   ");
            out.flush();
            barShown = true;
        } else {
            out.println("  " + line);
            out.flush();
        }
        LOG.info("Progress: {}.", line);
    }

    public synchronized void finish() {
        clearBar();
    }

    private void clearBar() {
        if (barShown) {
            out.println();
            out.flush();
            barShown = false;
        }
    }

    private static String formatDuration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, s % 3600 / 60)
            : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
    }

    private static String capitalize(String text) {
        return text.isEmpty() ? text : Character.toUpperCase(text.charAt(0)) + text.substring(1);
    }
}
