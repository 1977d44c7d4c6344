package io.distpipe.mapreduce.engine;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** {@code indexer}: for each word, how many input files contain it and their sorted names ({@code word n a,b}). */
public final class Indexer implements MapReduceApp {

    @Override
    public void map(String key, String value, Emitter emitter) {
        Set<String> words = new LinkedHashSet<>();
        Words.forEach(value, words::add);
        for (String word : words) {
            emitter.emit(word, key);
        }
    }

    @Override
    public void reduce(String key, List<String> values, Emitter emitter) {
        TreeSet<String> documents = new TreeSet<>(values);
        emitter.emit(key, documents.size() + " " + String.join(",", documents));
    }
}
