package io.distpipe.common;

import java.util.function.Predicate;

import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;

/**
 * The loop every transactional poller runs: passes while its {@link LifeCycle} is RUNNING; a wakeup ends it quietly,
 * being fenced by a newer instance ({@link KafkaClients#fenced}) starts closing without committing, any other failure
 * while RUNNING moves to FAILED and is rethrown; the clients are closed in every case. An old epoch is not fencing:
 * the broker also answers it for a transaction it aborted, which the pass handles ({@link BrokerAborts}); one that
 * escapes fails the loop loudly rather than ending it as if a newer instance had taken over.
 */
public final class PollLoop {

    /** One pass of the loop; false leaves it. */
    @FunctionalInterface
    public interface Pass {
        boolean run();
    }

    private PollLoop() {
    }

    /**
     * Runs {@code pass} until it returns false or {@code life} leaves RUNNING. {@code fencedBy} names who fences this
     * instance (for the log line); {@code quietStop} tells the exceptions that only mean "stop" (besides a wakeup).
     */
    public static void run(String id, LifeCycle life, Logger log, String fencedBy, Pass pass,
                           Predicate<RuntimeException> quietStop, Runnable closeClients) {
        try {
            while (life.state() == Service.State.RUNNING) {
                if (!pass.run()) {
                    break;
                }
            }
        } catch (RuntimeException e) {
            if (KafkaClients.fenced(e)) {
                log.warn("{}: fenced by {}; stopping without committing.", id, fencedBy);
                life.beginClose();
            } else if (e instanceof WakeupException || quietStop.test(e)) {
                log.debug("{}: stopping: {}", id, e.toString());
            } else if (life.state() == Service.State.RUNNING) {
                log.error("{}: failed: {}", id, e.toString(), e);
                life.transition(Service.State.FAILED);
                throw e;
            }
        } finally {
            closeClients.run();
        }
    }

    /** As above, with a wakeup as the only quiet stop. */
    public static void run(String id, LifeCycle life, Logger log, String fencedBy, Pass pass, Runnable closeClients) {
        run(id, life, log, fencedBy, pass, e -> false, closeClients);
    }
}
