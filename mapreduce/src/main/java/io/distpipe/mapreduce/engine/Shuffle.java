package io.distpipe.mapreduce.engine;

import java.nio.charset.StandardCharsets;

/** The shuffle's partitioner: reduce task (= intermediate partition) of a key, FNV-1a like MIT 6.5840's ihash. */
public final class Shuffle {

    private Shuffle() {
    }

    public static int partition(String key, int nReduce) {
        int hash = 0x811c9dc5;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x01000193;
        }
        return (hash & 0x7fffffff) % nReduce;
    }
}
