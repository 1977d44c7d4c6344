package io.distpipe.mapreduce.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.distpipe.mapreduce.MrJobOutcome;
import io.distpipe.mapreduce.MrJobState;
import io.distpipe.mapreduce.MrJobStatus;
import org.junit.jupiter.api.Test;

class JobStateMachineTest {

    private static final Set<MrJobState> NORMAL = EnumSet.complementOf(EnumSet.of(MrJobState.ERROR));

    private static MrJobStatus job(MrJobState state, MrJobState previous, MrJobOutcome outcome) {
        return MrJobStatus.newBuilder().setJobId("j").setApp("wc").setState(state).setPreviousState(previous)
            .setOutcome(outcome).setReason(previous == null ? null : "boom").setSubmitSequence(0)
            .setInputFiles(List.of("/a")).setNReduce(1).setOutputDir("/o").setIntermediateTopic("mr.intermediate.j")
            .setMapDone(0).setReduceDone(0).setTaskFailures(0).setTransitions(0).setSubmittedAt(Instant.EPOCH)
            .setUpdatedAt(Instant.EPOCH).build();
    }

    /** The lifecycle the issue specifies, written out independently of the table under test. */
    private static boolean expected(MrJobState from, MrJobState previous, MrJobOutcome outcome, MrJobState to) {
        if (outcome != MrJobOutcome.PENDING) {
            return false;
        }
        if (from == MrJobState.ERROR) {
            return to == MrJobState.IDLE || to == previous;
        }
        if (to == MrJobState.ERROR) {
            return true;
        }
        List<MrJobState> cycle = List.of(MrJobState.IDLE, MrJobState.INITIALIZING, MrJobState.MAPPING,
            MrJobState.SHUFFLING, MrJobState.REDUCING, MrJobState.FINALIZING, MrJobState.IDLE);
        for (int i = 0; i + 1 < cycle.size(); i++) {
            if (cycle.get(i) == from && cycle.get(i + 1) == to) {
                return true;
            }
        }
        return false;
    }

    @Test
    void shouldAllowExactlyTheSpecifiedTransitionsAndRefuseAndLogEveryOther() {
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        Logger logger = (Logger) org.slf4j.LoggerFactory.getLogger(JobStateMachine.class);
        logger.addAppender(log);
        // The refusals are expected here: keep them in the list, off the console.
        logger.setAdditive(false);
        try {
            checkEveryTransition(log);
        } finally {
            logger.setAdditive(true);
            logger.detachAppender(log);
        }
    }

    private void checkEveryTransition(ListAppender<ILoggingEvent> log) {
        int allowed = 0;
        int refused = 0;
        List<String> wrong = new ArrayList<>();
        for (MrJobOutcome outcome : MrJobOutcome.values()) {
            for (MrJobState from : MrJobState.values()) {
                List<MrJobState> previousStates = new ArrayList<>();
                if (from == MrJobState.ERROR) {
                    previousStates.addAll(NORMAL);
                } else {
                    previousStates.add(null);
                }
                for (MrJobState previous : previousStates) {
                    for (MrJobState to : MrJobState.values()) {
                        MrJobStatus job = job(from, previous, outcome);
                        boolean want = expected(from, previous, outcome, to);
                        if (JobStateMachine.allowed(from, previous, outcome, to) != want) {
                            wrong.add(from + "(" + previous + "," + outcome + ")->" + to);
                        }
                        if (want) {
                            MrJobStatus next = JobStateMachine.transition(job, to, "why");
                            assertThat(next.getState()).isEqualTo(to);
                            assertThat(next.getTransitions()).isEqualTo(1);
                            allowed++;
                        } else {
                            int before = log.list.size();
                            assertThatThrownBy(() -> JobStateMachine.transition(job, to, "why"))
                                .isInstanceOf(JobStateMachine.IllegalTransitionException.class)
                                .hasMessageContaining("illegal transition " + from + " -> " + to);
                            assertThat(log.list).hasSize(before + 1);
                            assertThat(log.list.get(before).getFormattedMessage()).contains("refused");
                            refused++;
                        }
                    }
                }
            }
        }
        assertThat(wrong).as("transitions where the table disagrees with the specification").isEmpty();
        // PENDING only: 6 forward + 6 into ERROR + 6 ERROR->IDLE + 5 ERROR->previous (previous IDLE is ERROR->IDLE).
        assertThat(allowed).isEqualTo(23);
        assertThat(refused).isGreaterThan(200);
    }

    @Test
    void shouldRecordTheOutcomeAndTheStateBeforeAnError() {
        MrJobStatus error = JobStateMachine.transition(job(MrJobState.MAPPING, null, MrJobOutcome.PENDING),
            MrJobState.ERROR, "map task 3 failed");
        assertThat(error.getPreviousState()).isEqualTo(MrJobState.MAPPING);
        assertThat(error.getReason()).isEqualTo("map task 3 failed");

        MrJobStatus back = JobStateMachine.transition(error, MrJobState.MAPPING, null);
        assertThat(back.getPreviousState()).isNull();
        assertThat(back.getOutcome()).isEqualTo(MrJobOutcome.PENDING);
        assertThatThrownBy(() -> JobStateMachine.transition(error, MrJobState.REDUCING, null))
            .as("ERROR returns only to the state before it").hasMessageContaining("state before the error: MAPPING");

        MrJobStatus failed = JobStateMachine.transition(error, MrJobState.IDLE, "gave up");
        assertThat(failed.getOutcome()).isEqualTo(MrJobOutcome.FAILED);
        assertThat(failed.getReason()).isEqualTo("gave up");
        assertThat(JobStateMachine.finished(failed)).isTrue();

        MrJobStatus done = JobStateMachine.transition(job(MrJobState.FINALIZING, null, MrJobOutcome.PENDING),
            MrJobState.IDLE, null);
        assertThat(done.getOutcome()).isEqualTo(MrJobOutcome.SUCCEEDED);
        assertThatThrownBy(() -> JobStateMachine.transition(done, MrJobState.INITIALIZING, null))
            .as("a finished job does not start again").hasMessageContaining("already SUCCEEDED");
    }

    @Test
    void shouldRequireAReasonForAnError() {
        assertThatThrownBy(() -> JobStateMachine.transition(job(MrJobState.REDUCING, null, MrJobOutcome.PENDING),
            MrJobState.ERROR, " ")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reason");
    }
}
