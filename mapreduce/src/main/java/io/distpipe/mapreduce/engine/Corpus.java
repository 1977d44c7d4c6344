package io.distpipe.mapreduce.engine;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

import io.distpipe.common.AtomicFile;

/**
 * A deterministic English-like text corpus for word count, indexer and crash tests, so that they need nothing outside
 * the repository: words drawn from a Zipf distribution over a generated vocabulary (a few very common words and a
 * long tail seen once or twice), sentences with capitals, ALL-CAPS shouting and names, punctuation, apostrophes,
 * hyphens, digits, quotes, some accented and non-BMP letters, and one file with CRLF line ends. The same seed gives
 * the same bytes on every machine.
 */
public final class Corpus {

    /** The files the tests use: eight of them, about 4 MB in all, of uneven sizes. */
    public static final int FILES_DEFAULT = 8;
    public static final long BYTES_DEFAULT = 4_000_000;
    public static final long SEED_DEFAULT = 6_5840;

    private static final int VOCABULARY = 40_000;
    private static final double ZIPF_EXPONENT = 1.07;
    private static final String[] ONSETS = {"", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s",
        "t", "v", "w", "y", "z", "br", "ch", "cl", "dr", "fl", "gr", "pl", "pr", "sh", "st", "th", "tr", "wh"};
    private static final String[] NUCLEI = {"a", "e", "i", "o", "u", "ea", "ou", "ai", "ie", "oo", "y"};
    private static final String[] CODAS = {"", "", "", "n", "r", "s", "t", "d", "l", "m", "ng", "st", "ck", "th"};
    /** A few words spelled with letters outside ASCII, and outside the BMP, that word splitting must keep whole. */
    private static final String[] FOREIGN = {"café", "naïve", "façade", "Müller", "señor", "smörgåsbord", "Ærø",
        "Ωmega", "𝒜lgebra", "𐐷𐐷"};

    private final String[] words;
    private final double[] cumulative;

    private Corpus(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Set<String> vocabulary = new LinkedHashSet<>();
        for (String w : new String[] {"the", "and", "of", "to", "a", "in", "he", "that", "was", "it", "his", "i",
            "you", "with", "her", "had", "as", "for", "she", "not", "at", "but", "be", "my", "on", "have", "him"}) {
            vocabulary.add(w);
        }
        while (vocabulary.size() < VOCABULARY) {
            vocabulary.add(word(random, 1 + (int) Math.min(4, Math.round(Math.abs(random.nextGaussian()) * 1.5))));
        }
        words = vocabulary.toArray(String[]::new);
        cumulative = new double[words.length];
        double sum = 0;
        for (int rank = 0; rank < words.length; rank++) {
            sum += 1 / Math.pow(rank + 1, ZIPF_EXPONENT);
            cumulative[rank] = sum;
        }
        for (int rank = 0; rank < words.length; rank++) {
            cumulative[rank] /= sum;
        }
    }

    /** Writes {@code files} files named {@code text-NN.txt} into {@code dir}, {@code totalBytes} in all (roughly). */
    public static List<Path> write(Path dir, int files, long totalBytes, long seed) throws IOException {
        Files.createDirectories(dir);
        Corpus corpus = new Corpus(seed);
        List<Path> written = new ArrayList<>();
        // Uneven sizes (from 0.4 to 1.6 of the mean), so map tasks are not all alike.
        double weights = 0;
        for (int f = 0; f < files; f++) {
            weights += weight(f, files);
        }
        for (int f = 0; f < files; f++) {
            Path file = dir.resolve(String.format(Locale.ROOT, "text-%02d.txt", f));
            long bytes = Math.max(1, (long) (totalBytes * weight(f, files) / weights));
            SplittableRandom random = new SplittableRandom(seed * 31 + f);
            String lineEnd = f == files - 1 && files > 1 ? "\r\n" : "\n";
            AtomicFile.write(file, StandardCharsets.UTF_8, w -> corpus.text(w, random, bytes, lineEnd));
            written.add(file);
        }
        return written;
    }

    /** The default corpus in {@code dir}, written only if it is not already there whole. */
    public static List<Path> ensure(Path dir) throws IOException {
        Path done = dir.resolve(".complete-" + SEED_DEFAULT + "-" + BYTES_DEFAULT);
        if (Files.exists(done)) {
            List<Path> files = new ArrayList<>();
            for (int f = 0; f < FILES_DEFAULT; f++) {
                files.add(dir.resolve(String.format(Locale.ROOT, "text-%02d.txt", f)));
            }
            return files;
        }
        List<Path> files = write(dir, FILES_DEFAULT, BYTES_DEFAULT, SEED_DEFAULT);
        Files.writeString(done, "");
        return files;
    }

    private static double weight(int file, int files) {
        return files == 1 ? 1 : 0.4 + 1.2 * file / (files - 1);
    }

    private static String word(SplittableRandom random, int syllables) {
        StringBuilder sb = new StringBuilder();
        for (int s = 0; s < syllables; s++) {
            sb.append(pick(random, ONSETS)).append(pick(random, NUCLEI)).append(pick(random, CODAS));
        }
        return sb.toString();
    }

    private static String pick(SplittableRandom random, String[] choices) {
        return choices[random.nextInt(choices.length)];
    }

    private String zipfWord(SplittableRandom random) {
        double u = random.nextDouble();
        int lo = 0;
        int hi = cumulative.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] < u) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return words[lo];
    }

    private void text(Writer out, SplittableRandom random, long bytes, String lineEnd) throws IOException {
        StringBuilder line = new StringBuilder();
        long written = 0;
        int sentencesInParagraph = 0;
        while (written < bytes) {
            String sentence = sentence(random);
            for (String token : sentence.split(" ")) {
                if (line.length() + token.length() + 1 > 72 && line.length() > 0) {
                    written += emit(out, line, lineEnd);
                }
                if (line.length() > 0) {
                    line.append(' ');
                }
                line.append(token);
            }
            if (++sentencesInParagraph >= 3 + random.nextInt(8)) {
                written += emit(out, line, lineEnd);
                out.write(lineEnd);
                written += lineEnd.length();
                sentencesInParagraph = 0;
            }
        }
        if (line.length() > 0) {
            emit(out, line, lineEnd);
        }
    }

    private static long emit(Writer out, StringBuilder line, String lineEnd) throws IOException {
        out.write(line.toString());
        out.write(lineEnd);
        long n = line.toString().getBytes(StandardCharsets.UTF_8).length + lineEnd.length();
        line.setLength(0);
        return n;
    }

    private String sentence(SplittableRandom random) {
        int length = 4 + random.nextInt(18);
        boolean quoted = random.nextInt(8) == 0;
        StringBuilder sb = new StringBuilder(quoted ? "\"" : "");
        for (int i = 0; i < length; i++) {
            String w = token(random);
            if (i == 0) {
                w = capitalized(w);
            }
            sb.append(w);
            if (i < length - 1) {
                int p = random.nextInt(100);
                sb.append(p < 8 ? ", " : p == 8 ? "; " : p == 9 ? " -- " : p == 10 ? ": " : " ");
            }
        }
        int end = random.nextInt(20);
        sb.append(end == 0 ? "?" : end == 1 ? "!" : end == 2 ? "..." : ".");
        if (quoted) {
            sb.append('"');
        }
        return sb.toString();
    }

    private String token(SplittableRandom random) {
        int kind = random.nextInt(1000);
        if (kind < 4) {
            return FOREIGN[random.nextInt(FOREIGN.length)];
        }
        if (kind < 12) {
            return Integer.toString(random.nextInt(1, 2000));
        }
        String w = zipfWord(random);
        if (kind < 40) {
            return w.toUpperCase(Locale.ROOT);
        }
        if (kind < 100) {
            return capitalized(w);
        }
        if (kind < 115) {
            return w + "'" + (random.nextBoolean() ? "s" : "t");
        }
        if (kind < 125) {
            return w + "-" + zipfWord(random);
        }
        if (kind < 130) {
            return "(" + w + ")";
        }
        return w;
    }

    private static String capitalized(String w) {
        return w.isEmpty() || !Character.isLowerCase(w.charAt(0)) ? w
            : Character.toUpperCase(w.charAt(0)) + w.substring(1);
    }
}
