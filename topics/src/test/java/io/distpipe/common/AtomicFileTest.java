package io.distpipe.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileTest {

    @TempDir
    Path dir;

    @Test
    void shouldGiveTheOutputTheModeOfAnyNewFileNotTheTemporaryFileMode() throws IOException {
        // What this process's umask makes of a new file (0644 under umask 022): the output must get the same.
        Set<PosixFilePermission> expected = Files.getPosixFilePermissions(Files.createFile(dir.resolve("probe")));
        Path out = dir.resolve("out.txt");

        AtomicFile.write(out, StandardCharsets.US_ASCII, w -> w.write("7\n"));

        assertThat(Files.getPosixFilePermissions(out)).isEqualTo(expected);
        assertThat(Files.readString(out)).isEqualTo("7\n");
    }

    @Test
    void shouldLeaveTheTargetAsItWasWhenNotCommitted() throws IOException {
        Path out = Files.writeString(dir.resolve("out.txt"), "old\n");

        assertThatThrownBy(() -> AtomicFile.write(out, StandardCharsets.UTF_8, w -> {
            w.write("half");
            throw new IOException("disk full");
        })).hasMessage("disk full");

        assertThat(Files.readString(out)).isEqualTo("old\n");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(out);
        }
    }

    @Test
    void shouldReplaceTheTargetWhole() throws IOException {
        Path out = Files.writeString(dir.resolve("out.txt"), "a much longer old content\n");

        try (AtomicFile file = AtomicFile.create(out, StandardCharsets.UTF_8)) {
            file.writer().write("new\n");
            assertThat(Files.readString(out)).as("before commit").startsWith("a much longer");
            file.commit();
        }

        assertThat(Files.readString(out)).isEqualTo("new\n");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(out);
        }
    }

    @Test
    void shouldCommitWhenTheContentsCloseTheWriter() throws IOException {
        // Jackson's ObjectMapper.writeValue(Writer, ...) closes the writer it is given, as many writers do.
        Path out = dir.resolve("snapshot.json");

        AtomicFile.write(out, StandardCharsets.UTF_8, w -> {
            w.write("{}");
            w.close();
        });

        assertThat(Files.readString(out)).isEqualTo("{}");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(out);
        }
    }
}
