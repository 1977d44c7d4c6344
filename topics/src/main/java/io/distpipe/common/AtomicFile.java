package io.distpipe.common;

import java.io.BufferedWriter;
import java.io.FilterWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.Charset;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An output file written in full or not at all: a hidden temporary sibling, flushed to disk, then renamed over the
 * target. Readers see the old complete file or the new one. The temporary file is created without explicit
 * permissions, so the result follows the umask like any Unix tool's output ({@code Files.createTempFile} would make
 * it 0600, and the rename would keep that).
 *
 * <pre>{@code
 * try (AtomicFile file = AtomicFile.create(target, UTF_8)) {
 *     file.writer().write(...);
 *     file.commit();
 * } // not committed: the temporary file is removed and the target left as it was
 * }</pre>
 */
public final class AtomicFile implements AutoCloseable {

    /** What writes the contents; may throw {@link IOException}. */
    @FunctionalInterface
    public interface Contents {
        void writeTo(Writer writer) throws IOException;
    }

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private final Writer writer;
    private final Writer shielded;
    private boolean committed;

    private AtomicFile(Path target, Path temp, FileChannel channel, Charset charset) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
        this.writer = new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(channel), charset));
        this.shielded = new FilterWriter(writer) {
            @Override
            public void close() throws IOException {
                // Closing is commit()'s or close()'s to do: a writer of the contents (Jackson's, by default) that
                // closes its target would otherwise make commit() fail on a closed stream.
                flush();
            }
        };
    }

    /** Opens a temporary sibling of {@code target} (its directory must exist). */
    public static AtomicFile create(Path target, Charset charset) throws IOException {
        Path absolute = target.toAbsolutePath();
        for (int attempt = 0; ; attempt++) {
            Path temp = absolute.resolveSibling("." + absolute.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + ".tmp");
            try {
                FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                return new AtomicFile(absolute, temp, channel, charset);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 10) {
                    throw e;
                }
            }
        }
    }

    /** Writes {@code contents} to {@code target} atomically. */
    public static void write(Path target, Charset charset, Contents contents) throws IOException {
        try (AtomicFile file = create(target, charset)) {
            contents.writeTo(file.writer());
            file.commit();
        }
    }

    /** Where the contents go until {@link #commit()}; closing it only flushes it. */
    public Writer writer() {
        return shielded;
    }

    /** The temporary file, for messages. */
    public Path temporary() {
        return temp;
    }

    /** Flushes the contents to disk and renames them over the target. */
    public void commit() throws IOException {
        writer.flush();
        channel.force(true);
        writer.close();
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        committed = true;
    }

    /** Removes the temporary file unless committed; the target is untouched then. */
    @Override
    public void close() throws IOException {
        try {
            writer.close();
        } catch (IOException | UncheckedIOException e) {
            // The contents are being thrown away; a failed flush of them does not matter.
        } finally {
            if (!committed) {
                Files.deleteIfExists(temp);
            }
        }
    }
}
