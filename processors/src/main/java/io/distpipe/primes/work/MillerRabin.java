package io.distpipe.primes.work;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Primality test used by the primes workers: trial division followed by strong-probable-prime (Miller–Rabin) rounds,
 * deterministic for n below {@link #DETERMINISTIC_LIMIT} and probabilistic with error at most 2^-100 above it.
 *
 * <p>The deterministic base sets rely on ψ_k, the smallest strong pseudoprime to all of the first k prime bases
 * (OEIS A014233): below ψ_k every composite fails at least one of those k bases. ψ_1..ψ_8 are from G. Jaeschke,
 * "On strong pseudoprimes to several bases", Math. Comp. 61 (1993); ψ_9..ψ_11 from Y. Jiang and Y. Deng, "Strong
 * pseudoprimes to the first eight prime bases", Math. Comp. 83 (2014); ψ_12 and ψ_13 from J. Sorenson and
 * J. Webster, "Strong pseudoprimes to twelve prime bases", arXiv:1509.00864 (2015), Math. Comp. 86 (2017).
 */
public final class MillerRabin {

    /** How far {@link #test(BigInteger)} can be trusted. */
    public enum Verdict {
        /** Certainly composite (or below 2). */
        COMPOSITE,
        /** Certainly prime: n is below {@link #DETERMINISTIC_LIMIT}. */
        PRIME,
        /** Passed {@link #RANDOM_ROUNDS} rounds with derived bases; a composite passes with probability ≤ 2^-100. */
        PROBABLE_PRIME
    }

    /** ψ_13 = ψ_14 (Sorenson and Webster 2015): the first 13 prime bases decide every n below it. */
    public static final BigInteger DETERMINISTIC_LIMIT = new BigInteger("3317044064679887385961981");

    /** Rounds above {@link #DETERMINISTIC_LIMIT}; each passes a composite with probability at most 1/4. */
    public static final int RANDOM_ROUNDS = 50;

    private static final int[] PRIME_BASES = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41};

    /**
     * ψ_1..ψ_11: below LONG_PSI[i] the first i+1 prime bases suffice. At or above ψ_11 the first 12 are used, which
     * hold up to ψ_12 ≈ 3.2·10^23, far beyond 2^63.
     */
    private static final long[] LONG_PSI = {
        2_047L, 1_373_653L, 25_326_001L, 3_215_031_751L, 2_152_302_898_747L, 3_474_749_660_383L,
        341_550_071_728_321L, 341_550_071_728_321L,
        3_825_123_056_546_413_051L, 3_825_123_056_546_413_051L, 3_825_123_056_546_413_051L,
    };

    private static final int LONG_TRIAL_LIMIT = 256;
    private static final int BIG_TRIAL_LIMIT = 1_000;
    private static final int[] SMALL_PRIMES = primesBelow(BIG_TRIAL_LIMIT);
    private static final int[] LONG_TRIAL_PRIMES = primesBelowFrom(SMALL_PRIMES, LONG_TRIAL_LIMIT);
    /** A number with no prime factor below 257 that is smaller than 257² is prime. */
    private static final long LONG_TRIAL_SQUARE = 257L * 257L;

    /** Odd trial primes grouped so each group's product fits a long: one BigInteger remainder per group. */
    private static final long[][] BIG_TRIAL_GROUPS = groupByProduct(SMALL_PRIMES);
    private static final BigInteger[] BIG_TRIAL_PRODUCTS = productsOf(BIG_TRIAL_GROUPS);

    private static final BigInteger TWO = BigInteger.TWO;
    private static final BigInteger THREE = BigInteger.valueOf(3);

    /** Changing this tag changes every probabilistic base and hence, in principle, verdicts: bump it deliberately. */
    private static final byte[] BASE_DERIVATION_TAG =
        "distpipe/miller-rabin/bases/v1".getBytes(StandardCharsets.US_ASCII);

    private MillerRabin() {
    }

    /**
     * Decides primality of a long exactly; negative numbers, 0 and 1 are not prime. Every long is below 2^63 and so
     * below ψ_12, hence no probabilistic step is involved.
     */
    public static boolean isPrime(long n) {
        if (n < 2) {
            return false;
        }
        for (int p : LONG_TRIAL_PRIMES) {
            if (n % p == 0) {
                return n == p;
            }
        }
        if (n < LONG_TRIAL_SQUARE) {
            return true;
        }
        return strongProbablePrimeToFirstPrimes(n, basesNeededFor(n));
    }

    /**
     * Classifies any integer: below 2 is COMPOSITE, below {@link #DETERMINISTIC_LIMIT} the answer is exact (PRIME or
     * COMPOSITE), above it a COMPOSITE answer is exact and PROBABLE_PRIME has error at most 2^-100. The same n always
     * gets the same verdict, on any machine.
     */
    public static Verdict test(BigInteger n) {
        Objects.requireNonNull(n, "n");
        if (n.signum() <= 0) {
            return Verdict.COMPOSITE;
        }
        if (n.bitLength() < Long.SIZE) {
            return isPrime(n.longValue()) ? Verdict.PRIME : Verdict.COMPOSITE;
        }
        if (hasSmallFactor(n)) {
            return Verdict.COMPOSITE;
        }
        StrongTest strong = new StrongTest(n);
        if (isDeterministicRange(n)) {
            for (int base : PRIME_BASES) {
                if (!strong.passes(BigInteger.valueOf(base))) {
                    return Verdict.COMPOSITE;
                }
            }
            return Verdict.PRIME;
        }
        for (BigInteger base : derivedBases(n, RANDOM_ROUNDS)) {
            if (!strong.passes(base)) {
                return Verdict.COMPOSITE;
            }
        }
        return Verdict.PROBABLE_PRIME;
    }

    /** Whether {@link #test(BigInteger)} gives an exact answer for n, i.e. never PROBABLE_PRIME. */
    public static boolean isDeterministicRange(BigInteger n) {
        return n.compareTo(DETERMINISTIC_LIMIT) < 0;
    }

    private static int basesNeededFor(long n) {
        int k = 0;
        while (k < LONG_PSI.length && n >= LONG_PSI[k]) {
            k++;
        }
        return k + 1;
    }

    /**
     * Miller–Rabin in Montgomery form with R = 2^64, so each modular multiplication is two 64×64→128 products and
     * no division. Requires n odd and 2^16 < n < 2^63, which makes every intermediate fit a signed long.
     */
    private static boolean strongProbablePrimeToFirstPrimes(long n, int baseCount) {
        long nInv = inverseMod2To64(n);
        long one = Long.remainderUnsigned(-1L, n) + 1;
        long rSquared = one;
        for (int i = 0; i < Long.SIZE; i++) {
            rSquared = doubleMod(rSquared, n);
        }
        long minusOne = n - one;
        long nMinus1 = n - 1;
        int s = Long.numberOfTrailingZeros(nMinus1);
        long d = nMinus1 >>> s;

        nextBase:
        for (int i = 0; i < baseCount; i++) {
            long x = powMont(montMul(PRIME_BASES[i], rSquared, n, nInv), d, one, n, nInv);
            if (x == one || x == minusOne) {
                continue;
            }
            for (int r = 1; r < s; r++) {
                x = montMul(x, x, n, nInv);
                if (x == minusOne) {
                    continue nextBase;
                }
                if (x == one) {
                    return false;
                }
            }
            return false;
        }
        return true;
    }

    /** a·b·2^-64 mod n for 0 ≤ a, b < n < 2^63, n odd. */
    private static long montMul(long a, long b, long n, long nInv) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        long m = lo * nInv;
        // Unsigned high word of m·n: Math.multiplyHigh is signed, so add n back when m's top bit is set.
        long mnHi = Math.multiplyHigh(m, n) + ((m >> 63) & n);
        // The low words of a·b and m·n are equal by choice of m, so the difference is exact and lies in (-n, n).
        long t = hi - mnHi;
        return t < 0 ? t + n : t;
    }

    private static long powMont(long base, long exponent, long one, long n, long nInv) {
        long result = one;
        long b = base;
        long e = exponent;
        while (e != 0) {
            if ((e & 1) != 0) {
                result = montMul(result, b, n, nInv);
            }
            b = montMul(b, b, n, nInv);
            e >>>= 1;
        }
        return result;
    }

    private static long doubleMod(long x, long n) {
        long y = x << 1;
        return Long.compareUnsigned(y, n) >= 0 ? y - n : y;
    }

    /** n^-1 mod 2^64 for odd n by Newton's iteration; n·n ≡ 1 mod 8 gives 3 correct bits, doubling each step. */
    private static long inverseMod2To64(long n) {
        long x = n;
        for (int i = 0; i < 5; i++) {
            x *= 2 - n * x;
        }
        return x;
    }

    /** For n ≥ 2^63: whether a prime below 1000 divides it (it cannot equal such a prime). */
    private static boolean hasSmallFactor(BigInteger n) {
        if (!n.testBit(0)) {
            return true;
        }
        for (int g = 0; g < BIG_TRIAL_GROUPS.length; g++) {
            long r = n.remainder(BIG_TRIAL_PRODUCTS[g]).longValue();
            for (long p : BIG_TRIAL_GROUPS[g]) {
                if (r % p == 0) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Bases in [2, n-2] derived from n by SHA-256 in counter mode rather than drawn from a random generator, so a given
     * n always gets the same bases and the same verdict: a redelivered task or a second worker agrees with the first,
     * and results are reproducible across re-runs and JVM versions (no generator's output is specified that strongly).
     * An adversary cannot pick the bases independently of n; finding a composite that passes its own 50 derived bases
     * is as hard as passing 50 random ones, i.e. about 2^100 trials.
     */
    private static List<BigInteger> derivedBases(BigInteger n, int count) {
        MessageDigest sha256 = sha256();
        sha256.update(BASE_DERIVATION_TAG);
        byte[] seed = sha256.digest(n.toByteArray());
        BigInteger range = n.subtract(THREE);
        // 64 extra bits make the bias of the final reduction mod (n-3) negligible.
        int blocksPerBase = (n.bitLength() + 64 + 255) / 256;
        List<BigInteger> bases = new ArrayList<>(count);
        long counter = 0;
        for (int i = 0; i < count; i++) {
            byte[] material = new byte[blocksPerBase * 32];
            for (int b = 0; b < blocksPerBase; b++) {
                sha256.update(seed);
                sha256.update(ByteBuffer.allocate(Long.BYTES).putLong(counter++).array());
                System.arraycopy(sha256.digest(), 0, material, b * 32, 32);
            }
            bases.add(new BigInteger(1, material).mod(range).add(TWO));
        }
        return bases;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform but is missing", e);
        }
    }

    /** One strong-probable-prime test against a fixed odd n > 3, with n - 1 = d·2^s split once. */
    private static final class StrongTest {
        private final BigInteger n;
        private final BigInteger nMinus1;
        private final BigInteger d;
        private final int s;

        StrongTest(BigInteger n) {
            this.n = n;
            this.nMinus1 = n.subtract(BigInteger.ONE);
            this.s = nMinus1.getLowestSetBit();
            this.d = nMinus1.shiftRight(s);
        }

        boolean passes(BigInteger base) {
            BigInteger x = base.modPow(d, n);
            if (x.equals(BigInteger.ONE) || x.equals(nMinus1)) {
                return true;
            }
            for (int r = 1; r < s; r++) {
                x = x.multiply(x).mod(n);
                if (x.equals(nMinus1)) {
                    return true;
                }
                if (x.equals(BigInteger.ONE)) {
                    return false;
                }
            }
            return false;
        }
    }

    private static int[] primesBelow(int limit) {
        boolean[] composite = new boolean[limit];
        List<Integer> primes = new ArrayList<>();
        for (int i = 2; i < limit; i++) {
            if (!composite[i]) {
                primes.add(i);
                for (int j = i * i; j < limit; j += i) {
                    composite[j] = true;
                }
            }
        }
        return primes.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int[] primesBelowFrom(int[] primes, int limit) {
        return Arrays.stream(primes).filter(p -> p < limit).toArray();
    }

    private static long[][] groupByProduct(int[] primes) {
        List<long[]> groups = new ArrayList<>();
        List<Long> current = new ArrayList<>();
        long product = 1;
        for (int p : primes) {
            if (p == 2) {
                continue;
            }
            if (product > Long.MAX_VALUE / p) {
                groups.add(current.stream().mapToLong(Long::longValue).toArray());
                current.clear();
                product = 1;
            }
            current.add((long) p);
            product *= p;
        }
        if (!current.isEmpty()) {
            groups.add(current.stream().mapToLong(Long::longValue).toArray());
        }
        return groups.toArray(new long[0][]);
    }

    private static BigInteger[] productsOf(long[][] groups) {
        BigInteger[] products = new BigInteger[groups.length];
        for (int g = 0; g < groups.length; g++) {
            long product = 1;
            for (long p : groups[g]) {
                product *= p;
            }
            products[g] = BigInteger.valueOf(product);
        }
        return products;
    }
}
