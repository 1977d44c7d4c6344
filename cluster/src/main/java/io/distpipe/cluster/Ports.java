package io.distpipe.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/** Picks free TCP ports on the loopback interface for brokers and controllers started by this module. */
public final class Ports {

    /** The only address this module's brokers bind to unless a caller overrides the listeners. */
    public static final String LOOPBACK = "127.0.0.1";

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
                ServerSocket socket = new ServerSocket(0, 1, loopback);
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
}
