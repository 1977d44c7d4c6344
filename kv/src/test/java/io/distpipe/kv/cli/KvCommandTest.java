package io.distpipe.kv.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class KvCommandTest {

    @Test
    void shouldRefuseAVoteTimeoutShorterThanTheWorkersHoldAcknowledgementsBeforeReachingForTheCluster() {
        StringWriter err = new StringWriter();
        CommandLine kv = new CommandLine(new KvCommand()).setErr(new PrintWriter(err, true));

        // An address nobody listens on: the check comes first, so nothing waits for it.
        int exit = kv.execute("coordinator", "--id", "C1", "--vote-timeout-ms", "50", "--bootstrap-servers",
            "127.0.0.1:1");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("--vote-timeout-ms must be at least 200 (workers hold acknowledgements "
            + "up to 50 ms), got 50");
    }
}
