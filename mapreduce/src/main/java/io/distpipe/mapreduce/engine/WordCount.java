package io.distpipe.mapreduce.engine;

import java.util.List;

/** {@code wc}: how often each word occurs in all input files; case-sensitive, words as in {@link Words}. */
public final class WordCount implements MapReduceApp {

    @Override
    public void map(String key, String value, Emitter emitter) {
        Words.forEach(value, word -> emitter.emit(word, "1"));
    }

    @Override
    public void reduce(String key, List<String> values, Emitter emitter) {
        long total = 0;
        for (String v : values) {
            total += Long.parseLong(v);
        }
        emitter.emit(key, Long.toString(total));
    }

    @Override
    public boolean reduceIsCombiner() {
        return true;
    }
}
