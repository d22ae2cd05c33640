package dev.jvllm.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** The tokenizer.json pre-tokenizers this tokenizer supports, built from their JSON. */
final class PreTokenizers {
    static final List<String> SUPPORTED = List.of("ByteLevel", "Split", "Metaspace", "Whitespace", "WhitespaceSplit",
            "Digits", "Punctuation", "Sequence");
    static final List<String> BEHAVIORS =
            List.of("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous");

    /**
     * A pre-tokenized piece of text. {@code atStart} is true when it begins at offset 0 of the original
     * text, which Metaspace's {@code prepend_scheme: first} depends on.
     */
    record Piece(String text, boolean atStart) {
    }

    /** One pre-tokenizer: splits (and possibly rewrites) a piece, adding the results to {@code out}. */
    interface PreTokenizer {
        void apply(Piece piece, List<Piece> out);
    }

    private PreTokenizers() {
    }

    /** The pre-tokenizer at {@code c}; the whole text as one piece for null. */
    static PreTokenizer build(Cfg c) {
        if (c.isNull()) {
            return (p, out) -> out.add(p);
        }
        String type = c.type();
        return switch (type) {
            case "ByteLevel" -> {
                // trim_offsets only affects offsets, which this tokenizer does not report.
                c.allowKeys("type", "add_prefix_space", "trim_offsets", "use_regex");
                boolean prefix = c.bool("add_prefix_space", true), regex = c.bool("use_regex", true);
                yield (p, out) -> {
                    String s = prefix && !p.text().startsWith(" ") ? " " + p.text() : p.text();
                    List<Piece> parts = new ArrayList<>();
                    if (regex) {
                        split(new Piece(s, p.atStart()), ByteLevel.GPT2_REGEX, "Isolated", false, parts);
                    } else {
                        parts.add(new Piece(s, p.atStart()));
                    }
                    for (Piece q : parts) {
                        out.add(new Piece(ByteLevel.encode(q.text()), q.atStart()));
                    }
                };
            }
            case "Split" -> {
                c.allowKeys("type", "pattern", "behavior", "invert");
                Pattern pattern = Regexes.pattern(c.get("pattern"));
                String behavior = behavior(c, "behavior");
                boolean invert = c.bool("invert", false);
                yield (p, out) -> split(p, pattern, behavior, invert, out);
            }
            case "Metaspace" -> metaspace(c);
            case "Whitespace" -> {
                c.allowKeys("type");
                Pattern words = Regexes.compile("\\w+|[^\\w\\s]+");
                yield (p, out) -> split(p, words, "Removed", true, out);
            }
            case "WhitespaceSplit" -> {
                c.allowKeys("type");
                Pattern ws = Regexes.compile("\\s+");
                yield (p, out) -> split(p, ws, "Removed", false, out);
            }
            case "Digits" -> {
                c.allowKeys("type", "individual_digits");
                boolean individual = c.bool("individual_digits", false);
                Pattern digits = Regexes.compile(individual ? "\\p{Nd}" : "\\p{Nd}+");
                yield (p, out) -> split(p, digits, individual ? "Isolated" : "Contiguous", false, out);
            }
            case "Punctuation" -> {
                c.allowKeys("type", "behavior");
                String behavior = c.has("behavior") ? behavior(c, "behavior") : "Isolated";
                // Rust's char::is_ascii_punctuation || Unicode general category P*.
                Pattern punct = Regexes.compile("[\\p{P}!-/:-@\\[-`{-~]");
                yield (p, out) -> split(p, punct, behavior, false, out);
            }
            case "Sequence" -> {
                c.allowKeys("type", "pretokenizers");
                List<PreTokenizer> parts = c.list("pretokenizers").stream().map(PreTokenizers::build).toList();
                yield (p, out) -> {
                    List<Piece> cur = List.of(p);
                    for (PreTokenizer t : parts) {
                        List<Piece> next = new ArrayList<>();
                        for (Piece q : cur) {
                            t.apply(q, next);
                        }
                        cur = next;
                    }
                    out.addAll(cur);
                };
            }
            default -> throw c.unsupported("type", type, SUPPORTED);
        };
    }

    private static String behavior(Cfg c, String key) {
        String b = c.str(key);
        if (!BEHAVIORS.contains(b)) {
            throw c.unsupported(key, b, BEHAVIORS);
        }
        return b;
    }

    private static PreTokenizer metaspace(Cfg c) {
        c.allowKeys("type", "replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep");
        String replacement = c.str("replacement", "\u2581");
        // Older files carry add_prefix_space instead of prepend_scheme.
        String scheme = c.has("prepend_scheme") ? c.str("prepend_scheme")
                : c.bool("add_prefix_space", true) ? "always" : "never";
        List<String> schemes = List.of("always", "first", "never");
        if (!schemes.contains(scheme)) {
            throw c.unsupported("prepend_scheme", scheme, schemes);
        }
        boolean doSplit = c.bool("split", true);
        Pattern rep = Pattern.compile(Pattern.quote(replacement));
        return (p, out) -> {
            String s = p.text().replace(" ", replacement);
            boolean prepend = switch (scheme) {
                case "always" -> true;
                case "first" -> p.atStart();
                default -> false;
            };
            if (prepend && !s.startsWith(replacement)) {
                s = replacement + s;
            }
            Piece q = new Piece(s, p.atStart());
            if (doSplit) {
                split(q, rep, "MergedWithNext", false, out);
            } else if (!s.isEmpty()) {
                out.add(q);
            }
        };
    }

    /** Hugging Face's NormalizedString::split: the matches of {@code pattern} treated per {@code behavior}. */
    static void split(Piece p, Pattern pattern, String behavior, boolean invert, List<Piece> out) {
        String s = p.text();
        List<int[]> segs = Regexes.segments(pattern, s);
        if (invert) {
            for (int[] g : segs) {
                g[2] ^= 1;
            }
        }
        // Each entry {start, end, remove}.
        List<int[]> splits = new ArrayList<>();
        switch (behavior) {
            case "Isolated" -> segs.forEach(g -> splits.add(new int[] {g[0], g[1], 0}));
            case "Removed" -> segs.forEach(g -> splits.add(new int[] {g[0], g[1], g[2]}));
            case "Contiguous" -> {
                boolean prevMatch = false;
                for (int[] g : segs) {
                    boolean m = g[2] == 1;
                    if (m == prevMatch && !splits.isEmpty()) {
                        splits.getLast()[1] = g[1];
                    } else {
                        splits.add(new int[] {g[0], g[1], 0});
                    }
                    prevMatch = m;
                }
            }
            case "MergedWithPrevious" -> {
                boolean prevMatch = false;
                for (int[] g : segs) {
                    boolean m = g[2] == 1;
                    if (m && !prevMatch && !splits.isEmpty()) {
                        splits.getLast()[1] = g[1];
                    } else {
                        splits.add(new int[] {g[0], g[1], 0});
                    }
                    prevMatch = m;
                }
            }
            case "MergedWithNext" -> {
                boolean prevMatch = false;
                for (int i = segs.size() - 1; i >= 0; i--) {
                    int[] g = segs.get(i);
                    boolean m = g[2] == 1;
                    if (m && !prevMatch && !splits.isEmpty()) {
                        splits.getLast()[0] = g[0];
                    } else {
                        splits.add(new int[] {g[0], g[1], 0});
                    }
                    prevMatch = m;
                }
                java.util.Collections.reverse(splits);
            }
            default -> throw new IllegalStateException(behavior);
        }
        for (int[] g : splits) {
            if (g[2] == 0 && g[1] > g[0]) {
                out.add(new Piece(s.substring(g[0], g[1]), p.atStart() && g[0] == 0));
            }
        }
    }
}
