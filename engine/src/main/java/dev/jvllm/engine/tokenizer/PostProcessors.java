package dev.jvllm.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** The tokenizer.json post-processors this tokenizer supports, for single sequences (ids only). */
final class PostProcessors {
    static final List<String> SUPPORTED =
            List.of("TemplateProcessing", "ByteLevel", "RobertaProcessing", "BertProcessing", "Sequence");

    private PostProcessors() {
    }

    /** The post-processor at {@code c}; identity for null. */
    static UnaryOperator<List<Integer>> build(Cfg c) {
        if (c.isNull()) {
            return UnaryOperator.identity();
        }
        String type = c.type();
        return switch (type) {
            case "TemplateProcessing" -> template(c);
            case "ByteLevel" -> {
                // Only adjusts offsets, which this tokenizer does not report.
                c.allowKeys("type", "add_prefix_space", "trim_offsets", "use_regex");
                yield UnaryOperator.identity();
            }
            case "RobertaProcessing", "BertProcessing" -> {
                c.allowKeys("type", "sep", "cls", "trim_offsets", "add_prefix_space");
                int cls = pairId(c.get("cls")), sep = pairId(c.get("sep"));
                yield ids -> {
                    List<Integer> out = new ArrayList<>(ids.size() + 2);
                    out.add(cls);
                    out.addAll(ids);
                    out.add(sep);
                    return out;
                };
            }
            case "Sequence" -> {
                c.allowKeys("type", "processors");
                List<UnaryOperator<List<Integer>>> parts =
                        c.list("processors").stream().map(PostProcessors::build).toList();
                yield ids -> {
                    for (UnaryOperator<List<Integer>> p : parts) {
                        ids = p.apply(ids);
                    }
                    return ids;
                };
            }
            default -> throw c.unsupported("type", type, SUPPORTED);
        };
    }

    /** A {@code ["<s>", 0]} pair's id. */
    private static int pairId(Cfg c) {
        if (c.isNull() || !c.node().isArray() || c.node().size() != 2) {
            throw c.error("expected [token, id]");
        }
        return new Cfg(c.node().get(1), c.path() + "[1]", c.file()).asInt();
    }

    private static UnaryOperator<List<Integer>> template(Cfg c) {
        c.allowKeys("type", "single", "pair", "special_tokens");
        // The pair template is validated by Hugging Face only when used; this tokenizer encodes single texts.
        List<Object> parts = new ArrayList<>(); // int[] for special token ids, "A" for the sequence
        for (Cfg piece : c.list("single")) {
            piece.allowKeys("SpecialToken", "Sequence");
            if (piece.has("SpecialToken")) {
                String id = piece.get("SpecialToken").str("id");
                Cfg special = c.get("special_tokens").get(id);
                if (special.isNull()) {
                    throw special.error("special token \"" + id + "\" used by the template is not defined");
                }
                parts.add(special.list("ids").stream().mapToInt(Cfg::asInt).toArray());
            } else if (piece.has("Sequence")) {
                String id = piece.get("Sequence").str("id");
                if (!id.equals("A")) {
                    throw piece.get("Sequence").unsupported("id", id, List.of("A"));
                }
                parts.add("A");
            } else {
                throw piece.error("expected SpecialToken or Sequence");
            }
        }
        return ids -> {
            List<Integer> out = new ArrayList<>(ids.size() + parts.size());
            for (Object p : parts) {
                if (p instanceof int[] special) {
                    for (int v : special) {
                        out.add(v);
                    }
                } else {
                    out.addAll(ids);
                }
            }
            return out;
        };
    }
}
