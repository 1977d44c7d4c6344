package io.distpipe.primes.work;

import java.time.Instant;
import java.util.List;

import io.distpipe.common.PartitionOffset;
import io.distpipe.primes.SnapshotMarker;
import io.distpipe.primes.SnapshotState;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A worker's part of a consistent snapshot: when a marker reaches the worker (after every task before it in that
 * partition, before every task after it), its local state and the input position just past the marker go to
 * primes.snapshots in the transaction that commits that position, so state and offset are stored atomically.
 */
final class SnapshotRecorder implements PrimeWorker.MarkerListener {

    static final String ROLE = "worker";

    private final Serializer<String> keys;
    private final Serializer<SnapshotState> values;

    SnapshotRecorder(AvroSerdes serdes) {
        this.keys = serdes.keySerde(Topics.PRIMES_SNAPSHOTS).serializer();
        this.values = serdes.valueSerde(Topics.PRIMES_SNAPSHOTS).serializer();
    }

    @Override
    public List<ProducerRecord<byte[], byte[]>> onMarker(PrimeWorker worker, SnapshotMarker marker, int partition,
                                                          long offset) {
        SnapshotState state = SnapshotState.newBuilder().setSnapshotId(marker.getSnapshotId())
            .setJobId(marker.getJobId()).setMemberId(worker.id()).setRole(ROLE).setPartition(partition)
            .setOffsets(List.of(new PartitionOffset(Topics.PRIMES_TASKS.name(), partition, offset + 1)))
            .setTasksCompleted(worker.tasksCompleted()).setNumbersTested(worker.numbersTested())
            .setPrimesFound(worker.primesFound()).setInFlight(List.of()).setRecordedAt(Instant.now()).build();
        String topic = Topics.PRIMES_SNAPSHOTS.name();
        return List.of(new ProducerRecord<>(topic, keys.serialize(topic, Long.toString(marker.getSnapshotId())),
            values.serialize(topic, state)));
    }
}
