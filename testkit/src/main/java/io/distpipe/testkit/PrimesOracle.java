package io.distpipe.testkit;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

/** Test inputs and an independent answer for them: a sieve, and BigInteger.isProbablePrime above its range. */
public final class PrimesOracle {

    private final TreeSet<BigInteger> expected = new TreeSet<>();
    private final boolean[] composite;

    public PrimesOracle(int sieveLimit) {
        composite = new boolean[sieveLimit + 1];
        composite[0] = true;
        composite[1] = true;
        for (int i = 2; (long) i * i <= sieveLimit; i++) {
            if (!composite[i]) {
                for (int j = i * i; j <= sieveLimit; j += i) {
                    composite[j] = true;
                }
            }
        }
    }

    /** Writes the numbers from..to (inclusive) one per line and remembers their primes. */
    public void writeRange(Path file, int from, int to) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int n = from; n <= to; n++) {
            lines.add(Integer.toString(n));
            if (n >= 0 && !composite[n]) {
                expected.add(BigInteger.valueOf(n));
            }
        }
        Files.write(file, lines);
    }

    /** Writes {@code count} random odd numbers of about {@code bits} bits; the oracle is isProbablePrime(100). */
    public void writeRandom(Path file, int count, int bits, long seed) throws IOException {
        Random random = new Random(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            BigInteger n = new BigInteger(bits, random).setBit(bits - 1).setBit(0);
            lines.add(n.toString());
            if (n.isProbablePrime(100)) {
                expected.add(n);
            }
        }
        Files.write(file, lines);
    }

    /** Whether {@code n} is prime: the sieve within its range, isProbablePrime(100) beyond. */
    public boolean isPrime(BigInteger n) {
        if (n.signum() <= 0 || n.compareTo(BigInteger.valueOf(composite.length - 1)) > 0) {
            return n.signum() > 0 && n.isProbablePrime(100);
        }
        return !composite[n.intValueExact()];
    }

    public List<String> expectedLines() {
        return expected.stream().map(BigInteger::toString).toList();
    }

    /** The expected primes, ascending. */
    public java.util.SortedSet<BigInteger> expected() {
        return java.util.Collections.unmodifiableSortedSet(expected);
    }

    public int expectedCount() {
        return expected.size();
    }
}
