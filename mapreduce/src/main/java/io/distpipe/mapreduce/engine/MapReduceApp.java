package io.distpipe.mapreduce.engine;

import java.util.List;

/**
 * A MapReduce application: {@link #map} turns one input file into intermediate key/value pairs, {@link #reduce} turns
 * all values of one key into output. Both must be deterministic functions of their arguments, so that a re-executed
 * task produces the same output (the reduce output file is rewritten whole by a retried task).
 */
public interface MapReduceApp {

    /** Receives what map or reduce produces. */
    @FunctionalInterface
    interface Emitter {
        void emit(String key, String value);
    }

    /**
     * @param key   the input file's name (without directories)
     * @param value the whole file, decoded as UTF-8
     */
    void map(String key, String value, Emitter emitter);

    /**
     * Called once per intermediate key, in ascending key order; emits the output lines ({@code key value}).
     *
     * @param values the key's values in the order the intermediate partition holds them
     */
    void reduce(String key, List<String> values, Emitter emitter);

    /**
     * Whether {@link #reduce} may also run as a combiner on one map task's output (its values are then partial
     * results that reduce accepts again, like partial sums); a worker then sends one pair per distinct key and map
     * task instead of every pair. False unless an app says so.
     */
    default boolean reduceIsCombiner() {
        return false;
    }
}
