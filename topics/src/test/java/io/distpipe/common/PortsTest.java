package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class PortsTest {

    @Test
    void shouldReturnDistinctPortsThatCanBeBoundOnLoopback() throws IOException {
        List<Integer> ports = Ports.freePorts(4);

        assertThat(ports).doesNotHaveDuplicates().allSatisfy(port -> assertThat(port).isBetween(1, 65535));
        try (ServerSocket socket = new ServerSocket(ports.get(0), 1, InetAddress.getByName(Ports.LOOPBACK))) {
            assertThat(socket.getLocalPort()).isEqualTo(ports.get(0));
        }
    }

    @Test
    void shouldReturnOneFreePort() {
        assertThat(Ports.freePort()).isPositive();
    }

    @Test
    void shouldPickPortsBelowTheEphemeralRangeOnLinux() throws IOException {
        Path range = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
        Assumptions.assumeTrue(Files.isReadable(range), "not Linux");
        int ephemeralLow = Integer.parseInt(Files.readAllLines(range).get(0).strip().split("\\s+")[0]);
        Assumptions.assumeTrue(ephemeralLow >= Ports.RANGE_HIGH, "no room below the range");

        assertThat(Ports.freePorts(20)).doesNotHaveDuplicates()
            .allSatisfy(port -> assertThat(port).isBetween(Ports.RANGE_LOW, Ports.RANGE_HIGH - 1));
    }
}
