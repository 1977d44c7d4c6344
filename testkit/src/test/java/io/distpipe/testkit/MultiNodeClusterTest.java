package io.distpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MultiNodeClusterTest {

    @Test
    void shouldUseThreeCombinedControllersOnceThereAreThreeBrokers() {
        assertThat(MultiNodeCluster.Layout.combined(1)).isEqualTo(new MultiNodeCluster.Layout(1, 1, true));
        assertThat(MultiNodeCluster.Layout.combined(3)).isEqualTo(new MultiNodeCluster.Layout(3, 3, true));
        assertThat(MultiNodeCluster.Layout.combined(5)).isEqualTo(new MultiNodeCluster.Layout(5, 3, true));
        assertThat(MultiNodeCluster.Layout.separate(5, 3)).isEqualTo(new MultiNodeCluster.Layout(5, 3, false));
    }

    @Test
    void shouldRejectLayoutsThatCannotRun() {
        assertThatThrownBy(() -> new MultiNodeCluster.Layout(0, 1, true)).hasMessageContaining("brokers");
        assertThatThrownBy(() -> new MultiNodeCluster.Layout(2, 3, true)).hasMessageContaining("more controllers");
    }
}
