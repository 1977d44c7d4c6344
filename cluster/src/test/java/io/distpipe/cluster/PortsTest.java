package io.distpipe.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;

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
}
