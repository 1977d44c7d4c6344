package io.distpipe.mapreduce.engine;

import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import io.distpipe.mapreduce.MrJobOutcome;
import io.distpipe.mapreduce.MrJobState;
import io.distpipe.mapreduce.MrJobStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle of a MapReduce job as an explicit transition table:
 * {@code IDLE → INITIALIZING → MAPPING → SHUFFLING → REDUCING → FINALIZING → IDLE}; any state except ERROR →
 * {@code ERROR} (with a reason); {@code ERROR → the state before it} when the error is resolved; {@code ERROR → IDLE}
 * when the job fails. A job leaves IDLE only while its outcome is PENDING (queued), and reaches IDLE from
 * FINALIZING as SUCCEEDED or from ERROR as FAILED. Every other transition is refused and logged.
 */
public final class JobStateMachine {

    private static final Logger LOG = LoggerFactory.getLogger(JobStateMachine.class);

    /** The forward transitions; ERROR's ways out depend on the state before it and are checked in {@link #allowed}. */
    static final Map<MrJobState, Set<MrJobState>> TABLE;

    static {
        Map<MrJobState, Set<MrJobState>> t = new EnumMap<>(MrJobState.class);
        t.put(MrJobState.IDLE, EnumSet.of(MrJobState.INITIALIZING, MrJobState.ERROR));
        t.put(MrJobState.INITIALIZING, EnumSet.of(MrJobState.MAPPING, MrJobState.ERROR));
        t.put(MrJobState.MAPPING, EnumSet.of(MrJobState.SHUFFLING, MrJobState.ERROR));
        t.put(MrJobState.SHUFFLING, EnumSet.of(MrJobState.REDUCING, MrJobState.ERROR));
        t.put(MrJobState.REDUCING, EnumSet.of(MrJobState.FINALIZING, MrJobState.ERROR));
        t.put(MrJobState.FINALIZING, EnumSet.of(MrJobState.IDLE, MrJobState.ERROR));
        t.put(MrJobState.ERROR, EnumSet.of(MrJobState.IDLE));
        t.replaceAll((state, next) -> Collections.unmodifiableSet(next));
        TABLE = Collections.unmodifiableMap(t);
    }

    /** A refused transition; its message names the job, both states and why. */
    public static final class IllegalTransitionException extends IllegalStateException {
        IllegalTransitionException(String message) {
            super(message);
        }
    }

    private JobStateMachine() {
    }

    /**
     * Whether a job in {@code from} (whose state before ERROR was {@code previous}, and whose outcome is
     * {@code outcome}) may move to {@code to}.
     */
    public static boolean allowed(MrJobState from, MrJobState previous, MrJobOutcome outcome, MrJobState to) {
        if (outcome != MrJobOutcome.PENDING) {
            return false;
        }
        if (from == MrJobState.ERROR && previous != null && previous != MrJobState.ERROR && to == previous) {
            return true;
        }
        return TABLE.get(from).contains(to);
    }

    /**
     * The job's status after moving to {@code to}; {@code reason} is required for ERROR and for the failing ERROR →
     * IDLE. Throws {@link IllegalTransitionException} (after logging it) when the table forbids the move.
     */
    public static MrJobStatus transition(MrJobStatus job, MrJobState to, String reason) {
        MrJobState from = job.getState();
        if (!allowed(from, job.getPreviousState(), job.getOutcome(), to)) {
            String message = "job " + job.getJobId() + ": illegal transition " + from + " -> " + to
                + (from == MrJobState.ERROR ? " (state before the error: " + job.getPreviousState() + ")" : "")
                + (job.getOutcome() != MrJobOutcome.PENDING ? " (the job already " + job.getOutcome() + ")" : "")
                + "; refused";
            LOG.warn(message);
            throw new IllegalTransitionException(message);
        }
        if (to == MrJobState.ERROR && (reason == null || reason.isBlank())) {
            throw new IllegalArgumentException("job " + job.getJobId() + ": ERROR needs a reason");
        }
        MrJobStatus.Builder next = MrJobStatus.newBuilder(job).setState(to).setTransitions(job.getTransitions() + 1)
            .setUpdatedAt(Instant.now());
        if (to == MrJobState.ERROR) {
            next.setPreviousState(from).setReason(reason);
        } else if (from == MrJobState.ERROR && to == MrJobState.IDLE) {
            next.setOutcome(MrJobOutcome.FAILED).setReason(reason == null ? job.getReason() : reason);
        } else {
            next.setPreviousState(null);
            if (from == MrJobState.FINALIZING) {
                next.setOutcome(MrJobOutcome.SUCCEEDED).setReason(null);
            } else if (from == MrJobState.ERROR) {
                next.setReason("recovered: " + job.getReason());
            }
        }
        LOG.info("job {}: {} -> {}{}", job.getJobId(), from, to, to == MrJobState.ERROR ? " (" + reason + ")" : "");
        return next.build();
    }

    /** Whether the job has finished (back in IDLE with an outcome). */
    public static boolean finished(MrJobStatus job) {
        return job.getState() == MrJobState.IDLE && job.getOutcome() != MrJobOutcome.PENDING;
    }
}
