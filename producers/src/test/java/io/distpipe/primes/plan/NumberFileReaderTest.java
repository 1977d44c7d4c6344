package io.distpipe.primes.plan;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;

import com.sun.management.ThreadMXBean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NumberFileReaderTest {

    private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    @TempDir
    Path dir;

    private final NumberParser parser = new NumberParser();

    /** What the sink saw, in order. */
    sealed interface Event {
    }

    record Accepted(long line, BigInteger value) implements Event {
    }

    record Refused(long line, String text, String reason) implements Event {
    }

    private static final class RecordingSink implements NumberFileReader.LineSink {
        final List<Event> events = new ArrayList<>();

        @Override
        public void value(long lineNumber, BigInteger value) {
            events.add(new Accepted(lineNumber, value));
        }

        @Override
        public void rejected(long lineNumber, String text, String reason) {
            events.add(new Refused(lineNumber, text, reason));
        }
    }

    @Test
    void shouldReadOneNumberPerLineWithOneBasedLineNumbers() throws IOException {
        assertThat(read("1\n22\n-3\n+4\n")).containsExactly(
            accepted(1, 1), accepted(2, 22), accepted(3, -3), accepted(4, 4));
    }

    @Test
    void shouldSkipBlankLinesButCountThem() throws IOException {
        assertThat(read("\n1\n\n   \n\t\n \t \n5\n\n")).containsExactly(accepted(2, 1), accepted(7, 5));
    }

    @Test
    void shouldAcceptCrlfLineEndings() throws IOException {
        assertThat(read("1\r\n2\r\n\r\n 4 \r\n")).containsExactly(accepted(1, 1), accepted(2, 2), accepted(4, 4));
    }

    @Test
    void shouldTreatALoneCarriageReturnAsALineEnd() throws IOException {
        assertThat(read("1\r2\r\r4\r")).containsExactly(accepted(1, 1), accepted(2, 2), accepted(4, 4));
    }

    @Test
    void shouldAcceptMixedLineEndings() throws IOException {
        assertThat(read("1\n2\r\n3\r4\n\r\n6")).containsExactly(
            accepted(1, 1), accepted(2, 2), accepted(3, 3), accepted(4, 4), accepted(6, 6));
    }

    @Test
    void shouldReadTheLastLineWithoutATrailingNewline() throws IOException {
        assertThat(read("1\n2")).containsExactly(accepted(1, 1), accepted(2, 2));
        assertThat(read("1\r\n-2")).containsExactly(accepted(1, 1), accepted(2, -2));
        assertThat(read("x")).containsExactly(new Refused(1, "x", NumberParser.NOT_AN_INTEGER));
    }

    @Test
    void shouldReadNothingFromAnEmptyFile() throws IOException {
        assertThat(read("")).isEmpty();
        assertThat(read(BOM)).isEmpty();
        assertThat(read("\n\r\n\n")).isEmpty();
    }

    @Test
    void shouldSkipAByteOrderMarkAtTheStartOfTheFile() throws IOException {
        assertThat(read(concat(BOM, "42\n7".getBytes(UTF_8)))).containsExactly(accepted(1, 42), accepted(2, 7));
        assertThat(read(concat(BOM, "\r\n5\r\n".getBytes(UTF_8)))).containsExactly(accepted(2, 5));
        assertThat(read(concat(BOM, "9".getBytes(UTF_8)))).containsExactly(accepted(1, 9));
    }

    @Test
    void shouldRejectAByteOrderMarkAnywhereElse() throws IOException {
        assertThat(read(concat("1\n".getBytes(UTF_8), BOM, "2\n".getBytes(UTF_8)))).containsExactly(
            accepted(1, 1), new Refused(2, "\\ufeff2", NumberParser.NOT_AN_INTEGER));
        assertThat(read(concat(BOM, BOM, "3".getBytes(UTF_8)))).containsExactly(
            new Refused(1, "\\ufeff3", NumberParser.NOT_AN_INTEGER));
    }

    @Test
    void shouldRejectInvalidUtf8AndShowTheBadBytes() throws IOException {
        byte[] content = concat(
            bytes("12", 0xFF, '\n'),
            bytes('c', 'a', 'f', 0xE9, '\n'),
            bytes(0xC0, 0xB0, '\n'),
            bytes(0xED, 0xA0, 0x80, '\n'),
            bytes('7', 0xE2, 0x82, '\n'),
            bytes(0x80, '\n'),
            "8\n".getBytes(UTF_8));

        assertThat(read(content)).containsExactly(
            new Refused(1, "12\\xff", NumberFileReader.NOT_UTF8),
            new Refused(2, "caf\\xe9", NumberFileReader.NOT_UTF8),
            new Refused(3, "\\xc0\\xb0", NumberFileReader.NOT_UTF8),
            new Refused(4, "\\xed\\xa0\\x80", NumberFileReader.NOT_UTF8),
            new Refused(5, "7\\xe2\\x82", NumberFileReader.NOT_UTF8),
            new Refused(6, "\\x80", NumberFileReader.NOT_UTF8),
            accepted(7, 8));
    }

    @Test
    void shouldAcceptValidUtf8ButRejectItsLetters() throws IOException {
        assertThat(read("café\n٤٢\n")).containsExactly(
            new Refused(1, "café", NumberParser.NOT_AN_INTEGER),
            new Refused(2, "٤٢", NumberParser.NON_ASCII_DIGITS));
    }

    @Test
    void shouldRejectLinesWithNulAsBinaryData() throws IOException {
        assertThat(read(concat(bytes('1', 0, '2', '\n'), bytes(0, 0xFF, '\n'), bytes('3')))).containsExactly(
            new Refused(1, "1\\x002", NumberParser.BINARY_DATA),
            new Refused(2, "\\x00\\xff", NumberParser.BINARY_DATA),
            accepted(3, 3));
    }

    @Test
    void shouldRejectEveryMalformedLineAndKeepReading() throws IOException {
        String content = String.join("\n",
            "abc", "3.14", "0x1F", "1e5", "1,000", "1_000", "12 34", "+", "-", "١٢", "\u0007", "007", "");

        assertThat(read(content)).containsExactly(
            new Refused(1, "abc", NumberParser.NOT_AN_INTEGER),
            new Refused(2, "3.14", NumberParser.DECIMAL_POINT),
            new Refused(3, "0x1F", NumberParser.HEXADECIMAL),
            new Refused(4, "1e5", NumberParser.EXPONENT),
            new Refused(5, "1,000", NumberParser.GROUP_SEPARATORS),
            new Refused(6, "1_000", NumberParser.GROUP_SEPARATORS),
            new Refused(7, "12 34", NumberParser.MORE_THAN_ONE_VALUE),
            new Refused(8, "+", NumberParser.SIGN_WITHOUT_DIGITS),
            new Refused(9, "-", NumberParser.SIGN_WITHOUT_DIGITS),
            new Refused(10, "١٢", NumberParser.NON_ASCII_DIGITS),
            new Refused(11, "\\x07", NumberParser.BINARY_DATA),
            accepted(12, 7));
    }

    @Test
    void shouldAcceptNegativeNumbersZeroAndOne() throws IOException {
        assertThat(read("-5\n0\n1\n-0\n")).containsExactly(
            accepted(1, -5), accepted(2, 0), accepted(3, 1), accepted(4, 0));
    }

    @Test
    void shouldParseAFiveHundredDigitLineExactly() throws IOException {
        String digits = "31415926535897932384626433832795028841971693993751".repeat(10);

        assertThat(read("2\n " + digits + " \r\n3")).containsExactly(
            accepted(1, 2), new Accepted(2, new BigInteger(digits)), accepted(3, 3));
    }

    @Test
    void shouldEscapeControlAndInvisibleCharactersInRejectedText() throws IOException {
        assertThat(read("\t1 x\\y\n4\u00a0\n5\u200b\n6\u202e\n")).containsExactly(
            new Refused(1, "\\t1 x\\\\y", NumberParser.NOT_AN_INTEGER),
            new Refused(2, "4\\u00a0", NumberParser.NOT_AN_INTEGER),
            new Refused(3, "5\\u200b", NumberParser.NOT_AN_INTEGER),
            new Refused(4, "6\\u202e", NumberParser.NOT_AN_INTEGER));
    }

    @Test
    void shouldTruncateRejectedTextToEightyCharacters() throws IOException {
        List<Event> events = read("a".repeat(80) + "\n" + "b".repeat(81) + "\n" + "c".repeat(500) + "\n");

        assertThat(events).containsExactly(
            new Refused(1, "a".repeat(80), NumberParser.NOT_AN_INTEGER),
            new Refused(2, "b".repeat(79) + "…", NumberParser.NOT_AN_INTEGER),
            new Refused(3, "c".repeat(79) + "…", NumberParser.NOT_AN_INTEGER));
    }

    @Test
    void shouldNotCutAnEscapeOrASurrogatePairWhenTruncating() throws IOException {
        String escapes = "x".repeat(77) + "\u0001\u0001";
        String emoji = "y".repeat(78) + "\uD83D\uDE00\uD83D\uDE00";

        assertThat(read(escapes + "\n" + emoji + "\n")).containsExactly(
            new Refused(1, "x".repeat(77) + "…", NumberParser.BINARY_DATA),
            new Refused(2, "y".repeat(78) + "…", NumberParser.NOT_AN_INTEGER));
    }

    @Test
    void shouldRejectAnOverlongLineOfDigitsWithItsDigitCountWithoutBufferingIt() throws IOException {
        int tenMegabytes = 10 * 1024 * 1024;
        Path file = dir.resolve("long-line.txt");
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write("5\n".getBytes(UTF_8));
            byte[] digits = "1234567890".repeat(1024 * 1024 / 10 + 1).substring(0, 1024 * 1024).getBytes(UTF_8);
            for (int i = 0; i < tenMegabytes / digits.length; i++) {
                out.write(digits);
            }
            out.write("\r\n17\n".getBytes(UTF_8));
        }

        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
            "this JVM cannot count a thread's allocations");
        long allocatedBefore = threads.getCurrentThreadAllocatedBytes();

        List<Event> events = read(file, parser);

        long allocated = threads.getCurrentThreadAllocatedBytes() - allocatedBefore;
        assertThat(allocated).as("bytes allocated while reading a %d-byte line", tenMegabytes)
            .isLessThan(tenMegabytes / 5);
        assertThat(events).containsExactly(
            accepted(1, 5),
            new Refused(2, "1234567890".repeat(8).substring(0, 79) + "…",
                "number has " + tenMegabytes + " digits; the limit is 1000"),
            accepted(3, 17));
    }

    @Test
    void shouldRejectAnOverlongLineThatIsNotOneNumberByItsLength() throws IOException {
        String longText = "word ".repeat(1_000);
        String paddedSmallNumber = "0".repeat(5_000) + "7";

        assertThat(read(longText + "\n" + paddedSmallNumber + "\n9")).containsExactly(
            new Refused(1, longText.substring(0, 79) + "…", "line is longer than 1100 bytes"),
            new Refused(2, "0".repeat(79) + "…", "line is longer than 1100 bytes"),
            accepted(3, 9));
    }

    @Test
    void shouldBoundLineLengthByTheParsersDigitLimit() throws IOException {
        NumberParser tenDigits = new NumberParser(10);
        String elevenDigits = "12345678901";
        String overlong = " ".repeat(100) + "1234567890" + " ".repeat(10);

        assertThat(read(write(elevenDigits + "\n" + overlong + "\n-1234567890\n"), tenDigits)).containsExactly(
            new Refused(1, elevenDigits, "number has 11 digits; the limit is 10"),
            new Refused(2, " ".repeat(79) + "…", "line is longer than 110 bytes"),
            new Accepted(3, BigInteger.valueOf(-1_234_567_890)));
    }

    @Test
    void shouldRejectRandomBinaryDataLineByLineWithoutFailing() throws IOException {
        byte[] content = new byte[1 << 20];
        new Random(7L).nextBytes(content);

        assertThat(Arrays.copyOf(content, 3)).isNotEqualTo(BOM);

        List<Event> events = read(content);

        assertThat(withoutTextAndReason(events)).isEqualTo(expectedForRawBytes(content));
        assertThat(events).filteredOn(Refused.class::isInstance).hasSizeGreaterThan(5_000);
        for (Event event : events) {
            if (event instanceof Refused refused) {
                assertThat(refused.text()).hasSizeLessThanOrEqualTo(NumberFileReader.TEXT_LIMIT);
                assertThat(refused.text().codePoints()).noneMatch(c -> Character.getType(c) == Character.CONTROL);
            }
        }
    }

    @Test
    void shouldGiveTheSameResultWhenTheStreamDeliversOneByteAtATime() throws IOException {
        byte[] content = concat(BOM, "1\r\n\r\n 2 \r3\n".getBytes(UTF_8), bytes('x', 0xC3), "\r\n".getBytes(UTF_8),
            "é4\n".getBytes(UTF_8), "7".repeat(2_000).getBytes(UTF_8), "\r\n5".getBytes(UTF_8));
        RecordingSink sink = new RecordingSink();

        NumberFileReader.read(new OneByteAtATime(content), parser, sink);

        assertThat(sink.events).isEqualTo(read(content)).containsExactly(
            accepted(1, 1), accepted(3, 2), accepted(4, 3),
            new Refused(5, "x\\xc3", NumberFileReader.NOT_UTF8),
            new Refused(6, "é4", NumberParser.NOT_AN_INTEGER),
            new Refused(7, "7".repeat(79) + "…", "number has 2000 digits; the limit is 1000"),
            accepted(8, 5));
    }

    @Test
    void shouldStreamAFileWithManyLines() throws IOException {
        int lines = 200_000;
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        for (int i = 1; i <= lines; i++) {
            content.writeBytes((i + "\n").getBytes(UTF_8));
        }
        long[] count = new long[1];
        BigInteger[] sum = {BigInteger.ZERO};
        long[] lastLine = new long[1];

        NumberFileReader.read(write(content.toByteArray()), parser, new NumberFileReader.LineSink() {
            @Override
            public void value(long lineNumber, BigInteger value) {
                count[0]++;
                sum[0] = sum[0].add(value);
                lastLine[0] = lineNumber;
            }

            @Override
            public void rejected(long lineNumber, String text, String reason) {
                throw new AssertionError("line " + lineNumber + " rejected: " + reason);
            }
        });

        assertThat(count[0]).isEqualTo(lines);
        assertThat(lastLine[0]).isEqualTo(lines);
        assertThat(sum[0]).isEqualTo(BigInteger.valueOf((long) lines * (lines + 1) / 2));
    }

    /** A separate model of line splitting and of which lines are numbers, for bytes without a BOM or long numbers. */
    private static List<Event> expectedForRawBytes(byte[] content) {
        Pattern integer = Pattern.compile("[ \\t]*[+-]?[0-9]+[ \\t]*");
        Pattern blank = Pattern.compile("[ \\t]*");
        String[] lines = new String(content, ISO_8859_1).split("\r\n|\r|\n", -1);
        int lineCount = lines[lines.length - 1].isEmpty() ? lines.length - 1 : lines.length;
        List<Event> expected = new ArrayList<>();
        for (int i = 0; i < lineCount; i++) {
            String line = lines[i];
            if (integer.matcher(line).matches()) {
                expected.add(new Accepted(i + 1, new BigInteger(line.strip())));
            } else if (!blank.matcher(line).matches()) {
                expected.add(new Refused(i + 1, "", ""));
            }
        }
        return expected;
    }

    private static List<Event> withoutTextAndReason(List<Event> events) {
        return events.stream()
            .map(e -> e instanceof Refused refused ? new Refused(refused.line(), "", "") : e)
            .toList();
    }

    private List<Event> read(String content) throws IOException {
        return read(content.getBytes(UTF_8));
    }

    private List<Event> read(byte[] content) throws IOException {
        return read(write(content), parser);
    }

    private static List<Event> read(Path file, NumberParser parser) throws IOException {
        RecordingSink sink = new RecordingSink();
        NumberFileReader.read(file, parser, sink);
        return sink.events;
    }

    private Path write(String content) throws IOException {
        return write(content.getBytes(UTF_8));
    }

    private Path write(byte[] content) throws IOException {
        return Files.write(Files.createTempFile(dir, "numbers", ".txt"), content);
    }

    private static Accepted accepted(long line, long value) {
        return new Accepted(line, BigInteger.valueOf(value));
    }

    private static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            if (part instanceof String s) {
                out.writeBytes(s.getBytes(UTF_8));
            } else if (part instanceof Character c) {
                out.write(c);
            } else {
                out.write((Integer) part);
            }
        }
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Arrays.stream(parts).forEach(out::writeBytes);
        return out.toByteArray();
    }

    /** Returns at most one byte per read, to exercise every split of a BOM, a CRLF or a UTF-8 sequence. */
    private static final class OneByteAtATime extends InputStream {
        private final ByteArrayInputStream in;

        OneByteAtATime(byte[] content) {
            this.in = new ByteArrayInputStream(content);
        }

        @Override
        public int read() {
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) {
            return in.read(b, off, Math.min(len, 1));
        }
    }
}
