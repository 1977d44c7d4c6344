package io.distpipe.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

class BrokerMainTest {

    @Test
    void shouldParseAFullCommandLine() {
        BrokerMain.Args args = BrokerMain.parse(new String[] {
            "--node-id", "2", "--data-dir", "/tmp/n2", "--port", "9092", "--controller-port", "9093",
            "--quorum", "1@127.0.0.1:9193,2@127.0.0.1:9093", "--cluster-id", "MkU3OEVBNTcwNTJENDM2Qk",
            "--config", "num.io.threads=2", "--config", "log.retention.ms = 1000", "--parent-pid", "42"});

        NodeConfig config = args.config();
        assertThat(config.nodeId()).isEqualTo(2);
        assertThat(config.dataDir()).isEqualTo(Path.of("/tmp/n2"));
        assertThat(config.bootstrapServers()).isEqualTo("127.0.0.1:9092");
        assertThat(config.controllerPort()).isEqualTo(9093);
        assertThat(config.voterCount()).isEqualTo(2);
        assertThat(config.clusterId()).isEqualTo("MkU3OEVBNTcwNTJENDM2Qk");
        assertThat(config.overrides()).isEqualTo(Map.of("num.io.threads", "2", "log.retention.ms", "1000"));
        assertThat(args.parentPid()).hasValue(42L);
    }

    @Test
    void shouldDefaultToASingleVoterQuorumOfItself() {
        BrokerMain.Args args = BrokerMain.parse(new String[] {
            "--node-id", "5", "--data-dir", "d", "--port", "1000", "--controller-port", "1001"});

        assertThat(args.config().quorumVoters()).isEqualTo("5@127.0.0.1:1001");
        assertThat(args.config().clusterId()).isNull();
        assertThat(args.parentPid()).isEmpty();
    }

    @Test
    void shouldRejectBadCommandLinesWithASentenceNamingTheOption() {
        assertUsage(new String[] {"--node-id", "1", "--data-dir", "d", "--port", "1000"},
                "missing required option --controller-port");
        assertUsage(new String[] {"--node-id", "one"}, "--node-id needs a number, got 'one'");
        assertUsage(new String[] {"--verbose", "yes"}, "unknown option --verbose");
        assertUsage(new String[] {"--node-id"}, "option --node-id needs a value");
        assertUsage(new String[] {"--config", "novalue"}, "--config needs key=value");
        assertUsage(new String[] {"--node-id", "1", "--data-dir", "d", "--port", "1000", "--controller-port",
            "1000"}, "must differ");
    }

    private static void assertUsage(String[] args, String message) {
        assertThatThrownBy(() -> BrokerMain.parse(args))
                .isInstanceOf(BrokerMain.UsageException.class)
                .hasMessageContaining(message);
    }
}
