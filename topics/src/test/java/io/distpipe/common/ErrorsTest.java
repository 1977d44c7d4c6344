package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;

import org.junit.jupiter.api.Test;

class ErrorsTest {

    @Test
    void shouldNameAMessagelessConnectionFailure() {
        // Java's HTTP client throws exactly this for a closed port: a ConnectException with a null message.
        assertThat(Errors.reason(new ConnectException())).isEqualTo("connection refused");
        assertThat(Errors.reason(new IOException(null, new ConnectException()))).isEqualTo("connection refused");
        assertThat(Errors.reason(new HttpConnectTimeoutException(null))).isEqualTo("connection timed out");
    }

    @Test
    void shouldKeepAMessageWhenThereIsOne() {
        assertThat(Errors.reason(new IOException("disk full"))).isEqualTo("disk full");
        assertThat(Errors.reason(new ConnectException("Connection refused: /127.0.0.1:1")))
            .isEqualTo("Connection refused: /127.0.0.1:1");
    }

    @Test
    void shouldNeverSayNull() {
        assertThat(Errors.reason(new IllegalStateException())).isEqualTo("IllegalStateException");
    }
}
