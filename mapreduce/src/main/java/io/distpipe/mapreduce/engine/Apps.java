package io.distpipe.mapreduce.engine;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/** The applications a worker can run, by name: {@code wc}, {@code indexer}, {@code primes}, {@code crash}. */
public final class Apps {

    private static final Map<String, Supplier<MapReduceApp>> APPS = new ConcurrentHashMap<>(Map.of(
        "wc", WordCount::new,
        "indexer", Indexer::new,
        "primes", PrimesApp::new,
        "crash", CrashApp::new));

    private Apps() {
    }

    public static Optional<MapReduceApp> byName(String name) {
        Supplier<MapReduceApp> app = APPS.get(name);
        return app == null ? Optional.empty() : Optional.of(app.get());
    }

    public static java.util.Set<String> names() {
        return new TreeMap<>(APPS).keySet();
    }

    /** Adds an application to this JVM (tests use it for apps that fail on purpose). */
    public static void register(String name, Supplier<MapReduceApp> app) {
        APPS.put(name, app);
    }
}
