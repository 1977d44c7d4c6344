package io.distpipe.mapreduce.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppsTest {

    @TempDir
    Path dir;

    @Test
    void shouldSplitWordsOnAnythingButUnicodeLetters() {
        List<String> words = new ArrayList<>();
        Words.forEach("Don't stop-me now, Émile! naïve 42x 𝒜b", words::add);
        assertThat(words).containsExactly("Don", "t", "stop", "me", "now", "Émile", "naïve", "x", "𝒜b");
    }

    @Test
    void shouldCountWordsCaseSensitively() throws Exception {
        Files.writeString(dir.resolve("a.txt"), "the The the cat");
        Files.writeString(dir.resolve("b.txt"), "cat dog");
        assertThat(Sequential.run(new WordCount(), List.of(dir.resolve("a.txt"), dir.resolve("b.txt"))))
            .containsExactly("The 1", "cat 2", "dog 1", "the 2");
    }

    @Test
    void shouldIndexWordsWithSortedDocumentNames() throws Exception {
        Files.writeString(dir.resolve("b.txt"), "cat cat dog");
        Files.writeString(dir.resolve("a.txt"), "cat");
        assertThat(Sequential.run(new Indexer(), List.of(dir.resolve("b.txt"), dir.resolve("a.txt"))))
            .containsExactly("cat 2 a.txt,b.txt", "dog 1 b.txt");
    }

    @Test
    void shouldKeepEachPrimeOnceWithItsCount() throws Exception {
        Files.writeString(dir.resolve("n.txt"), "7\n8\n7\nx\n2\n1\n170141183460469231731687303715884105727\n");
        assertThat(Sequential.run(new PrimesApp(), List.of(dir.resolve("n.txt"))))
            .containsExactly("170141183460469231731687303715884105727 1", "2 1", "7 2");
    }

    @Test
    void shouldPartitionKeysStablyIntoEveryReduce() {
        assertThat(Shuffle.partition("hello", 10)).isEqualTo(Shuffle.partition("hello", 10)).isBetween(0, 9);
        boolean[] seen = new boolean[7];
        for (int i = 0; i < 1000; i++) {
            seen[Shuffle.partition("w" + i, 7)] = true;
        }
        assertThat(seen).containsOnly(true);
        assertThat(Apps.names()).contains("wc", "indexer", "primes", "crash");
    }
}
