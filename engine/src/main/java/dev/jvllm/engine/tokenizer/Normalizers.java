package dev.jvllm.engine.tokenizer;

import java.text.Normalizer;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The tokenizer.json normalizers this tokenizer supports, built from their JSON. */
final class Normalizers {
    static final List<String> SUPPORTED =
            List.of("NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Prepend", "Replace", "Strip", "Sequence");

    private Normalizers() {
    }

    /** The normalizer at {@code c}; identity for null. */
    static UnaryOperator<String> build(Cfg c) {
        if (c.isNull()) {
            return UnaryOperator.identity();
        }
        String type = c.type();
        return switch (type) {
            case "NFC" -> form(c, Normalizer.Form.NFC);
            case "NFD" -> form(c, Normalizer.Form.NFD);
            case "NFKC" -> form(c, Normalizer.Form.NFKC);
            case "NFKD" -> form(c, Normalizer.Form.NFKD);
            case "Lowercase" -> {
                c.allowKeys("type");
                yield s -> s.toLowerCase(Locale.ROOT);
            }
            case "Prepend" -> {
                String prefix = c.allowKeys("type", "prepend").str("prepend");
                // Hugging Face leaves an empty string empty rather than prepending to it.
                yield s -> s.isEmpty() ? s : prefix + s;
            }
            case "Replace" -> {
                c.allowKeys("type", "pattern", "content");
                Pattern p = Regexes.pattern(c.get("pattern"));
                String content = Matcher.quoteReplacement(c.str("content"));
                yield s -> p.matcher(s).replaceAll(content);
            }
            case "Strip" -> {
                c.allowKeys("type", "strip_left", "strip_right");
                boolean left = c.bool("strip_left", false), right = c.bool("strip_right", false);
                yield s -> left && right ? s.strip() : left ? s.stripLeading() : right ? s.stripTrailing() : s;
            }
            case "Sequence" -> {
                c.allowKeys("type", "normalizers");
                List<UnaryOperator<String>> parts = c.list("normalizers").stream().map(Normalizers::build).toList();
                yield s -> {
                    for (UnaryOperator<String> n : parts) {
                        s = n.apply(s);
                    }
                    return s;
                };
            }
            default -> throw c.unsupported("type", type, SUPPORTED);
        };
    }

    private static UnaryOperator<String> form(Cfg c, Normalizer.Form form) {
        c.allowKeys("type");
        return s -> Normalizer.normalize(s, form);
    }
}
