package io.distpipe.topics.serde;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.apicurio.registry.serde.avro.DefaultAvroDatumProvider;
import org.apache.avro.Schema;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * Apicurio's datum provider computes a schema fingerprint on every record to find its cached reader or writer; this
 * one looks up by schema instance first (generated classes and the resolver's cache hand out the same instance), which
 * took that fingerprint off the hot path of every producer and consumer.
 */
public final class SchemaIdentityDatumProvider<T> extends DefaultAvroDatumProvider<T> {

    private record Key(Schema schema, boolean specific) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.schema == schema && k.specific == specific;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(schema) * 31 + (specific ? 1 : 0);
        }
    }

    private final Map<Key, DatumWriter<T>> writers = new ConcurrentHashMap<>();
    private final Map<Key, DatumReader<T>> readers = new ConcurrentHashMap<>();

    @Override
    public DatumWriter<T> createDatumWriter(T data, Schema schema) {
        return writers.computeIfAbsent(new Key(schema, data instanceof SpecificRecord),
            k -> super.createDatumWriter(data, schema));
    }

    @Override
    public DatumReader<T> createDatumReader(Schema schema) {
        return readers.computeIfAbsent(new Key(schema, false), k -> super.createDatumReader(schema));
    }
}
