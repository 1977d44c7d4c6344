package io.distpipe.primes.plan;

import java.math.BigInteger;
import java.util.Objects;
import java.util.regex.Pattern;

import io.distpipe.primes.plan.NumberParser.ParsedLine.Blank;
import io.distpipe.primes.plan.NumberParser.ParsedLine.Rejected;
import io.distpipe.primes.plan.NumberParser.ParsedLine.Value;

/**
 * Parses one line of a numbers file: a decimal integer of any sign with optional surrounding spaces and tabs, a blank
 * line, or a line rejected with a reason a person can act on.
 *
 * <p>Only ASCII digits are accepted. Leading zeros are allowed and do not count towards {@link #maxDigits()}.
 */
public final class NumberParser {

    /** The outcome of parsing one line. */
    public sealed interface ParsedLine {

        /** Empty, or only spaces and tabs: skipped, not an error. */
        record Blank() implements ParsedLine {
        }

        /** A well-formed integer; negative numbers, 0 and 1 included. */
        record Value(BigInteger value) implements ParsedLine {
            public Value {
                Objects.requireNonNull(value, "value");
            }
        }

        /** Anything else, with a one-line reason. */
        record Rejected(String reason) implements ParsedLine {
            public Rejected {
                Objects.requireNonNull(reason, "reason");
            }
        }
    }

    public static final int DEFAULT_MAX_DIGITS = 1_000;
    /** Bounds the reader's line buffer; numbers this long would take far longer to test than to read. */
    public static final int MAX_MAX_DIGITS = 1_000_000;

    static final String NOT_AN_INTEGER = "not a decimal integer";
    static final String DECIMAL_POINT = "decimal point: only integers are accepted";
    static final String HEXADECIMAL = "hexadecimal is not accepted";
    static final String EXPONENT = "exponent notation is not accepted";
    static final String GROUP_SEPARATORS = "digit group separators are not accepted";
    static final String MORE_THAN_ONE_VALUE = "more than one value on the line";
    static final String SIGN_WITHOUT_DIGITS = "sign without digits";
    static final String SPACE_AFTER_SIGN = "space between sign and digits";
    static final String NON_ASCII_DIGITS = "non-ASCII digits: only 0-9 are accepted";
    static final String BINARY_DATA = "binary data";

    /** Digits a long can always hold, so the fast path needs no overflow check. */
    private static final int LONG_SAFE_DIGITS = 18;

    private static final Pattern SPACE_AFTER_SIGN_SHAPE = Pattern.compile("[+-][ \\t]+\\d+");
    private static final Pattern WHITESPACE = Pattern.compile("[ \\t]+");
    private static final Pattern NUMERIC_TOKEN = Pattern.compile("[+-]?[\\d.,_]*\\d[\\d.,_]*");
    private static final Pattern GROUPED = Pattern.compile(
        "[+-]?(\\d+(_\\d+)+|\\d{1,3}(,\\d{3})+|\\d{1,3}(\\.\\d{3}){2,}|\\d{1,3}('\\d{3})+)");
    private static final Pattern EXPONENT_SHAPE = Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)[eE][+-]?\\d+");
    private static final Pattern DECIMAL_SHAPE = Pattern.compile("[+-]?(\\d+\\.\\d*|\\.\\d+)");
    private static final Pattern HEX_SHAPE = Pattern.compile("[+-]?0[xX][0-9a-fA-F]*");
    private static final Pattern SIGNS_ONLY = Pattern.compile("[+-]+");
    private static final Pattern SEPARATED_VALUES = Pattern.compile("[+-]?\\d+([,;|][+-]?\\d+)+[,;|]?");

    private static final Blank BLANK = new Blank();

    private final int maxDigits;

    public NumberParser() {
        this(DEFAULT_MAX_DIGITS);
    }

    public NumberParser(int maxDigits) {
        if (maxDigits < 1 || maxDigits > MAX_MAX_DIGITS) {
            throw new IllegalArgumentException(
                "maxDigits must be between 1 and " + MAX_MAX_DIGITS + " but was " + maxDigits);
        }
        this.maxDigits = maxDigits;
    }

    public int maxDigits() {
        return maxDigits;
    }

    public ParsedLine parse(String line) {
        Objects.requireNonNull(line, "line");
        int start = 0;
        int end = line.length();
        while (start < end && isBlankChar(line.charAt(start))) {
            start++;
        }
        while (end > start && isBlankChar(line.charAt(end - 1))) {
            end--;
        }
        if (start == end) {
            return BLANK;
        }
        ParsedLine number = parseInteger(line, start, end);
        return number != null ? number : new Rejected(explain(line.substring(start, end)));
    }

    static String tooManyDigits(long digits, int limit) {
        return "number has " + digits + " digits; the limit is " + limit;
    }

    /** The integer in line[start, end), or null when it is not a plain optionally signed run of ASCII digits. */
    private ParsedLine parseInteger(String line, int start, int end) {
        int digitsStart = start;
        char first = line.charAt(start);
        boolean negative = first == '-';
        if (negative || first == '+') {
            digitsStart++;
        }
        if (digitsStart == end) {
            return null;
        }
        int significant = -1;
        for (int i = digitsStart; i < end; i++) {
            char c = line.charAt(i);
            if (c < '0' || c > '9') {
                return null;
            }
            if (significant < 0 && c != '0') {
                significant = i;
            }
        }
        if (significant < 0) {
            return new Value(BigInteger.ZERO);
        }
        int digits = end - significant;
        if (digits > maxDigits) {
            return new Rejected(tooManyDigits(digits, maxDigits));
        }
        if (digits <= LONG_SAFE_DIGITS) {
            long magnitude = 0;
            for (int i = significant; i < end; i++) {
                magnitude = magnitude * 10 + (line.charAt(i) - '0');
            }
            return new Value(BigInteger.valueOf(negative ? -magnitude : magnitude));
        }
        BigInteger magnitude = new BigInteger(line.substring(significant, end));
        return new Value(negative ? magnitude.negate() : magnitude);
    }

    /** Why a trimmed, non-blank text that is not an integer was rejected; the most specific reason wins. */
    private static String explain(String text) {
        if (hasControlCharacter(text)) {
            return BINARY_DATA;
        }
        if (SPACE_AFTER_SIGN_SHAPE.matcher(text).matches()) {
            return SPACE_AFTER_SIGN;
        }
        String[] tokens = WHITESPACE.split(text);
        if (tokens.length > 1) {
            boolean allNumeric = true;
            for (String token : tokens) {
                allNumeric &= NUMERIC_TOKEN.matcher(token).matches();
            }
            return allNumeric ? MORE_THAN_ONE_VALUE : NOT_AN_INTEGER;
        }
        if (GROUPED.matcher(text).matches()) {
            return GROUP_SEPARATORS;
        }
        if (EXPONENT_SHAPE.matcher(text).matches()) {
            return EXPONENT;
        }
        if (DECIMAL_SHAPE.matcher(text).matches()) {
            return DECIMAL_POINT;
        }
        if (HEX_SHAPE.matcher(text).matches()) {
            return HEXADECIMAL;
        }
        if (SIGNS_ONLY.matcher(text).matches()) {
            return SIGN_WITHOUT_DIGITS;
        }
        if (SEPARATED_VALUES.matcher(text).matches()) {
            return MORE_THAN_ONE_VALUE;
        }
        if (hasNonAsciiDigit(text)) {
            return NON_ASCII_DIGITS;
        }
        return NOT_AN_INTEGER;
    }

    private static boolean isBlankChar(char c) {
        return c == ' ' || c == '\t';
    }

    private static boolean hasControlCharacter(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '\t' && Character.getType(c) == Character.CONTROL) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasNonAsciiDigit(String text) {
        return text.codePoints().anyMatch(c -> c > 0x7F && Character.isDigit(c));
    }
}
