package io.distpipe.primes.work;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.IntStream;

import io.distpipe.primes.work.MillerRabin.Verdict;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MillerRabinTest {

    private static final int SIEVE_LIMIT = 1_000_000;
    private static final BigInteger TWO_TO_63 = BigInteger.TWO.pow(63);
    private static final BigInteger TWO_TO_64 = BigInteger.TWO.pow(64);
    private static final BigInteger LIMIT = MillerRabin.DETERMINISTIC_LIMIT;
    private static final int RANDOM_SAMPLES = 300;
    private static final int[] FIRST_PRIMES = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41};

    private static boolean[] sieve;

    @BeforeAll
    static void buildSieve() {
        sieve = new boolean[SIEVE_LIMIT];
        Arrays.fill(sieve, 2, SIEVE_LIMIT, true);
        for (int i = 2; (long) i * i < SIEVE_LIMIT; i++) {
            if (sieve[i]) {
                for (int j = i * i; j < SIEVE_LIMIT; j += i) {
                    sieve[j] = false;
                }
            }
        }
    }

    @Test
    void shouldAgreeWithSieveBelowOneMillion() {
        List<Integer> disagreements = IntStream.range(0, SIEVE_LIMIT)
            .filter(n -> MillerRabin.isPrime(n) != sieve[n])
            .boxed()
            .toList();

        assertThat(disagreements).isEmpty();
    }

    @Test
    void shouldAgreeWithSieveBelowOneMillionOnBigIntegerPath() {
        List<Integer> disagreements = IntStream.range(0, SIEVE_LIMIT)
            .filter(n -> (MillerRabin.test(BigInteger.valueOf(n)) == Verdict.PRIME) != sieve[n])
            .boxed()
            .toList();

        assertThat(disagreements).isEmpty();
        assertThat(IntStream.range(0, SIEVE_LIMIT).mapToObj(n -> MillerRabin.test(BigInteger.valueOf(n))))
            .doesNotContain(Verdict.PROBABLE_PRIME);
    }

    @ParameterizedTest
    @ValueSource(longs = {Long.MIN_VALUE, -7, -2, -1, 0, 1})
    void shouldRejectNegativeNumbersZeroAndOne(long n) {
        assertThat(MillerRabin.isPrime(n)).isFalse();
        assertThat(MillerRabin.test(BigInteger.valueOf(n))).isEqualTo(Verdict.COMPOSITE);
    }

    @Test
    void shouldRejectHugeNegativeNumbers() {
        BigInteger negativeMersenne = BigInteger.TWO.pow(127).subtract(BigInteger.ONE).negate();

        assertThat(MillerRabin.test(negativeMersenne)).isEqualTo(Verdict.COMPOSITE);
    }

    /** ψ_k from OEIS A014233: the smallest strong pseudoprime to all of the first k prime bases. */
    @ParameterizedTest
    @ValueSource(strings = {
        "1:2047", "2:1373653", "3:25326001", "4:3215031751", "5:2152302898747", "6:3474749660383",
        "8:341550071728321", "11:3825123056546413051", "12:318665857834031151167461",
        "14:3317044064679887385961981",
    })
    void shouldReportStrongPseudoprimesToTheFirstPrimeBasesAsComposite(String basesAndNumber) {
        int bases = Integer.parseInt(basesAndNumber.substring(0, basesAndNumber.indexOf(':')));
        BigInteger n = new BigInteger(basesAndNumber.substring(basesAndNumber.indexOf(':') + 1));
        // Guard the test's premise: n really fools every one of those bases, so only a correct base set catches it.
        for (int i = 0; i < Math.min(bases, FIRST_PRIMES.length); i++) {
            assertThat(isStrongProbablePrime(n, FIRST_PRIMES[i])).as("%s passes base %d", n, FIRST_PRIMES[i]).isTrue();
        }

        assertThat(MillerRabin.test(n)).isEqualTo(Verdict.COMPOSITE);
        if (n.bitLength() < Long.SIZE) {
            assertThat(MillerRabin.isPrime(n.longValue())).isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {
        561, 1105, 1729, 2465, 2821, 6601, 8911, 41041, 825265, 321197185, 5394826801L, 232250619601L,
        9746347772161L,
    })
    void shouldRejectCarmichaelNumbers(long n) {
        assertThat(MillerRabin.isPrime(n)).isFalse();
        assertThat(MillerRabin.test(BigInteger.valueOf(n))).isEqualTo(Verdict.COMPOSITE);
    }

    @Test
    void shouldRejectCarmichaelNumbersWithoutSmallFactorsBeyondTwoToThe63() {
        // (6k+1)(12k+1)(18k+1) is a Carmichael number when all three factors are prime (Chernick); k chosen so that
        // every factor exceeds 1000 and the product lies in each of the two BigInteger ranges.
        List<BigInteger> carmichaels = new ArrayList<>();
        for (long k = 400_000; carmichaels.size() < 5; k++) {
            chernick(k).ifPresent(carmichaels::add);
        }
        for (long k = 400_000_000_000L; carmichaels.size() < 10; k++) {
            chernick(k).ifPresent(carmichaels::add);
        }

        assertThat(carmichaels.subList(0, 5)).allMatch(n -> n.compareTo(TWO_TO_63) > 0 && n.compareTo(LIMIT) < 0);
        assertThat(carmichaels.subList(5, 10)).allMatch(n -> n.compareTo(LIMIT) > 0);
        assertThat(carmichaels).allMatch(n -> MillerRabin.test(n) == Verdict.COMPOSITE);
    }

    @Test
    void shouldAcceptKnownPrimesInTheLongRange() {
        long mersenne31 = (1L << 31) - 1;
        long mersenne61 = (1L << 61) - 1;
        long largestBelowTwoToThe63 = Long.MAX_VALUE - 24;

        assertThat(MillerRabin.isPrime(mersenne31)).isTrue();
        assertThat(MillerRabin.isPrime(mersenne61)).isTrue();
        assertThat(MillerRabin.isPrime(largestBelowTwoToThe63)).isTrue();
        assertThat(MillerRabin.test(BigInteger.valueOf(mersenne61))).isEqualTo(Verdict.PRIME);
        assertThat(MillerRabin.test(BigInteger.valueOf(largestBelowTwoToThe63))).isEqualTo(Verdict.PRIME);
    }

    @Test
    void shouldProvePrimesBelowTheDeterministicLimit() {
        BigInteger smallestAboveTwoToThe63 = TWO_TO_63.add(BigInteger.valueOf(29));
        BigInteger largestBelowTwoToThe64 = TWO_TO_64.subtract(BigInteger.valueOf(59));
        BigInteger smallestAboveTwoToThe64 = TWO_TO_64.add(BigInteger.valueOf(13));
        BigInteger tenToThe24Plus7 = BigInteger.TEN.pow(24).add(BigInteger.valueOf(7));
        BigInteger largestBelowLimit = LIMIT.subtract(BigInteger.valueOf(168));

        assertThat(List.of(smallestAboveTwoToThe63, largestBelowTwoToThe64, smallestAboveTwoToThe64,
            tenToThe24Plus7, largestBelowLimit)).allMatch(n -> MillerRabin.test(n) == Verdict.PRIME);
    }

    @Test
    void shouldCallLargeMersennePrimesProbablePrime() {
        BigInteger mersenne89 = BigInteger.TWO.pow(89).subtract(BigInteger.ONE);
        BigInteger mersenne127 = BigInteger.TWO.pow(127).subtract(BigInteger.ONE);
        BigInteger mersenne521 = BigInteger.TWO.pow(521).subtract(BigInteger.ONE);
        BigInteger smallestAboveLimit = LIMIT.add(BigInteger.valueOf(142));

        assertThat(List.of(mersenne89, mersenne127, mersenne521, smallestAboveLimit))
            .allMatch(n -> MillerRabin.test(n) == Verdict.PROBABLE_PRIME);
    }

    @Test
    void shouldRejectCompositeMersenneNumbers() {
        assertThat(MillerRabin.isPrime((1L << 59) - 1)).isFalse();
        assertThat(MillerRabin.test(BigInteger.TWO.pow(67).subtract(BigInteger.ONE))).isEqualTo(Verdict.COMPOSITE);
        assertThat(MillerRabin.test(BigInteger.TWO.pow(101).subtract(BigInteger.ONE))).isEqualTo(Verdict.COMPOSITE);
    }

    @Test
    void shouldRejectProductsOfTwoLargePrimes() {
        Random random = new Random(20_240_611L);
        for (int bits : new int[] {20, 31, 40, 41, 60, 100, 256}) {
            for (int i = 0; i < 20; i++) {
                BigInteger p = BigInteger.probablePrime(bits, random);
                BigInteger q = BigInteger.probablePrime(bits + random.nextInt(2), random);
                BigInteger product = p.multiply(q);

                assertThat(MillerRabin.test(product)).as("%s * %s", p, q).isEqualTo(Verdict.COMPOSITE);
                assertThat(MillerRabin.test(p.multiply(p))).as("%s squared", p).isEqualTo(Verdict.COMPOSITE);
                if (product.bitLength() < Long.SIZE) {
                    assertThat(MillerRabin.isPrime(product.longValueExact())).as("%s * %s", p, q).isFalse();
                }
            }
        }
    }

    @Test
    void shouldRejectProductOfTheTwoLargestPrimesBelowSquareRootOfTwoToThe63() {
        long p = 3_037_000_493L;
        long q = 3_037_000_453L;
        assertThat(BigInteger.valueOf(p).isProbablePrime(100)).isTrue();
        assertThat(BigInteger.valueOf(q).isProbablePrime(100)).isTrue();

        assertThat(MillerRabin.isPrime(Math.multiplyExact(p, q))).isFalse();
        assertThat(MillerRabin.isPrime(p)).isTrue();
        assertThat(MillerRabin.isPrime(q)).isTrue();
    }

    @Test
    void shouldRejectLongMaxValue() {
        assertThat(MillerRabin.isPrime(Long.MAX_VALUE)).isFalse();
        assertThat(MillerRabin.test(BigInteger.valueOf(Long.MAX_VALUE))).isEqualTo(Verdict.COMPOSITE);
    }

    @Test
    void shouldAgreeWithOracleAroundTwoToThe63() {
        for (int offset = -2_000; offset <= 2_000; offset++) {
            BigInteger n = TWO_TO_63.add(BigInteger.valueOf(offset));
            assertThat(MillerRabin.test(n)).as("2^63 %+d", offset).isEqualTo(oracle(n));
            if (offset < 0) {
                assertThat(MillerRabin.isPrime(n.longValueExact())).as("2^63 %+d", offset).isEqualTo(isOraclePrime(n));
            }
        }
    }

    @Test
    void shouldAgreeWithOracleAroundTwoToThe64() {
        for (int offset = -2_000; offset <= 2_000; offset++) {
            BigInteger n = TWO_TO_64.add(BigInteger.valueOf(offset));
            assertThat(MillerRabin.test(n)).as("2^64 %+d", offset).isEqualTo(oracle(n));
        }
    }

    @Test
    void shouldAgreeWithOracleAroundTheDeterministicLimit() {
        for (int offset = -2_000; offset <= 2_000; offset++) {
            BigInteger n = LIMIT.add(BigInteger.valueOf(offset));
            assertThat(MillerRabin.test(n)).as("limit %+d", offset).isEqualTo(oracle(n));
        }
    }

    @Test
    void shouldAgreeWithOracleForRandomLongs() {
        Random random = new Random(63L);
        for (BigInteger n : samples(random, BigInteger.TWO, TWO_TO_63)) {
            boolean expected = isOraclePrime(n);

            assertThat(MillerRabin.isPrime(n.longValueExact())).as("%s", n).isEqualTo(expected);
            assertThat(MillerRabin.test(n)).as("%s", n).isEqualTo(expected ? Verdict.PRIME : Verdict.COMPOSITE);
        }
    }

    @Test
    void shouldAgreeWithOracleBetweenTwoToThe63AndTheDeterministicLimit() {
        Random random = new Random(82L);
        for (BigInteger n : samples(random, TWO_TO_63, LIMIT)) {
            assertThat(MillerRabin.test(n)).as("%s", n).isEqualTo(oracle(n));
        }
    }

    @Test
    void shouldAgreeWithOracleAboveTheDeterministicLimit() {
        Random random = new Random(256L);
        for (BigInteger n : samples(random, LIMIT, BigInteger.TWO.pow(256))) {
            assertThat(MillerRabin.test(n)).as("%s", n).isEqualTo(oracle(n));
        }
    }

    @Test
    void shouldGiveTheSameVerdictEveryTime() {
        BigInteger psi13 = LIMIT;
        BigInteger mersenne127 = BigInteger.TWO.pow(127).subtract(BigInteger.ONE);

        for (int i = 0; i < 5; i++) {
            assertThat(MillerRabin.test(psi13)).isEqualTo(Verdict.COMPOSITE);
            assertThat(MillerRabin.test(mersenne127)).isEqualTo(Verdict.PROBABLE_PRIME);
        }
    }

    @Test
    void shouldBeDeterministicExactlyBelowTheLimit() {
        assertThat(MillerRabin.isDeterministicRange(BigInteger.valueOf(-5))).isTrue();
        assertThat(MillerRabin.isDeterministicRange(TWO_TO_64)).isTrue();
        assertThat(MillerRabin.isDeterministicRange(LIMIT.subtract(BigInteger.ONE))).isTrue();
        assertThat(MillerRabin.isDeterministicRange(LIMIT)).isFalse();
        assertThat(MillerRabin.isDeterministicRange(BigInteger.TWO.pow(127))).isFalse();
    }

    @Test
    void shouldRejectNullWithAClearException() {
        assertThatNullPointerException().isThrownBy(() -> MillerRabin.test(null));
    }

    /**
     * Uniform odd samples in [from, to) plus, for each, the next prime and a product of two primes of about half its
     * size, so that primes (rare among random values) and hard composites are well represented.
     */
    private static List<BigInteger> samples(Random random, BigInteger from, BigInteger to) {
        BigInteger span = to.subtract(from);
        List<BigInteger> samples = new ArrayList<>();
        while (samples.size() < 3 * RANDOM_SAMPLES) {
            BigInteger offset = new BigInteger(span.bitLength(), random);
            if (offset.compareTo(span) >= 0) {
                continue;
            }
            BigInteger n = from.add(offset).setBit(0);
            BigInteger nextPrime = n.nextProbablePrime();
            int halfBits = Math.max(2, n.bitLength() / 2);
            BigInteger semiprime = BigInteger.probablePrime(halfBits, random)
                .multiply(BigInteger.probablePrime(Math.max(2, n.bitLength() - halfBits), random));
            for (BigInteger candidate : List.of(n, nextPrime, semiprime)) {
                if (candidate.compareTo(from) >= 0 && candidate.compareTo(to) < 0) {
                    samples.add(candidate);
                }
            }
        }
        return samples;
    }

    private static Verdict oracle(BigInteger n) {
        if (!isOraclePrime(n)) {
            return Verdict.COMPOSITE;
        }
        return n.compareTo(LIMIT) < 0 ? Verdict.PRIME : Verdict.PROBABLE_PRIME;
    }

    private static boolean isOraclePrime(BigInteger n) {
        return n.isProbablePrime(100);
    }

    private static boolean isStrongProbablePrime(BigInteger n, int base) {
        BigInteger nMinus1 = n.subtract(BigInteger.ONE);
        int s = nMinus1.getLowestSetBit();
        BigInteger x = BigInteger.valueOf(base).modPow(nMinus1.shiftRight(s), n);
        if (x.equals(BigInteger.ONE) || x.equals(nMinus1)) {
            return true;
        }
        for (int r = 1; r < s; r++) {
            x = x.multiply(x).mod(n);
            if (x.equals(nMinus1)) {
                return true;
            }
        }
        return false;
    }

    private static Optional<BigInteger> chernick(long k) {
        BigInteger a = BigInteger.valueOf(6 * k + 1);
        BigInteger b = BigInteger.valueOf(12 * k + 1);
        BigInteger c = BigInteger.valueOf(18 * k + 1);
        if (a.isProbablePrime(100) && b.isProbablePrime(100) && c.isProbablePrime(100)) {
            return Optional.of(a.multiply(b).multiply(c));
        }
        return Optional.empty();
    }
}
