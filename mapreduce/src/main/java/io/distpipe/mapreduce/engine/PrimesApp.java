package io.distpipe.mapreduce.engine;

import java.math.BigInteger;
import java.util.List;

/**
 * {@code primes}: the primes job as a MapReduce application. Map = primality filter over the integers of a file (one
 * per line, others ignored), reduce = dedup: each distinct prime once, with how often it occurred.
 */
public final class PrimesApp implements MapReduceApp {

    private static final int CERTAINTY = 64;

    @Override
    public void map(String key, String value, Emitter emitter) {
        for (String line : value.split("\n")) {
            String text = line.strip();
            if (text.isEmpty() || !text.matches("[+-]?[0-9]+")) {
                continue;
            }
            BigInteger n = new BigInteger(text);
            if (n.signum() > 0 && n.isProbablePrime(CERTAINTY)) {
                emitter.emit(n.toString(), "1");
            }
        }
    }

    @Override
    public void reduce(String key, List<String> values, Emitter emitter) {
        long total = 0;
        for (String v : values) {
            total += Long.parseLong(v);
        }
        emitter.emit(key, Long.toString(total));
    }

    @Override
    public boolean reduceIsCombiner() {
        return true;
    }
}
