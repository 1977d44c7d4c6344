package io.distpipe.primes.plan;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

import io.distpipe.primes.plan.NumberParser.ParsedLine;

/**
 * Streams a numbers file line by line into a {@link LineSink}, holding at most one bounded line in memory, so files of
 * any size can be read and no line, however malformed, stops the reading.
 *
 * <p>Lines end at {@code \n}, {@code \r\n} or a lone {@code \r} (as {@link java.io.BufferedReader#readLine()} has it);
 * a final line without a terminator is still read; line numbers are 1-based and count blank lines. A UTF-8 byte order
 * mark is skipped at the start of the file only. A line longer than {@link NumberParser#maxDigits()} + {@value
 * #LINE_SLACK} bytes is rejected without being buffered whole.
 */
public final class NumberFileReader {

    /** Receives every non-blank line, in order. Blank lines are skipped but counted in line numbers. */
    public interface LineSink {

        void value(long lineNumber, BigInteger value);

        /**
         * @param text the line made printable (control and invisible characters escaped, undecodable bytes as
         *     {@code \xNN}) and cut to {@value NumberFileReader#TEXT_LIMIT} characters ending in "…"
         */
        void rejected(long lineNumber, String text, String reason);
    }

    /** Room beyond the digit limit for a sign, leading zeros and surrounding blanks. */
    public static final int LINE_SLACK = 100;
    public static final int TEXT_LIMIT = 80;

    static final String NOT_UTF8 = "not valid UTF-8 text";

    private static final int CHUNK_BYTES = 64 * 1024;
    /** Enough bytes for TEXT_LIMIT characters even if each took four bytes or one escape. */
    private static final int DISPLAY_BYTES = 4 * TEXT_LIMIT + 16;
    private static final String ELLIPSIS = "…";

    private NumberFileReader() {
    }

    public static void read(Path file, NumberParser parser, LineSink sink) throws IOException {
        Objects.requireNonNull(file, "file");
        // The scanner buffers reads itself, in CHUNK_BYTES blocks, so no BufferedInputStream is layered on top.
        try (InputStream in = Files.newInputStream(file)) {
            read(in, parser, sink);
        }
    }

    /** Reads until end of stream; the caller keeps ownership of {@code in} and closes it. */
    public static void read(InputStream in, NumberParser parser, LineSink sink) throws IOException {
        Objects.requireNonNull(in, "in");
        new LineScanner(Objects.requireNonNull(parser, "parser"), Objects.requireNonNull(sink, "sink")).scan(in);
    }

    /** Splits bytes into lines and classifies each; one instance per read. */
    private static final class LineScanner {
        private final NumberParser parser;
        private final LineSink sink;
        private final int maxLineBytes;
        private final byte[] line;
        private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);

        private final NumberShape overlongShape = new NumberShape();

        private int length;
        private boolean overlong;
        private long lineNumber = 1;
        private boolean previousWasCr;

        LineScanner(NumberParser parser, LineSink sink) {
            this.parser = parser;
            this.sink = sink;
            this.maxLineBytes = parser.maxDigits() + LINE_SLACK;
            this.line = new byte[maxLineBytes];
        }

        void scan(InputStream in) throws IOException {
            byte[] chunk = new byte[CHUNK_BYTES];
            int n = in.readNBytes(chunk, 0, 3);
            boolean bom = n == 3 && chunk[0] == (byte) 0xEF && chunk[1] == (byte) 0xBB && chunk[2] == (byte) 0xBF;
            consume(chunk, bom ? 3 : 0, n);
            while ((n = in.read(chunk)) >= 0) {
                consume(chunk, 0, n);
            }
            if (length > 0) {
                endLine();
            }
        }

        private void consume(byte[] chunk, int from, int to) {
            for (int i = from; i < to; i++) {
                byte b = chunk[i];
                if (b == '\n') {
                    if (!previousWasCr) {
                        endLine();
                    }
                    previousWasCr = false;
                } else if (b == '\r') {
                    endLine();
                    previousWasCr = true;
                } else {
                    previousWasCr = false;
                    append(b);
                }
            }
        }

        private void append(byte b) {
            if (length < maxLineBytes) {
                line[length++] = b;
                return;
            }
            if (!overlong) {
                overlong = true;
                for (int i = 0; i < length; i++) {
                    overlongShape.accept(line[i]);
                }
            }
            overlongShape.accept(b);
        }

        private void endLine() {
            long number = lineNumber++;
            try {
                classify(number);
            } finally {
                length = 0;
                overlong = false;
                overlongShape.reset();
            }
        }

        private void classify(long number) {
            if (overlong) {
                long digits = overlongShape.significantDigits();
                String reason = overlongShape.isNumber() && digits > parser.maxDigits()
                    ? NumberParser.tooManyDigits(digits, parser.maxDigits())
                    : "line is longer than " + maxLineBytes + " bytes";
                sink.rejected(number, printable(true), reason);
                return;
            }
            if (containsNul()) {
                sink.rejected(number, printable(false), NumberParser.BINARY_DATA);
                return;
            }
            String text = decode();
            if (text == null) {
                sink.rejected(number, printable(false), NOT_UTF8);
                return;
            }
            ParsedLine parsed = parser.parse(text);
            if (parsed instanceof ParsedLine.Value value) {
                sink.value(number, value.value());
            } else if (parsed instanceof ParsedLine.Rejected rejected) {
                sink.rejected(number, printable(false), rejected.reason());
            }
        }

        private boolean containsNul() {
            for (int i = 0; i < length; i++) {
                if (line[i] == 0) {
                    return true;
                }
            }
            return false;
        }

        /** The line as text, or null when it is not well-formed UTF-8. */
        private String decode() {
            boolean ascii = true;
            for (int i = 0; i < length && ascii; i++) {
                ascii = line[i] >= 0;
            }
            if (ascii) {
                return new String(line, 0, length, StandardCharsets.US_ASCII);
            }
            try {
                return utf8.reset().decode(ByteBuffer.wrap(line, 0, length)).toString();
            } catch (CharacterCodingException e) {
                return null;
            }
        }

        /** A short, printable rendering of the buffered line; {@code cut} marks it as already incomplete. */
        private String printable(boolean cut) {
            int shown = Math.min(length, DISPLAY_BYTES);
            Printable out = new Printable(cut || shown < length);
            ByteBuffer in = ByteBuffer.wrap(line, 0, shown);
            CharBuffer chars = CharBuffer.allocate(shown);
            utf8.reset();
            while (!out.isFull()) {
                CoderResult result = utf8.decode(in, chars, true);
                chars.flip();
                out.appendText(chars);
                chars.clear();
                if (!result.isError()) {
                    break;
                }
                for (int i = 0; i < result.length(); i++) {
                    out.appendToken(Printable.escape("\\x", in.get() & 0xFF, 2));
                }
            }
            return out.finish();
        }
    }

    /** Builds text of at most TEXT_LIMIT characters, never cutting an escape or a surrogate pair in half. */
    private static final class Printable {
        private final StringBuilder text = new StringBuilder(TEXT_LIMIT + 8);
        private boolean truncated;
        private int lastBoundaryBeforeEllipsis;

        Printable(boolean truncated) {
            this.truncated = truncated;
        }

        boolean isFull() {
            return text.length() > TEXT_LIMIT;
        }

        void appendText(CharBuffer chars) {
            while (chars.hasRemaining() && !isFull()) {
                char c = chars.get();
                boolean pair = Character.isHighSurrogate(c) && chars.hasRemaining()
                    && Character.isLowSurrogate(chars.get(chars.position()));
                if (pair) {
                    appendCodePoint(Character.toCodePoint(c, chars.get()));
                } else {
                    appendCodePoint(c);
                }
            }
        }

        private void appendCodePoint(int c) {
            switch (c) {
                case '\t' -> appendToken("\\t");
                case '\n' -> appendToken("\\n");
                case '\r' -> appendToken("\\r");
                case '\\' -> appendToken("\\\\");
                default -> {
                    if (Character.getType(c) == Character.CONTROL) {
                        appendToken(escape("\\x", c, 2));
                    } else if (c != ' ' && isInvisible(c)) {
                        appendToken(c <= 0xFFFF ? escape("\\u", c, 4) : escape("\\U", c, 8));
                    } else {
                        appendToken(new String(Character.toChars(c)));
                    }
                }
            }
        }

        /** The prefix and c in zero-padded lowercase hex; String.format is too slow for files of binary data. */
        static String escape(String prefix, int c, int width) {
            String hex = Integer.toHexString(c);
            return prefix + "0".repeat(Math.max(0, width - hex.length())) + hex;
        }

        /** Characters that would print as nothing or as an ordinary space, and so hide what is wrong with a line. */
        private static boolean isInvisible(int c) {
            int type = Character.getType(c);
            return type == Character.FORMAT || type == Character.SPACE_SEPARATOR
                || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR
                || type == Character.SURROGATE || type == Character.UNASSIGNED
                || type == Character.PRIVATE_USE;
        }

        void appendToken(String token) {
            if (isFull()) {
                return;
            }
            text.append(token);
            if (text.length() <= TEXT_LIMIT - ELLIPSIS.length()) {
                lastBoundaryBeforeEllipsis = text.length();
            }
        }

        String finish() {
            if (text.length() > TEXT_LIMIT) {
                truncated = true;
            }
            if (!truncated) {
                return text.toString();
            }
            if (text.length() > TEXT_LIMIT - ELLIPSIS.length()) {
                text.setLength(lastBoundaryBeforeEllipsis);
            }
            return text.append(ELLIPSIS).toString();
        }
    }

    /** Tracks, byte by byte, whether an over-long line is one huge integer, so its rejection can count digits. */
    private static final class NumberShape {
        private boolean valid = true;
        private boolean sawSign;
        private boolean sawDigit;
        private boolean sawNonZero;
        private boolean trailingBlanks;
        private long significantDigits;

        void accept(byte b) {
            if (!valid) {
                return;
            }
            if (b == ' ' || b == '\t') {
                trailingBlanks = sawDigit;
                valid = sawDigit || !sawSign;
            } else if (trailingBlanks) {
                valid = false;
            } else if (b >= '0' && b <= '9') {
                sawDigit = true;
                if (b != '0' || sawNonZero) {
                    sawNonZero = true;
                    significantDigits++;
                }
            } else if ((b == '+' || b == '-') && !sawSign && !sawDigit) {
                sawSign = true;
            } else {
                valid = false;
            }
        }

        boolean isNumber() {
            return valid && sawDigit;
        }

        long significantDigits() {
            return significantDigits;
        }

        void reset() {
            valid = true;
            sawSign = false;
            sawDigit = false;
            sawNonZero = false;
            trailingBlanks = false;
            significantDigits = 0;
        }
    }
}
