package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class PollLoopTest {

    private static final Logger LOG = LoggerFactory.getLogger(PollLoopTest.class);

    private final LifeCycle life = running();
    private final AtomicInteger closed = new AtomicInteger();
    private final AtomicInteger passes = new AtomicInteger();

    private static LifeCycle running() {
        LifeCycle life = new LifeCycle("test");
        life.transition(Service.State.STARTING);
        life.transition(Service.State.RUNNING);
        return life;
    }

    @Test
    void shouldPassUntilAPassSaysStopAndThenCloseTheClients() {
        PollLoop.run("test", life, LOG, "nobody", () -> passes.incrementAndGet() < 3, closed::incrementAndGet);

        assertThat(passes).hasValue(3);
        assertThat(life.state()).isEqualTo(Service.State.RUNNING);
        assertThat(closed).hasValue(1);
    }

    @Test
    void shouldStopPassingOnceTheLifeCycleLeavesRunning() {
        PollLoop.run("test", life, LOG, "nobody", () -> {
            if (passes.incrementAndGet() == 2) {
                life.beginClose();
            }
            return true;
        }, closed::incrementAndGet);

        assertThat(passes).hasValue(2);
        assertThat(closed).hasValue(1);
    }

    @Test
    void shouldStartClosingWithoutFailingWhenFenced() {
        PollLoop.run("test", life, LOG, "a newer instance", () -> {
            throw new ProducerFencedException("fenced");
        }, closed::incrementAndGet);

        assertThat(life.state()).isEqualTo(Service.State.CLOSING);
        assertThat(closed).hasValue(1);
    }

    /** The broker's answer to a transaction it aborted is not fencing: escaping the pass, it fails the loop. */
    @Test
    void shouldFailRatherThanCloseQuietlyOnAnOldEpoch() {
        assertThatThrownBy(() -> PollLoop.run("test", life, LOG, "a newer instance", () -> {
            throw new InvalidProducerEpochException("old epoch");
        }, closed::incrementAndGet)).isInstanceOf(InvalidProducerEpochException.class);

        assertThat(life.state()).isEqualTo(Service.State.FAILED);
        assertThat(closed).hasValue(1);
    }

    @Test
    void shouldStartClosingWhenAFencingIsTheCauseOfTheFailure() {
        PollLoop.run("test", life, LOG, "a newer instance", () -> {
            throw new org.apache.kafka.common.KafkaException("error state", new ProducerFencedException("fenced"));
        }, closed::incrementAndGet);

        assertThat(life.state()).isEqualTo(Service.State.CLOSING);
    }

    @Test
    void shouldEndQuietlyOnAWakeupOrAQuietStop() {
        PollLoop.run("test", life, LOG, "nobody", () -> {
            throw new WakeupException();
        }, closed::incrementAndGet);
        PollLoop.run("test", life, LOG, "nobody", () -> {
            throw new IllegalStateException("halt");
        }, e -> e instanceof IllegalStateException, closed::incrementAndGet);

        assertThat(life.state()).isEqualTo(Service.State.RUNNING);
        assertThat(closed).hasValue(2);
    }

    @Test
    void shouldFailAndRethrowAnyOtherErrorWhileRunning() {
        RuntimeException boom = new IllegalArgumentException("boom");

        assertThatThrownBy(() -> PollLoop.run("test", life, LOG, "nobody", () -> {
            throw boom;
        }, closed::incrementAndGet)).isSameAs(boom);
        assertThat(life.state()).isEqualTo(Service.State.FAILED);
        assertThat(closed).hasValue(1);
    }

    @Test
    void shouldNotRethrowAnErrorThatCameWhileClosing() {
        PollLoop.run("test", life, LOG, "nobody", () -> {
            life.beginClose();
            throw new IllegalArgumentException("the consumer was closed under us");
        }, closed::incrementAndGet);

        assertThat(life.state()).isEqualTo(Service.State.CLOSING);
        assertThat(closed).hasValue(1);
    }
}
