package dev.jvllm.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The tokenizer.json decoders this tokenizer supports: each maps a token list to a token list. */
final class Decoders {
    static final List<String> SUPPORTED =
            List.of("ByteLevel", "Replace", "ByteFallback", "Fuse", "Strip", "Metaspace", "Sequence", "WordPiece");

    private Decoders() {
    }

    /** The decoder at {@code c}; null when there is none (tokens are then joined with spaces). */
    static UnaryOperator<List<String>> build(Cfg c) {
        if (c.isNull()) {
            return null;
        }
        String type = c.type();
        return switch (type) {
            case "ByteLevel" -> {
                c.allowKeys("type", "add_prefix_space", "trim_offsets", "use_regex");
                yield tokens -> {
                    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                    for (String t : tokens) {
                        byte[] b = ByteLevel.decode(t);
                        // A token with a character outside the byte table (an added token) passes as its UTF-8.
                        bytes.writeBytes(b != null ? b : t.getBytes(StandardCharsets.UTF_8));
                    }
                    return List.of(bytes.toString(StandardCharsets.UTF_8));
                };
            }
            case "Replace" -> {
                c.allowKeys("type", "pattern", "content");
                Pattern p = Regexes.pattern(c.get("pattern"));
                String content = Matcher.quoteReplacement(c.str("content"));
                yield tokens -> tokens.stream().map(t -> p.matcher(t).replaceAll(content)).toList();
            }
            case "ByteFallback" -> {
                c.allowKeys("type");
                yield Decoders::byteFallback;
            }
            case "Fuse" -> {
                c.allowKeys("type");
                yield tokens -> List.of(String.join("", tokens));
            }
            case "Strip" -> {
                c.allowKeys("type", "content", "start", "stop");
                String content = c.str("content");
                if (content.codePointCount(0, content.length()) != 1) {
                    throw c.get("content").error("expected a single character");
                }
                int start = c.integer("start", 0), stop = c.integer("stop", 0);
                yield tokens -> tokens.stream().map(t -> strip(t, content.codePointAt(0), start, stop)).toList();
            }
            case "Metaspace" -> {
                c.allowKeys("type", "replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep");
                String rep = c.str("replacement", "\u2581");
                String scheme = c.has("prepend_scheme") ? c.str("prepend_scheme")
                        : c.bool("add_prefix_space", true) ? "always" : "never";
                boolean dropFirst = !scheme.equals("never");
                yield tokens -> {
                    List<String> out = new ArrayList<>(tokens.size());
                    for (int i = 0; i < tokens.size(); i++) {
                        // Hugging Face drops every replacement char of the first token (the prepended one).
                        out.add(tokens.get(i).replace(rep, i == 0 && dropFirst ? "" : " "));
                    }
                    return out;
                };
            }
            case "WordPiece" -> {
                c.allowKeys("type", "prefix", "cleanup");
                String prefix = c.str("prefix", "##");
                boolean cleanup = c.bool("cleanup", true);
                yield tokens -> {
                    List<String> out = new ArrayList<>(tokens.size());
                    for (int i = 0; i < tokens.size(); i++) {
                        String t = tokens.get(i);
                        t = i != 0 && t.startsWith(prefix) ? t.substring(prefix.length()) : i != 0 ? " " + t : t;
                        out.add(cleanup ? cleanup(t) : t);
                    }
                    return out;
                };
            }
            case "Sequence" -> {
                c.allowKeys("type", "decoders");
                List<UnaryOperator<List<String>>> parts = c.list("decoders").stream().map(Decoders::build).toList();
                for (int i = 0; i < parts.size(); i++) {
                    if (parts.get(i) == null) {
                        throw c.get("decoders").error("element " + i + " is null");
                    }
                }
                yield tokens -> {
                    for (UnaryOperator<List<String>> d : parts) {
                        tokens = d.apply(tokens);
                    }
                    return tokens;
                };
            }
            default -> throw c.unsupported("type", type, SUPPORTED);
        };
    }

    /** Runs of {@code <0xXX>} tokens become their UTF-8 text, or one U+FFFD per byte when invalid. */
    private static List<String> byteFallback(List<String> tokens) {
        List<String> out = new ArrayList<>(tokens.size());
        ByteArrayOutputStream pending = new ByteArrayOutputStream();
        for (String t : tokens) {
            int b = byteToken(t);
            if (b >= 0) {
                pending.write(b);
                continue;
            }
            flush(pending, out);
            out.add(t);
        }
        flush(pending, out);
        return out;
    }

    /** The byte of a {@code <0xXX>} token, or -1. */
    static int byteToken(String t) {
        if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
            try {
                return Integer.parseInt(t.substring(3, 5), 16);
            } catch (NumberFormatException e) {
                return -1;
            }
        }
        return -1;
    }

    private static void flush(ByteArrayOutputStream pending, List<String> out) {
        if (pending.size() == 0) {
            return;
        }
        byte[] b = pending.toByteArray();
        pending.reset();
        try {
            out.add(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString());
        } catch (CharacterCodingException e) {
            for (int i = 0; i < b.length; i++) {
                out.add("\uFFFD");
            }
        }
    }

    private static String strip(String t, int ch, int start, int stop) {
        int[] cps = t.codePoints().toArray();
        int from = 0, to = cps.length;
        while (from < start && from < to && cps[from] == ch) {
            from++;
        }
        int removed = 0;
        while (removed < stop && to > from && cps[to - 1] == ch) {
            to--;
            removed++;
        }
        return new String(cps, from, to - from);
    }

    /** Hugging Face's WordPiece cleanup of spaces before punctuation and contractions. */
    private static String cleanup(String s) {
        return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",").replace(" ' ", "'")
                .replace(" n't", "n't").replace(" 'm", "'m").replace(" do not", " don't").replace(" 's", "'s")
                .replace(" 've", "'ve").replace(" 're", "'re");
    }
}
