package dev.jvllm.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Regex support for the Split pre-tokenizer and Replace normalizer/decoder.
 *
 * <p>Hugging Face compiles these patterns with Oniguruma, where {@code \s}, {@code \w}, {@code \d}
 * and case-insensitive groups are Unicode-aware. Java's Pattern is ASCII-only for those unless
 * {@link Pattern#UNICODE_CHARACTER_CLASS} is set, which makes {@code \s} the Unicode White_Space
 * property (as Oniguruma's) and implies Unicode case folding. The syntax the real checkpoints use
 * ({@code \p{L}}, {@code \p{N}}, {@code (?i:...)}, {@code (?!\S)}, possessive {@code ?+}/{@code ++})
 * is the same in both, so patterns are compiled as written.
 */
final class Regexes {
    private Regexes() {
    }

    static Pattern compile(String regex) {
        return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    /** Compiles a {@code {"Regex": ...}} or {@code {"String": ...}} pattern object. */
    static Pattern pattern(Cfg c) {
        c.allowKeys("Regex", "String");
        if (c.has("String")) {
            return Pattern.compile(Pattern.quote(c.str("String")));
        }
        if (c.has("Regex")) {
            try {
                return compile(c.str("Regex"));
            } catch (java.util.regex.PatternSyntaxException e) {
                throw c.get("Regex").error("regex not supported by java.util.regex: " + e.getDescription());
            }
        }
        throw c.error("expected {\"Regex\": ...} or {\"String\": ...}");
    }

    /**
     * Splits {@code s} into consecutive segments covering it, each {@code {start, end, isMatch}};
     * empty matches are dropped (Hugging Face drops the empty pieces they would produce).
     */
    static List<int[]> segments(Pattern p, String s) {
        List<int[]> out = new ArrayList<>();
        int prev = 0;
        Matcher m = p.matcher(s);
        while (m.find()) {
            if (m.end() == m.start()) {
                continue;
            }
            if (m.start() != prev) {
                out.add(new int[] {prev, m.start(), 0});
            }
            out.add(new int[] {m.start(), m.end(), 1});
            prev = m.end();
        }
        if (prev != s.length()) {
            out.add(new int[] {prev, s.length(), 0});
        }
        return out;
    }
}
