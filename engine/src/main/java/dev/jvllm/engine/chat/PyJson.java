package dev.jvllm.engine.chat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...)}, byte for
 * byte: the {@code tojson} filter of Hugging Face chat templates puts tool schemas into prompts, so its
 * spacing and number spelling are part of what the model sees.
 */
final class PyJson {
    private PyJson() {
    }

    /**
     * @param indent     null: one line; n: newline and n spaces per level (Python's {@code indent=n})
     * @param itemSep    null: {@code ", "} on one line, {@code ","} when indented (Python's default)
     * @param keySep     null: {@code ": "}
     */
    static String dumps(Object value, Integer indent, String itemSep, String keySep, boolean sortKeys) {
        StringBuilder sb = new StringBuilder();
        String items = itemSep != null ? itemSep : indent == null ? ", " : ",";
        String keys = keySep != null ? keySep : ": ";
        write(sb, value, indent, items, keys, sortKeys, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, Integer indent, String items, String keys, boolean sort,
                              int depth) {
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case CharSequence s -> string(sb, s.toString());
            case Double d -> sb.append(floatRepr(d));
            case Float f -> sb.append(floatRepr(f.doubleValue()));
            case BigDecimal d -> sb.append(floatRepr(d.doubleValue()));
            case Number n -> sb.append(n);
            case Map<?, ?> m -> {
                List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
                if (sort) {
                    entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
                }
                if (entries.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                sb.append('{');
                for (int i = 0; i < entries.size(); i++) {
                    separator(sb, i, indent, items, depth + 1);
                    string(sb, key(entries.get(i).getKey()));
                    sb.append(keys);
                    write(sb, entries.get(i).getValue(), indent, items, keys, sort, depth + 1);
                }
                newline(sb, indent, depth);
                sb.append('}');
            }
            case Collection<?> c -> {
                if (c.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                int i = 0;
                for (Object e : c) {
                    separator(sb, i++, indent, items, depth + 1);
                    write(sb, e, indent, items, keys, sort, depth + 1);
                }
                newline(sb, indent, depth);
                sb.append(']');
            }
            case Object[] a -> write(sb, List.of(a), indent, items, keys, sort, depth);
            default -> throw new IllegalArgumentException("tojson: cannot serialize a " + v.getClass().getSimpleName());
        }
    }

    /** JSON keys are strings; Python spells bool/None/number keys the JSON way. */
    private static String key(Object k) {
        return switch (k) {
            case null -> "null";
            case Boolean b -> b ? "true" : "false";
            case Double d -> floatRepr(d);
            default -> k.toString();
        };
    }

    private static void separator(StringBuilder sb, int i, Integer indent, String items, int depth) {
        if (i > 0) {
            sb.append(items);
        }
        newline(sb, indent, depth);
    }

    private static void newline(StringBuilder sb, Integer indent, int depth) {
        if (indent != null) {
            sb.append('\n').append(" ".repeat(indent * depth));
        }
    }

    /** ensure_ascii=False: only the quote, the backslash and control characters are escaped. */
    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /**
     * Python's {@code repr(float)}: the shortest digits that round-trip (as Java's), positional between
     * 1e-4 and 1e16, else {@code d.ddde+XX} with at least two exponent digits; integral values keep ".0".
     */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        String digits = exact.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - exact.scale(); // d = 0.digits... * 10^(exponent+1)
        String sign = d < 0 ? "-" : "";
        if (exponent >= -4 && exponent < 16) {
            String plain = exact.abs().toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        String exp = String.format("%02d", Math.abs(exponent));
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + exp;
    }
}
