package dev.jvllm.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.List;
import java.util.Map;

/**
 * Filters whose Jinja2 (and transformers) behaviour jinjava spells differently: {@code tojson} with
 * Python's json.dumps formatting, {@code trim} with Python's whitespace, {@code items}.
 */
final class PyFilters {
    private PyFilters() {
    }

    static List<Filter> all() {
        return List.of(new ToJson(), new Trim(), new Items(), new Title(), new Extreme("max", 1),
                new Extreme("min", -1), new Str(), new Join());
    }

    /** transformers' tojson: {@code json.dumps(x, ensure_ascii=False, indent, separators, sort_keys)}. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            Object separators = kwargs.get("separators");
            Object sortKeys = kwargs.get("sort_keys");
            String itemSep = null;
            String keySep = null;
            if (separators instanceof List<?> seps && seps.size() == 2) {
                itemSep = String.valueOf(seps.get(0));
                keySep = String.valueOf(seps.get(1));
            } else if (separators != null) {
                throw new ChatTemplateException("tojson: separators must be a pair (item_separator, key_separator)");
            }
            Integer width = indent == null ? null : indent instanceof Number n ? n.intValue()
                    : Integer.valueOf(indent.toString().trim());
            return PyJson.dumps(var, width, itemSep, keySep, Boolean.TRUE.equals(sortKeys));
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PyJson.dumps(var, null, null, null, false);
        }
    }

    /** Jinja2's trim: {@code str.strip()} (Python whitespace), or strip the given characters. */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            String chars = args.length > 0 ? args[0] : null;
            return PyMethods.strip(var == null ? "None" : var.toString(), chars, true, true);
        }
    }

    /**
     * Jinja2's title (not str.title): words start after whitespace, '-', '(', '{', '[' or '<'; the first
     * character of each is upper-cased, the rest lower-cased ("3rd-rate" -> "3rd-Rate").
     */
    static final class Title implements Filter {
        @Override
        public String getName() {
            return "title";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            String s = PyStr.str(var);
            StringBuilder sb = new StringBuilder(s.length());
            boolean wordStart = true;
            for (int i = 0; i < s.length(); ) {
                int c = s.codePointAt(i);
                i += Character.charCount(c);
                boolean separator = PyMethods.isSpace(c) || "-({[<".indexOf(c) >= 0;
                if (separator) {
                    sb.appendCodePoint(c);
                    wordStart = true;
                } else {
                    sb.append(wordStart ? new String(Character.toChars(c)).toUpperCase(java.util.Locale.ROOT)
                            : new String(Character.toChars(c)).toLowerCase(java.util.Locale.ROOT));
                    wordStart = false;
                }
            }
            return sb.toString();
        }
    }

    /** Jinja2's max/min: the largest/smallest item, strings compared case-insensitively by default. */
    static final class Extreme implements Filter {
        private final String name;
        private final int sign;

        Extreme(String name, int sign) {
            this.name = name;
            this.sign = sign;
        }

        @Override
        public String getName() {
            return name;
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            boolean caseSensitive = Boolean.TRUE.equals(kwargs.getOrDefault("case_sensitive",
                    args.length > 0 ? args[0] : false));
            Object attribute = kwargs.getOrDefault("attribute", args.length > 1 ? args[1] : null);
            if (!(var instanceof java.util.Collection<?> items) || items.isEmpty()) {
                return null; // Jinja2: undefined for an empty sequence
            }
            Object best = null;
            Comparable<Object> bestKey = null;
            for (Object item : items) {
                Object v = attribute != null && item instanceof Map<?, ?> m ? m.get(attribute.toString()) : item;
                @SuppressWarnings("unchecked")
                Comparable<Object> key = (Comparable<Object>) (v instanceof String s && !caseSensitive
                        ? s.toLowerCase(java.util.Locale.ROOT) : v instanceof Number n ? (Object) n.doubleValue() : v);
                if (bestKey == null || key.compareTo(bestKey) * sign > 0) {
                    best = item;
                    bestKey = key;
                }
            }
            return best;
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }
    }

    /** Jinja2's string: Python's str() ("True", "None", "['a']"). */
    static final class Str implements Filter {
        @Override
        public String getName() {
            return "string";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PyStr.str(var);
        }
    }

    /** Jinja2's join(separator='', attribute=None): items (or an attribute of each) as Python's str(), joined. */
    static final class Join implements Filter {
        @Override
        public String getName() {
            return "join";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object sep = kwargs.getOrDefault("d", args.length > 0 ? args[0] : "");
            Object attribute = kwargs.getOrDefault("attribute", args.length > 1 ? args[1] : null);
            Iterable<?> items = switch (var) {
                case null -> List.of();
                case java.util.Collection<?> c -> c;
                case Map<?, ?> m -> m.keySet();
                case CharSequence cs -> cs.toString().codePoints().mapToObj(Character::toString).toList();
                default -> throw new ChatTemplateException("join: a " + PyMethods.typeName(var) + " is not iterable");
            };
            StringBuilder sb = new StringBuilder();
            boolean first = true;
            for (Object item : items) {
                Object v = attribute != null && item instanceof Map<?, ?> m ? m.get(attribute.toString()) : item;
                sb.append(first ? "" : PyStr.str(sep)).append(PyStr.str(v));
                first = false;
            }
            return sb.toString();
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }
    }

    /** Jinja2's items: a mapping's (key, value) pairs. */
    static final class Items implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return List.of();
            }
            if (var instanceof Map<?, ?> m) {
                return PyMethods.items(m);
            }
            throw new ChatTemplateException("items: expected a mapping, got " + PyMethods.typeName(var));
        }
    }
}
