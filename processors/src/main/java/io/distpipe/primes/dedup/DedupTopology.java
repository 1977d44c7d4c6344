package io.distpipe.primes.dedup;

import java.util.Properties;

import io.distpipe.common.StreamsService;
import io.distpipe.primes.PrimeFound;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dedup processor as a pure topology factory: each prime of a job goes to primes.unique once, however many
 * files, tasks and retries produced it. Primes arrive keyed by the number, so one store partition sees them all.
 */
public final class DedupTopology {

    /** The application id; with the store name it fixes the changelog topic name declared in the catalog. */
    public static final String APPLICATION_ID = "primes-dedup";
    public static final String STORE = "seen";
    static final String SOURCE = "primes-found-source";
    static final String PROCESSOR = "dedup";
    static final String SINK = "primes-unique-sink";

    private static final Logger LOG = LoggerFactory.getLogger(DedupTopology.class);

    private DedupTopology() {
    }

    public static Topology build(AvroSerdes serdes) {
        Serde<String> keySerde = serdes.keySerde(Topics.PRIMES_FOUND);
        Serde<PrimeFound> primeSerde = serdes.valueSerde(Topics.PRIMES_FOUND);
        StreamsBuilder builder = new StreamsBuilder();
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(STORE),
            serdes.keySerde(Topics.PRIMES_DEDUP_CHANGELOG), serdes.valueSerde(Topics.PRIMES_DEDUP_CHANGELOG)));
        builder.stream(Topics.PRIMES_FOUND.name(), Consumed.with(keySerde, primeSerde).withName(SOURCE))
            .process(FirstSeen::new, Named.as(PROCESSOR), STORE)
            .to(Topics.PRIMES_UNIQUE.name(), Produced.with(serdes.keySerde(Topics.PRIMES_UNIQUE),
                serdes.valueSerde(Topics.PRIMES_UNIQUE)).withName(SINK));
        return builder.build(config("unused:9092"));
    }

    /** Stream threads: one per core, at most 4 (primes.found has 6 partitions, so 6 stream tasks to share). */
    static final int THREADS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    /** Streams settings: exactly once, explicit names, poison records to the dead-letter topic. */
    public static Properties config(String bootstrapServers) {
        Properties props = StreamsService.exactlyOnceConfig(APPLICATION_ID, bootstrapServers);
        // One thread fell behind the workers: after the last task it still had most of a large job's primes to go.
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, THREADS);
        props.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, Topics.PRIMES_FOUND_DLQ.name());
        return props;
    }

    /** Forwards a prime the first time its job sees it; the store key is {@code jobId/number}. */
    static final class FirstSeen implements Processor<String, PrimeFound, String, PrimeFound> {
        private ProcessorContext<String, PrimeFound> context;
        private KeyValueStore<String, Long> seen;

        @Override
        public void init(ProcessorContext<String, PrimeFound> context) {
            this.context = context;
            this.seen = context.getStateStore(STORE);
        }

        @Override
        public void process(Record<String, PrimeFound> record) {
            if (record.key() == null || record.value() == null) {
                LOG.warn("dedup: skipped a record of {} without key or value (nothing to deduplicate).",
                    Topics.PRIMES_FOUND.name());
                return;
            }
            String storeKey = record.value().getJobId() + "/" + record.key();
            if (seen.putIfAbsent(storeKey, record.timestamp()) == null) {
                context.forward(record);
            }
        }
    }
}
