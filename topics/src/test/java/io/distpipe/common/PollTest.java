package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

class PollTest {

    @Test
    void shouldReturnTheFirstPresentValue() {
        AtomicInteger attempts = new AtomicInteger();

        int value = Poll.untilPresent("the third attempt", Duration.ofSeconds(5),
                () -> attempts.incrementAndGet() >= 3 ? Optional.of(attempts.get()) : Optional.empty());

        assertThat(value).isEqualTo(3);
    }

    @Test
    void shouldNameWhatDidNotHappenAndKeepTheLastFailureWhenTimingOut() {
        assertThatThrownBy(() -> Poll.until("the moon to turn blue", Duration.ofMillis(250), () -> {
            throw new IllegalStateException("still grey");
        }))
                .isInstanceOf(Poll.PollTimeoutException.class)
                .hasMessage("Timed out after 250 ms waiting for the moon to turn blue.")
                .hasRootCauseMessage("still grey");
    }

    @Test
    void shouldStopAtOnceWhenAnAttemptAborts() {
        AtomicInteger attempts = new AtomicInteger();

        assertThatThrownBy(() -> Poll.until("a dead process", Duration.ofSeconds(30), () -> {
            attempts.incrementAndGet();
            throw new Poll.PollAbortedException("it exited");
        })).isInstanceOf(Poll.PollAbortedException.class).hasMessage("it exited");
        assertThat(attempts).hasValue(1);
    }
}
