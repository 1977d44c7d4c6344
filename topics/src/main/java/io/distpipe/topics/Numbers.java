package io.distpipe.topics;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Converts integers of any size to and from the two's-complement bytes our Avro records carry. */
public final class Numbers {

    private Numbers() {
    }

    public static ByteBuffer toBytes(BigInteger n) {
        return ByteBuffer.wrap(n.toByteArray());
    }

    /** Packs {@code count} longs as 8-byte big-endian values, the form of {@code Task.packed}. */
    public static ByteBuffer pack(long[] values, int count) {
        ByteBuffer packed = ByteBuffer.allocate(count * Long.BYTES);
        for (int i = 0; i < count; i++) {
            packed.putLong(values[i]);
        }
        return packed.flip();
    }

    /** How many longs a packed buffer holds; its length must be a multiple of 8. */
    public static int packedCount(ByteBuffer packed) {
        if (packed.remaining() % Long.BYTES != 0) {
            throw new IllegalArgumentException("Packed numbers have " + packed.remaining()
                + " bytes, not a multiple of 8");
        }
        return packed.remaining() / Long.BYTES;
    }

    /** The {@code i}-th long of a packed buffer (absolute read; the buffer's position is not moved). */
    public static long packedAt(ByteBuffer packed, int i) {
        return packed.getLong(packed.position() + i * Long.BYTES);
    }

    /** Every number of a task, packed ones first, for tests and tools; workers iterate without allocating. */
    public static List<BigInteger> all(ByteBuffer packed, List<ByteBuffer> big) {
        List<BigInteger> result = new ArrayList<>();
        for (int i = 0; i < packedCount(packed); i++) {
            result.add(BigInteger.valueOf(packedAt(packed, i)));
        }
        big.forEach(b -> result.add(fromBytes(b)));
        return result;
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
