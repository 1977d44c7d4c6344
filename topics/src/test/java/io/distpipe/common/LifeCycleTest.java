package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LifeCycleTest {

    @Test
    void shouldWalkTheNormalLifecycle() {
        LifeCycle life = new LifeCycle("worker-1");
        life.transition(Service.State.STARTING);
        life.transition(Service.State.RUNNING);
        assertThat(life.beginClose()).isTrue();
        assertThat(life.beginClose()).as("second close does nothing").isFalse();
        life.transition(Service.State.CLOSED);
        assertThat(life.state()).isEqualTo(Service.State.CLOSED);
    }

    @Test
    void shouldRefuseAnIllegalTransitionAndNameTheComponent() {
        LifeCycle life = new LifeCycle("worker-1");

        assertThatThrownBy(() -> life.transition(Service.State.RUNNING))
            .isInstanceOf(IllegalStateException.class)
            .hasMessage("worker-1: cannot move from NEW to RUNNING");
        assertThat(life.state()).isEqualTo(Service.State.NEW);
    }

    @Test
    void shouldNeverLeaveClosed() {
        LifeCycle life = new LifeCycle("x");
        life.beginClose();
        life.transition(Service.State.CLOSED);
        for (Service.State s : Service.State.values()) {
            assertThat(Service.State.CLOSED.canMoveTo(s)).isFalse();
        }
    }
}
