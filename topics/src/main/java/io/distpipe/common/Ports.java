package io.distpipe.common;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks free TCP ports on the loopback interface for brokers and controllers started by this module. Ports come from
 * below the operating system's ephemeral range when it leaves room for that ({@link #RANGE_LOW} to
 * {@link #RANGE_HIGH}): a port chosen now is used only seconds later, by a process still starting, and in between any
 * outgoing connection on the machine may take an ephemeral port as its local port (seen with two test JVMs at once:
 * a registry could not bind the port it had been given).
 */
public final class Ports {

    /** The only address this module's brokers bind to unless a caller overrides the listeners. */
    public static final String LOOPBACK = "127.0.0.1";
    /** Lowest port handed out when the ephemeral range starts at or above {@link #RANGE_HIGH}. */
    public static final int RANGE_LOW = 20_000;
    /** One past the highest port handed out that way; Linux's ephemeral range starts at 32768 by default. */
    public static final int RANGE_HIGH = 32_000;
    private static final int ATTEMPTS = 200;
    private static final boolean BELOW_EPHEMERAL = ephemeralLow() >= RANGE_HIGH;

    private Ports() {
    }

    /** Returns a loopback port that was free a moment ago (another process may still take it before use). */
    public static int freePort() {
        return freePorts(1).get(0);
    }

    /**
     * Returns {@code count} distinct loopback ports that were free a moment ago. All sockets stay open until every
     * port is chosen, so the operating system cannot hand out the same port twice within one call.
     */
    public static List<Integer> freePorts(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be at least 1, got " + count);
        }
        List<ServerSocket> sockets = new ArrayList<>(count);
        try {
            InetAddress loopback = InetAddress.getByName(LOOPBACK);
            List<Integer> ports = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                ServerSocket socket = bind(loopback);
                sockets.add(socket);
                ports.add(socket.getLocalPort());
            }
            return List.copyOf(ports);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not find " + count + " free port(s) on " + LOOPBACK, e);
        } finally {
            for (ServerSocket socket : sockets) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // The port is only probed; a failed close leaves nothing for the caller to fix.
                }
            }
        }
    }

    /** A socket on a free port below the ephemeral range when there is room, else on any free port. */
    private static ServerSocket bind(InetAddress loopback) throws IOException {
        if (BELOW_EPHEMERAL) {
            for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
                int port = ThreadLocalRandom.current().nextInt(RANGE_LOW, RANGE_HIGH);
                try {
                    return new ServerSocket(port, 1, loopback);
                } catch (IOException taken) {
                    // In use: try another.
                }
            }
        }
        return new ServerSocket(0, 1, loopback);
    }

    /** The first port of the ephemeral range (Linux), or 0 when it cannot be read. */
    private static int ephemeralLow() {
        try {
            // readAllLines, not readString: procfs files report size 0 and readString returned one character.
            String range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).strip();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
