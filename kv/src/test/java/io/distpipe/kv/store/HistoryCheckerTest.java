package io.distpipe.kv.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class HistoryCheckerTest {

    private final List<History.Op> ops = new ArrayList<>();
    private long time;

    private void op(String process, String type, String f, Map<String, String> values) {
        ops.add(new History.Op(ops.size(), process, type, f, values, time++, null));
    }

    private void write(String process, String type, String key, String value) {
        op(process, "invoke", "write", Map.of(key, value));
        op(process, type, "write", Map.of(key, value));
    }

    @Test
    void shouldAcceptAHistoryWhoseFinalStateIsTheLastAcknowledgedWrite() {
        write("p1", "ok", "k", "1");
        write("p1", "fail", "k", "2");
        write("p1", "ok", "k", "3");
        op("p1", "invoke", "get", null);
        op("p1", "ok", "get", Map.of("k", "3"));

        HistoryChecker.Result result = HistoryChecker.check(ops, Map.of("k", "3"));

        assertThat(result.valid()).as(result.summary()).isTrue();
        assertThat(result.acknowledged()).isEqualTo(2);
        assertThat(result.reads()).isEqualTo(1);
    }

    @Test
    void shouldReportALostAcknowledgedWrite() {
        write("p1", "ok", "k", "1");
        write("p1", "ok", "k", "2");

        HistoryChecker.Result result = HistoryChecker.check(ops, Map.of("k", "1"));

        assertThat(result.valid()).isFalse();
        assertThat(result.anomalies().get(0)).contains("lost write", "k=2");
    }

    @Test
    void shouldReportAReadOfAnAbortedValue() {
        write("p1", "ok", "k", "1");
        write("p1", "fail", "k", "2");
        op("p2", "invoke", "get", null);
        op("p2", "ok", "get", Map.of("k", "2"));

        HistoryChecker.Result result = HistoryChecker.check(ops, null);

        assertThat(result.valid()).isFalse();
        assertThat(result.anomalies().get(0)).contains("aborted");
    }

    @Test
    void shouldAcceptAnUnknownWriteEitherWay() {
        write("p1", "ok", "k", "1");
        write("p1", "info", "k", "2");

        assertThat(HistoryChecker.check(ops, Map.of("k", "2")).valid()).isTrue();
        assertThat(HistoryChecker.check(ops, Map.of("k", "1")).valid()).isTrue();
        assertThat(HistoryChecker.check(ops, Map.of()).valid()).isFalse();
    }
}
