package dev.jvllm.engine.chat;

import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/** Python's {@code str()} and {@code repr()} of the values templates handle, for printing them as Jinja2 does. */
final class PyStr {
    private PyStr() {
    }

    /** A template global ({@code raise_exception}, ...) seen as a value. */
    record Function(String name) {
        @Override
        public String toString() {
            return "<function " + name + ">";
        }
    }

    static String str(Object o) {
        return o instanceof CharSequence s ? s.toString() : repr(o);
    }

    static String repr(Object o) {
        return switch (o) {
            case null -> "None";
            case Boolean b -> b ? "True" : "False";
            case CharSequence s -> quote(s.toString());
            case Double d -> PyJson.floatRepr(d);
            case Float f -> PyJson.floatRepr(f.doubleValue());
            case Map.Entry<?, ?> e -> "(" + repr(e.getKey()) + ", " + repr(e.getValue()) + ")";
            case Map<?, ?> m -> {
                StringBuilder sb = new StringBuilder("{");
                Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
                while (it.hasNext()) {
                    Map.Entry<?, ?> e = it.next();
                    sb.append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                    sb.append(it.hasNext() ? ", " : "");
                }
                yield sb.append('}').toString();
            }
            case Collection<?> c -> {
                StringBuilder sb = new StringBuilder("[");
                Iterator<?> it = c.iterator();
                while (it.hasNext()) {
                    sb.append(repr(it.next())).append(it.hasNext() ? ", " : "");
                }
                yield sb.append(']').toString();
            }
            default -> o.toString();
        };
    }

    /** Python's string repr: single quotes unless the text has one and no double quote. */
    private static String quote(String s) {
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder sb = new StringBuilder(s.length() + 2).append(q);
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c == q) {
                        sb.append('\\').appendCodePoint(c);
                    } else if (c < 0x20 || c == 0x7f) {
                        sb.append(String.format("\\x%02x", c));
                    } else if (!printable(c)) {
                        sb.append(c <= 0xff ? String.format("\\x%02x", c)
                                : c <= 0xffff ? String.format("\\u%04x", c) : String.format("\\U%08x", c));
                    } else {
                        sb.appendCodePoint(c);
                    }
                }
            }
        }
        return sb.append(q).toString();
    }

    /** Python's str.isprintable for one code point: not a control, format, separator (but space) or unassigned. */
    private static boolean printable(int c) {
        if (c == ' ') {
            return true;
        }
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE,
                 Character.UNASSIGNED, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                 Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }
}
