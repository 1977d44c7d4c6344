package io.distpipe.common;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.ClosedChannelException;

/** Words for failures whose exceptions carry no message of their own (Java's HTTP client throws many such). */
public final class Errors {

    private Errors() {
    }

    /**
     * A short reason for {@code e}: the first message found along its cause chain, else what a type along it means
     * ("connection refused"), else the type's simple name. Never null, never "null".
     */
    public static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                return t.getMessage();
            }
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            String known = known(t);
            if (known != null) {
                return known;
            }
        }
        return e.getClass().getSimpleName();
    }

    private static String known(Throwable t) {
        if (t instanceof HttpConnectTimeoutException) {
            return "connection timed out";
        }
        if (t instanceof HttpTimeoutException || t instanceof SocketTimeoutException) {
            return "no answer in time";
        }
        if (t instanceof ConnectException || t instanceof ClosedChannelException) {
            return "connection refused";
        }
        if (t instanceof UnknownHostException) {
            return "unknown host";
        }
        if (t instanceof NoRouteToHostException) {
            return "no route to host";
        }
        return null;
    }
}
