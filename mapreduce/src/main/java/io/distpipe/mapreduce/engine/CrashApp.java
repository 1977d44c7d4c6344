package io.distpipe.mapreduce.engine;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code crash}: word count whose tasks, when the JVM runs with {@code -Ddistpipe.mr.crash=true} (or environment
 * variable DISTPIPE_MR_CRASH=1), halt the process at once (a third of the time) or stall up to {@value #MAX_STALL_MS}
 * ms (another third) before doing their work, like MIT 6.5840's crash test. Without the switch it is plain wc.
 */
public final class CrashApp implements MapReduceApp {

    public static final String SWITCH_PROPERTY = "distpipe.mr.crash";
    public static final String SWITCH_ENV = "DISTPIPE_MR_CRASH";
    static final int MAX_STALL_MS = 2000;

    private final WordCount wc = new WordCount();

    @Override
    public void map(String key, String value, Emitter emitter) {
        maybeCrash();
        wc.map(key, value, emitter);
    }

    @Override
    public void reduce(String key, List<String> values, Emitter emitter) {
        wc.reduce(key, values, emitter);
    }

    @Override
    public boolean reduceIsCombiner() {
        return true;
    }

    /** Called by the worker before each reduce task of this app (reduce itself runs once per key). */
    void beforeReduceTask() {
        maybeCrash();
    }

    public static boolean enabled() {
        return Boolean.getBoolean(SWITCH_PROPERTY) || "1".equals(System.getenv(SWITCH_ENV));
    }

    private static void maybeCrash() {
        if (!enabled()) {
            return;
        }
        int roll = ThreadLocalRandom.current().nextInt(1000);
        if (roll < 330) {
            Runtime.getRuntime().halt(99);
        } else if (roll < 660) {
            try {
                TimeUnit.MILLISECONDS.sleep(ThreadLocalRandom.current().nextInt(MAX_STALL_MS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
