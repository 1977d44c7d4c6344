package io.distpipe.common.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonTest {

    @TempDir
    Path dir;

    @AfterEach
    void clear() {
        System.clearProperty(Daemon.READY_FILE_PROPERTY);
    }

    @Test
    void shouldWriteTheReadyFileForAContainerHealthcheckOnlyWhenReady() throws Exception {
        Path file = dir.resolve("ready");
        System.setProperty(Daemon.READY_FILE_PROPERTY, file.toString());

        try (Daemon daemon = Daemon.start("dedup", () -> { })) {
            assertThat(file).doesNotExist();
            daemon.ready();
        }

        assertThat(Files.readString(file)).startsWith("READY dedup " + ProcessHandle.current().pid());
    }
}
