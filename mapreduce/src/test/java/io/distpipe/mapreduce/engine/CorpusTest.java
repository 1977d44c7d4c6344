package io.distpipe.mapreduce.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {

    @TempDir
    Path dir;

    @Test
    void shouldWriteTheSameBytesForTheSameSeed() throws IOException {
        List<Path> a = Corpus.write(dir.resolve("a"), 3, 200_000, 7);
        List<Path> b = Corpus.write(dir.resolve("b"), 3, 200_000, 7);
        List<Path> c = Corpus.write(dir.resolve("c"), 3, 200_000, 8);

        for (int i = 0; i < 3; i++) {
            assertThat(Files.readAllBytes(a.get(i))).isEqualTo(Files.readAllBytes(b.get(i)));
            assertThat(Files.readAllBytes(a.get(i))).isNotEqualTo(Files.readAllBytes(c.get(i)));
        }
    }

    @Test
    void shouldHaveTheSizeAskedForInUnevenFiles() throws IOException {
        List<Path> files = Corpus.write(dir, 8, 1_000_000, Corpus.SEED_DEFAULT);

        long total = 0;
        for (Path f : files) {
            total += Files.size(f);
        }
        assertThat(total).isBetween(1_000_000L, 1_010_000L);
        assertThat(Files.size(files.get(7))).isGreaterThan(3 * Files.size(files.get(0)));
    }

    @Test
    void shouldLookLikeTextToWordCount() throws IOException {
        List<Path> files = Corpus.write(dir, 4, 2_000_000, Corpus.SEED_DEFAULT);
        Map<String, Integer> counts = new HashMap<>();
        StringBuilder all = new StringBuilder();
        for (Path f : files) {
            String text = Files.readString(f);
            all.append(text);
            Words.forEach(text, w -> counts.merge(w, 1, Integer::sum));
        }
        long total = counts.values().stream().mapToLong(Integer::longValue).sum();
        long once = counts.values().stream().filter(n -> n == 1).count();

        assertThat(counts).as("distinct words").hasSizeGreaterThan(20_000);
        assertThat(counts.get("the") / (double) total).as("the commonest word's share").isBetween(0.03, 0.2);
        assertThat(once).as("a long tail: words seen once").isGreaterThan(counts.size() / 5);
        assertThat(counts.keySet()).as("mixed case").anyMatch(w -> w.equals(w.toUpperCase()) && w.length() > 3)
            .anyMatch(w -> Character.isUpperCase(w.charAt(0)) && w.substring(1).equals(w.substring(1).toLowerCase()))
            .contains("café", "𝒜lgebra");
        assertThat(all).contains(", ", ". ", "'s", "-", "\"", "?", "!", "\r\n");
    }
}
