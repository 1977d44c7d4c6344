package io.distpipe.mapreduce.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The sequential in-process reference (MIT's mrsequential): every map, then every key reduced in order. */
public final class Sequential {

    private Sequential() {
    }

    /** All output lines ({@code key value}), sorted by key. */
    public static List<String> run(MapReduceApp app, List<Path> inputs) throws IOException {
        Map<String, List<String>> groups = new TreeMap<>();
        for (Path input : inputs) {
            String content = Files.readString(input, StandardCharsets.UTF_8);
            app.map(input.getFileName().toString(), content,
                (k, v) -> groups.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
        }
        List<String> lines = new ArrayList<>();
        groups.forEach((key, values) -> app.reduce(key, values, (k, v) -> lines.add(k + " " + v)));
        return lines;
    }
}
