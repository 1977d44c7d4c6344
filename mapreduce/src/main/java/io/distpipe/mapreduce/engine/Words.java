package io.distpipe.mapreduce.engine;

import java.util.function.Consumer;

/** Splits text into words: maximal runs of Unicode letters (code points, so letters outside the BMP count too). */
final class Words {

    private Words() {
    }

    static void forEach(String text, Consumer<String> word) {
        int start = -1;
        int i = 0;
        while (i < text.length()) {
            int cp = text.codePointAt(i);
            boolean letter = Character.isLetter(cp);
            if (letter && start < 0) {
                start = i;
            } else if (!letter && start >= 0) {
                word.accept(text.substring(start, i));
                start = -1;
            }
            i += Character.charCount(cp);
        }
        if (start >= 0) {
            word.accept(text.substring(start));
        }
    }
}
