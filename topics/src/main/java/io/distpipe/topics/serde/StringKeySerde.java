package io.distpipe.topics.serde;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Avro strings (our record keys) in the Confluent wire format without a registry round trip per record: the first
 * record of each topic goes through the full serde, which registers the schema; after that the schema id is known and
 * the framing and the Avro string encoding (zig-zag varint length, UTF-8) are written and read directly.
 */
final class StringKeySerde {

    private static final byte MAGIC = 0;
    private static final int HEADER = 5;

    private StringKeySerde() {
    }

    /** Wraps the full serializer of a string-keyed subject. */
    static Serializer<String> serializer(Serializer<String> full) {
        Map<String, Integer> ids = new ConcurrentHashMap<>();
        return new Serializer<>() {
            @Override
            public byte[] serialize(String topic, String data) {
                return serialize(topic, null, data);
            }

            @Override
            public byte[] serialize(String topic, Headers headers, String data) {
                if (data == null) {
                    return null;
                }
                Integer id = ids.get(topic);
                if (id == null) {
                    byte[] bytes = headers == null ? full.serialize(topic, data) : full.serialize(topic, headers, data);
                    ids.put(topic, ByteBuffer.wrap(bytes, 1, 4).getInt());
                    return bytes;
                }
                byte[] utf8 = data.getBytes(StandardCharsets.UTF_8);
                ByteBuffer out = ByteBuffer.allocate(HEADER + 10 + utf8.length);
                out.put(MAGIC).putInt(id);
                writeZigZagLong(out, utf8.length);
                out.put(utf8);
                byte[] result = new byte[out.position()];
                out.flip().get(result);
                return result;
            }

            @Override
            public void close() {
                full.close();
            }
        };
    }

    /** Wraps the full deserializer; ids once seen to carry a string schema are decoded directly afterwards. */
    static Deserializer<String> deserializer(Deserializer<String> full) {
        Map<Integer, Boolean> stringIds = new ConcurrentHashMap<>();
        return new Deserializer<>() {
            @Override
            public String deserialize(String topic, byte[] data) {
                return deserialize(topic, null, data);
            }

            @Override
            public String deserialize(String topic, Headers headers, byte[] data) {
                if (data == null) {
                    return null;
                }
                if (data.length >= HEADER + 1 && data[0] == MAGIC) {
                    int id = ByteBuffer.wrap(data, 1, 4).getInt();
                    if (stringIds.containsKey(id)) {
                        return decode(topic, data);
                    }
                    String value = headers == null ? full.deserialize(topic, data)
                        : full.deserialize(topic, headers, data);
                    stringIds.put(id, Boolean.TRUE);
                    return value;
                }
                return headers == null ? full.deserialize(topic, data) : full.deserialize(topic, headers, data);
            }

            @Override
            public void close() {
                full.close();
            }
        };
    }

    private static String decode(String topic, byte[] data) {
        ByteBuffer in = ByteBuffer.wrap(data, HEADER, data.length - HEADER);
        long length = readZigZagLong(in, topic);
        if (length < 0 || length != in.remaining()) {
            throw new SerializationException("A key on topic " + topic + " is not one Avro string (length "
                + length + ", " + in.remaining() + " bytes left)");
        }
        return new String(data, in.position(), (int) length, StandardCharsets.UTF_8);
    }

    private static void writeZigZagLong(ByteBuffer out, long value) {
        long n = (value << 1) ^ (value >> 63);
        while ((n & ~0x7FL) != 0) {
            out.put((byte) ((n & 0x7F) | 0x80));
            n >>>= 7;
        }
        out.put((byte) n);
    }

    private static long readZigZagLong(ByteBuffer in, String topic) {
        long n = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!in.hasRemaining()) {
                throw new SerializationException("A key on topic " + topic + " ends inside its length");
            }
            byte b = in.get();
            n |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return (n >>> 1) ^ -(n & 1);
            }
        }
        throw new SerializationException("A key on topic " + topic + " has an over-long length");
    }
}
