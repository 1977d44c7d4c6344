package io.distpipe.topics;

import java.math.BigInteger;
import java.nio.ByteBuffer;

/** Converts integers of any size to and from the two's-complement bytes our Avro records carry. */
public final class Numbers {

    private Numbers() {
    }

    public static ByteBuffer toBytes(BigInteger n) {
        return ByteBuffer.wrap(n.toByteArray());
    }

    public static BigInteger fromBytes(ByteBuffer bytes) {
        ByteBuffer copy = bytes.duplicate();
        byte[] array = new byte[copy.remaining()];
        copy.get(array);
        if (array.length == 0) {
            throw new IllegalArgumentException("An encoded integer has no bytes");
        }
        return new BigInteger(array);
    }
}
