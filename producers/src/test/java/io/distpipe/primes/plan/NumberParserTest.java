package io.distpipe.primes.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.math.BigInteger;
import java.util.stream.Stream;

import io.distpipe.primes.plan.NumberParser.ParsedLine;
import io.distpipe.primes.plan.NumberParser.ParsedLine.Blank;
import io.distpipe.primes.plan.NumberParser.ParsedLine.Rejected;
import io.distpipe.primes.plan.NumberParser.ParsedLine.Value;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class NumberParserTest {

    private final NumberParser parser = new NumberParser();

    static Stream<Arguments> integers() {
        return Stream.of(
            arguments("42", "42"),
            arguments("+42", "42"),
            arguments("-42", "-42"),
            arguments("0", "0"),
            arguments("1", "1"),
            arguments("-1", "-1"),
            arguments("-0", "0"),
            arguments("+0", "0"),
            arguments("007", "7"),
            arguments("-007", "-7"),
            arguments("0000", "0"),
            arguments("  42  ", "42"),
            arguments("\t42\t", "42"),
            arguments(" \t -17 \t ", "-17"),
            arguments("999999999999999999", "999999999999999999"),
            arguments("1000000000000000000", "1000000000000000000"),
            arguments("9223372036854775807", "9223372036854775807"),
            arguments("9223372036854775808", "9223372036854775808"),
            arguments("-9223372036854775808", "-9223372036854775808"),
            arguments("-9223372036854775809", "-9223372036854775809"),
            arguments("000000000000000000000000000012", "12"),
            arguments("340282366920938463463374607431768211457", "340282366920938463463374607431768211457"));
    }

    @ParameterizedTest
    @MethodSource("integers")
    void shouldAcceptDecimalIntegers(String line, String expected) {
        assertThat(parser.parse(line)).isEqualTo(new Value(new BigInteger(expected)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "\t", " \t  \t"})
    void shouldTreatEmptyAndWhitespaceOnlyLinesAsBlank(String line) {
        assertThat(parser.parse(line)).isInstanceOf(Blank.class);
    }

    @Test
    void shouldParseAFiveHundredDigitNumberExactly() {
        String digits = "9".repeat(250) + "1234567890".repeat(25);
        BigInteger expected = BigInteger.TEN.pow(500).subtract(BigInteger.TEN.pow(250))
            .add(new BigInteger("1234567890".repeat(25)));

        assertThat(parser.parse(digits)).isEqualTo(new Value(expected));
        assertThat(parser.parse("-" + digits)).isEqualTo(new Value(expected.negate()));
    }

    @Test
    void shouldAcceptNumbersUpToTheDefaultLimitOfOneThousandDigits() {
        String thousandDigits = "7".repeat(1_000);

        assertThat(NumberParser.DEFAULT_MAX_DIGITS).isEqualTo(1_000);
        assertThat(parser.maxDigits()).isEqualTo(1_000);
        assertThat(parser.parse(thousandDigits)).isEqualTo(new Value(new BigInteger(thousandDigits)));
        assertThat(parser.parse("-" + thousandDigits)).isEqualTo(new Value(new BigInteger("-" + thousandDigits)));
        assertThat(parser.parse("7".repeat(1_001)))
            .isEqualTo(new Rejected("number has 1001 digits; the limit is 1000"));
    }

    @Test
    void shouldApplyAConfiguredDigitLimitToSignificantDigitsOnly() {
        NumberParser fiveDigits = new NumberParser(5);

        assertThat(fiveDigits.parse("12345")).isEqualTo(new Value(BigInteger.valueOf(12_345)));
        assertThat(fiveDigits.parse("-0000012345")).isEqualTo(new Value(BigInteger.valueOf(-12_345)));
        assertThat(fiveDigits.parse("123456")).isEqualTo(new Rejected("number has 6 digits; the limit is 5"));
        assertThat(fiveDigits.parse(" -123456 ")).isEqualTo(new Rejected("number has 6 digits; the limit is 5"));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, NumberParser.MAX_MAX_DIGITS + 1})
    void shouldRefuseAnUnusableDigitLimit(int maxDigits) {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> new NumberParser(maxDigits))
            .withMessageContaining("maxDigits")
            .withMessageContaining(String.valueOf(maxDigits));
    }

    static Stream<Arguments> rejections() {
        return Stream.of(
            arguments("abc", NumberParser.NOT_AN_INTEGER),
            arguments("12abc", NumberParser.NOT_AN_INTEGER),
            arguments("abc12", NumberParser.NOT_AN_INTEGER),
            arguments("seven", NumberParser.NOT_AN_INTEGER),
            arguments("12 abc", NumberParser.NOT_AN_INTEGER),
            arguments("hello world", NumberParser.NOT_AN_INTEGER),
            arguments("--5", NumberParser.NOT_AN_INTEGER),
            arguments("5-", NumberParser.NOT_AN_INTEGER),
            arguments("(5)", NumberParser.NOT_AN_INTEGER),
            arguments("42\u00a0", NumberParser.NOT_AN_INTEGER),
            arguments("\u00a042", NumberParser.NOT_AN_INTEGER),
            arguments("\ufeff42", NumberParser.NOT_AN_INTEGER),
            arguments("3.14", NumberParser.DECIMAL_POINT),
            arguments("-2.5", NumberParser.DECIMAL_POINT),
            arguments("3.", NumberParser.DECIMAL_POINT),
            arguments(".5", NumberParser.DECIMAL_POINT),
            arguments("7.0", NumberParser.DECIMAL_POINT),
            arguments("0x1F", NumberParser.HEXADECIMAL),
            arguments("0X1f", NumberParser.HEXADECIMAL),
            arguments("-0xff", NumberParser.HEXADECIMAL),
            arguments("1e5", NumberParser.EXPONENT),
            arguments("1E+5", NumberParser.EXPONENT),
            arguments("2.5e-3", NumberParser.EXPONENT),
            arguments("1,000", NumberParser.GROUP_SEPARATORS),
            arguments("1,000,000", NumberParser.GROUP_SEPARATORS),
            arguments("1_000", NumberParser.GROUP_SEPARATORS),
            arguments("10_00_000", NumberParser.GROUP_SEPARATORS),
            arguments("1.000.000", NumberParser.GROUP_SEPARATORS),
            arguments("1'000", NumberParser.GROUP_SEPARATORS),
            arguments("12 34", NumberParser.MORE_THAN_ONE_VALUE),
            arguments("1 2 3", NumberParser.MORE_THAN_ONE_VALUE),
            arguments("1\t2", NumberParser.MORE_THAN_ONE_VALUE),
            arguments("-1 +2", NumberParser.MORE_THAN_ONE_VALUE),
            arguments("12,34", NumberParser.MORE_THAN_ONE_VALUE),
            arguments("1,2,3", NumberParser.MORE_THAN_ONE_VALUE),
            arguments("1;2", NumberParser.MORE_THAN_ONE_VALUE),
            arguments("3.5 7", NumberParser.MORE_THAN_ONE_VALUE),
            arguments("+", NumberParser.SIGN_WITHOUT_DIGITS),
            arguments("-", NumberParser.SIGN_WITHOUT_DIGITS),
            arguments(" - ", NumberParser.SIGN_WITHOUT_DIGITS),
            arguments("+-", NumberParser.SIGN_WITHOUT_DIGITS),
            arguments("- 5", NumberParser.SPACE_AFTER_SIGN),
            arguments("\u0664\u0662", NumberParser.NON_ASCII_DIGITS),
            arguments("-\u0664\u0662", NumberParser.NON_ASCII_DIGITS),
            arguments("1\u0662", NumberParser.NON_ASCII_DIGITS),
            arguments("\u06f4\u06f2", NumberParser.NON_ASCII_DIGITS),
            arguments("\uff14\uff12", NumberParser.NON_ASCII_DIGITS),
            arguments("\u0968", NumberParser.NON_ASCII_DIGITS),
            arguments("1\u00002", NumberParser.BINARY_DATA),
            arguments("\u0000", NumberParser.BINARY_DATA),
            arguments("42\u0000", NumberParser.BINARY_DATA),
            arguments("\u0001\u0002\u0003", NumberParser.BINARY_DATA),
            arguments("4\u001b[0m2", NumberParser.BINARY_DATA),
            arguments("42\r", NumberParser.BINARY_DATA));
    }

    @ParameterizedTest
    @MethodSource("rejections")
    void shouldRejectAnythingButAnIntegerWithAClearReason(String line, String reason) {
        assertThat(parser.parse(line)).isEqualTo(new Rejected(reason));
    }

    @Test
    void shouldNameTheReasonsTheSpecificationAsksFor() {
        assertThat(NumberParser.NOT_AN_INTEGER).isEqualTo("not a decimal integer");
        assertThat(NumberParser.DECIMAL_POINT).isEqualTo("decimal point: only integers are accepted");
        assertThat(NumberParser.HEXADECIMAL).isEqualTo("hexadecimal is not accepted");
        assertThat(NumberParser.MORE_THAN_ONE_VALUE).isEqualTo("more than one value on the line");
        assertThat(NumberParser.BINARY_DATA).isEqualTo("binary data");
    }

    @Test
    void shouldReturnOnlyTheThreeKindsOfParsedLine() {
        ParsedLine parsed = parser.parse("13");

        assertThat(parsed).isInstanceOfAny(Blank.class, Value.class, Rejected.class);
    }
}
