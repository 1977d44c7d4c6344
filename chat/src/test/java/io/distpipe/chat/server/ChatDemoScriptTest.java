package io.distpipe.chat.server;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class ChatDemoScriptTest {

    @Test
    void shouldAcceptEveryConsoleCommandCommentsAndBlankLines() {
        assertThatCode(() -> ChatDemo.validate(List.of("# scenario", "", "status", "expect ok", "test", "fail 3",
                "fail leader", "start 3", "start all", "expect fail", "  TEST  ", "help", "exit")))
                .doesNotThrowAnyException();
    }

    @Test
    void shouldNameTheFirstBadLineBeforeAnythingRuns() {
        assertThatThrownBy(() -> ChatDemo.validate(List.of("status", "fail 6", "bogus")))
                .isInstanceOf(ChatDemo.UsageException.class).hasMessageStartingWith("line 2: 'fail 6'");
        assertThatThrownBy(() -> ChatDemo.validate(List.of("expect maybe")))
                .hasMessageStartingWith("line 1: 'expect maybe'");
        assertThatThrownBy(() -> ChatDemo.validate(List.of("start")))
                .hasMessageStartingWith("line 1: 'start'");
    }
}
