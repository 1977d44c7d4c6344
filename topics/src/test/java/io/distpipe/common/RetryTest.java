package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;

class RetryTest {

    private long now;
    private final List<Long> pauses = new ArrayList<>();

    private final Retry.Pause fakePause = millis -> {
        pauses.add(millis);
        now += millis * 1_000_000;
    };

    @Test
    void shouldRetryATransientFailureWithGrowingBackoffUntilTheCallSucceeds() {
        AtomicInteger calls = new AtomicInteger();

        String result = Retry.transientFailures("read the offsets", Duration.ofSeconds(60), () -> {
            if (calls.incrementAndGet() < 4) {
                throw new ExecutionException(new TimeoutException("Timed out waiting for a node assignment."));
            }
            return "offsets";
        }, fakePause, () -> now);

        assertThat(result).isEqualTo("offsets");
        assertThat(calls).hasValue(4);
        assertThat(pauses).containsExactly(100L, 200L, 400L);
    }

    @Test
    void shouldFailAtOnceOnAFailureThatIsNotTransient() {
        AtomicInteger calls = new AtomicInteger();

        assertThatThrownBy(() -> Retry.transientFailures("read the offsets", Duration.ofSeconds(60), () -> {
            calls.incrementAndGet();
            throw new ExecutionException(new TopicAuthorizationException("Not authorized to access topics"));
        }, fakePause, () -> now)).isInstanceOf(KafkaException.class)
            .hasMessage("Could not read the offsets: Not authorized to access topics")
            .hasCauseInstanceOf(TopicAuthorizationException.class);
        assertThat(calls).hasValue(1);
        assertThat(pauses).isEmpty();
    }

    @Test
    void shouldStopLoudlyWhenTheFailureOutlastsTheBound() {
        assertThatThrownBy(() -> Retry.transientFailures("read the offsets", Duration.ofSeconds(5), () -> {
            throw new java.util.concurrent.TimeoutException();
        }, fakePause, () -> now)).isInstanceOf(KafkaException.class)
            .hasMessageStartingWith("Could not read the offsets within 5 s (")
            .hasCauseInstanceOf(java.util.concurrent.TimeoutException.class);
        assertThat(pauses.stream().mapToLong(Long::longValue).sum()).isEqualTo(5_000);
        assertThat(pauses).allSatisfy(p -> assertThat(p).isLessThanOrEqualTo(Retry.MAX_BACKOFF_MS));
    }
}
