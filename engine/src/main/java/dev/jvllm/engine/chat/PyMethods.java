package dev.jvllm.engine.chat;

import java.beans.FeatureDescriptor;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * The Python methods chat templates call on strings and dicts ({@code content.strip()},
 * {@code message.content.startswith('<tool_response>')}, {@code tool.items()}, ...), with Python's
 * semantics. It is the only method-call resolver the template engine has: like transformers'
 * ImmutableSandboxedEnvironment, a template cannot call arbitrary Java methods or mutate its inputs.
 */
final class PyMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (base == null || method == null) {
            return null;
        }
        String name = method.toString();
        Object[] args = params == null ? new Object[0] : params;
        Object result = switch (base) {
            case CharSequence s -> stringMethod(s.toString(), name, args);
            case Map<?, ?> m -> dictMethod(m, name, args);
            case Collection<?> c -> NOT_FOUND; // list methods would mutate; the sandbox has none
            default -> null; // the engine's own objects (filters, tests, macros): the next resolver
        };
        if (result == null && !(base instanceof CharSequence || base instanceof Map || base instanceof Collection)) {
            return null;
        }
        if (result == NOT_FOUND) {
            throw new ChatTemplateException("a chat template called ." + name + "() on a "
                    + typeName(base) + ", which this renderer does not provide");
        }
        context.setPropertyResolved(true);
        return result;
    }

    private static final Object NOT_FOUND = new Object();

    static String typeName(Object o) {
        return switch (o) {
            case null -> "None";
            case CharSequence s -> "str";
            case Map<?, ?> m -> "dict";
            case Collection<?> c -> "list";
            case Boolean b -> "bool";
            case Integer i -> "int";
            case Long l -> "int";
            case Number n -> "float";
            default -> o.getClass().getSimpleName();
        };
    }

    private static Object dictMethod(Map<?, ?> m, String name, Object[] a) {
        return switch (name) {
            case "items" -> items(m);
            case "keys" -> new ArrayList<>(m.keySet());
            case "values" -> new ArrayList<>(m.values());
            case "get" -> {
                arity(name, a, 1, 2);
                yield m.containsKey(a[0]) ? m.get(a[0]) : a.length > 1 ? a[1] : null;
            }
            default -> NOT_FOUND;
        };
    }

    /** {@code dict.items()}: (key, value) pairs, which a two-variable for loop unpacks. */
    static List<Map.Entry<?, ?>> items(Map<?, ?> m) {
        List<Map.Entry<?, ?>> entries = new ArrayList<>(m.size());
        for (Map.Entry<?, ?> e : m.entrySet()) {
            entries.add(new AbstractMap.SimpleImmutableEntry<>(e.getKey(), e.getValue()));
        }
        return entries;
    }

    private static Object stringMethod(String s, String name, Object[] a) {
        return switch (name) {
            case "strip" -> strip(s, chars(name, a), true, true);
            case "lstrip" -> strip(s, chars(name, a), true, false);
            case "rstrip" -> strip(s, chars(name, a), false, true);
            case "split" -> split(s, optString(name, a, 0), maxsplit(name, a));
            case "rsplit" -> rsplit(s, optString(name, a, 0), maxsplit(name, a));
            case "splitlines" -> splitlines(s);
            case "startswith" -> affix(s, name, a, true);
            case "endswith" -> affix(s, name, a, false);
            case "upper" -> s.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> s.toLowerCase(java.util.Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s
                    : s.substring(0, s.offsetByCodePoints(0, 1)).toUpperCase(java.util.Locale.ROOT)
                            + s.substring(s.offsetByCodePoints(0, 1)).toLowerCase(java.util.Locale.ROOT);
            case "replace" -> {
                arity(name, a, 2, 3);
                yield replace(s, str(name, a[0]), str(name, a[1]), a.length > 2 ? integer(name, a[2]) : -1);
            }
            case "find" -> s.indexOf(str(name, arity(name, a, 1, 1)[0]));
            case "rfind" -> s.lastIndexOf(str(name, arity(name, a, 1, 1)[0]));
            case "count" -> count(s, str(name, arity(name, a, 1, 1)[0]));
            case "join" -> join(s, arity(name, a, 1, 1)[0]);
            case "removeprefix" -> {
                String p = str(name, arity(name, a, 1, 1)[0]);
                yield s.startsWith(p) ? s.substring(p.length()) : s;
            }
            case "removesuffix" -> {
                String p = str(name, arity(name, a, 1, 1)[0]);
                yield s.endsWith(p) && !p.isEmpty() ? s.substring(0, s.length() - p.length()) : s;
            }
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(PyMethods::isSpace);
            case "isdigit" -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            case "isupper" -> s.codePoints().anyMatch(Character::isUpperCase)
                    && s.codePoints().noneMatch(Character::isLowerCase);
            case "islower" -> s.codePoints().anyMatch(Character::isLowerCase)
                    && s.codePoints().noneMatch(Character::isUpperCase);
            default -> NOT_FOUND;
        };
    }

    /** {@code str.splitlines()}: \r\n counts as one break; no empty part after a final break. */
    private static List<String> splitlines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ("\n\r\u000b\f\u001c\u001d\u001e\u0085\u2028\u2029".indexOf(c) >= 0) {
                out.add(s.substring(start, i));
                if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < s.length()) {
            out.add(s.substring(start));
        }
        return out;
    }

    /** Python's str.isspace for one char: Java's whitespace plus the no-break spaces and NEL. */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || c == '\u00a0' || c == '\u2007' || c == '\u202f' || c == '\u0085';
    }

    /** {@code str.strip(chars)}: chars null strips whitespace. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        while (left && start < end && stripped(s.charAt(start), chars)) {
            start++;
        }
        while (right && end > start && stripped(s.charAt(end - 1), chars)) {
            end--;
        }
        return s.substring(start, end);
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    /** {@code str.split(sep, maxsplit)}: sep null splits on whitespace runs and drops empty parts. */
    static List<String> split(String s, String sep, int maxsplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) {
                    i++;
                }
                if (i == n) {
                    return out;
                }
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(s.substring(i)); // the rest keeps its trailing whitespace, as CPython's
                    return out;
                }
                int j = i;
                while (j < n && !isSpace(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                i = j;
            }
        }
        if (sep.isEmpty()) {
            throw new ChatTemplateException("split(): empty separator");
        }
        int from = 0;
        int at;
        while ((maxsplit < 0 || out.size() < maxsplit) && (at = s.indexOf(sep, from)) >= 0) {
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static List<String> rsplit(String s, String sep, int maxsplit) {
        if (maxsplit < 0) {
            return split(s, sep, maxsplit);
        }
        List<String> reversed = new ArrayList<>();
        String rest = s;
        if (sep == null) {
            rest = strip(s, null, false, true);
            while (reversed.size() < maxsplit) {
                int j = rest.length();
                int i = j;
                while (i > 0 && !isSpace(rest.charAt(i - 1))) {
                    i--;
                }
                if (i == 0) {
                    break;
                }
                reversed.add(rest.substring(i, j));
                rest = strip(rest.substring(0, i), null, false, true);
            }
            if (!rest.isEmpty()) {
                reversed.add(rest);
            }
        } else {
            int at;
            while (reversed.size() < maxsplit && (at = rest.lastIndexOf(sep)) >= 0) {
                reversed.add(rest.substring(at + sep.length()));
                rest = rest.substring(0, at);
            }
            reversed.add(rest);
        }
        return reversed.reversed();
    }

    private static boolean affix(String s, String name, Object[] a, boolean prefix) {
        arity(name, a, 1, 3);
        int start = a.length > 1 && a[1] != null ? clamp(integer(name, a[1]), s.length()) : 0;
        int end = a.length > 2 && a[2] != null ? clamp(integer(name, a[2]), s.length()) : s.length();
        if (start > end) {
            return false;
        }
        String region = s.substring(start, end);
        Iterable<?> candidates = a[0] instanceof Collection<?> c ? c : List.of(str(name, a[0]));
        for (Object candidate : candidates) {
            String c = str(name, candidate);
            if (prefix ? region.startsWith(c) : region.endsWith(c)) {
                return true;
            }
        }
        return false;
    }

    /** Python slice-index clamping: negative counts from the end. */
    private static int clamp(int i, int len) {
        return i < 0 ? Math.max(0, len + i) : Math.min(i, len);
    }

    /** {@code str.title()}: a cased character after an uncased one is upper-cased, the rest lower-cased. */
    static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            sb.appendCodePoint(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
            previousCased = Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
            i += Character.charCount(c);
        }
        return sb.toString();
    }

    private static String replace(String s, String old, String replacement, int count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (int n = 0; n < count; n++) {
            int at = old.isEmpty() ? (from <= s.length() ? from : -1) : s.indexOf(old, from);
            if (at < 0 || (old.isEmpty() && at > s.length())) {
                break;
            }
            sb.append(s, from, at).append(replacement);
            if (old.isEmpty()) {
                if (at < s.length()) {
                    sb.append(s.charAt(at));
                }
                from = at + 1;
            } else {
                from = at + old.length();
            }
        }
        return from <= s.length() ? sb.append(s.substring(from)).toString() : sb.toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    private static String join(String sep, Object items) {
        Iterator<?> it = switch (items) {
            case Collection<?> c -> c.iterator();
            case Map<?, ?> m -> m.keySet().iterator();
            case CharSequence cs -> cs.toString().chars().mapToObj(ch -> String.valueOf((char) ch)).iterator();
            default -> throw new ChatTemplateException("join(): can only join an iterable, got " + typeName(items));
        };
        StringBuilder sb = new StringBuilder();
        for (int i = 0; it.hasNext(); i++) {
            Object o = it.next();
            if (!(o instanceof CharSequence)) {
                throw new ChatTemplateException("join(): sequence item " + i + ": expected str instance, "
                        + typeName(o) + " found");
            }
            sb.append(i == 0 ? "" : sep).append(o);
        }
        return sb.toString();
    }

    private static Object[] arity(String name, Object[] a, int min, int max) {
        if (a.length < min || a.length > max) {
            throw new ChatTemplateException(name + "() takes " + (min == max ? min : min + " to " + max)
                    + " arguments, got " + a.length);
        }
        return a;
    }

    private static String chars(String name, Object[] a) {
        arity(name, a, 0, 1);
        return optString(name, a, 0);
    }

    private static String optString(String name, Object[] a, int i) {
        return a.length > i && a[i] != null ? str(name, a[i]) : null;
    }

    private static int maxsplit(String name, Object[] a) {
        arity(name, a, 0, 2);
        return a.length > 1 && a[1] != null ? integer(name, a[1]) : -1;
    }

    private static String str(String name, Object o) {
        if (o instanceof CharSequence s) {
            return s.toString();
        }
        throw new ChatTemplateException(name + "() needs a str argument, got " + typeName(o));
    }

    private static int integer(String name, Object o) {
        if (o instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
            return n.intValue();
        }
        throw new ChatTemplateException(name + "() needs an int argument, got " + typeName(o));
    }

    // Property access: Python subscripts of strings (negative indices) and slices (py_slice markers, see
    // JinjaSource); everything else stays with the other resolvers.

    /** The subscript {@code x[a:b:c]} as {@link JinjaSource} rewrites it; jinjava passes subscripts as text. */
    static final String SLICE_MARK = "\u0001py_slice:";

    /** {@code py_slice(start, stop, step)}: a slice marker the resolver below applies. */
    public static String slice(Object start, Object stop, Object step) {
        return SLICE_MARK + bound(start) + ":" + bound(stop) + ":" + bound(step);
    }

    private static String bound(Object o) {
        if (o == null) {
            return "";
        }
        if (o instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
            return Long.toString(n.longValue());
        }
        throw new ChatTemplateException("slice indices must be integers or None, got " + typeName(o));
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (base == null || property == null) {
            return null;
        }
        String p = property.toString();
        if (p.startsWith(SLICE_MARK)) {
            String[] b = p.substring(SLICE_MARK.length()).split(":", -1);
            Object result = sliced(base, parse(b[0]), parse(b[1]), parse(b[2]));
            context.setPropertyResolved(true);
            return result;
        }
        if (base instanceof CharSequence s && (property instanceof Number || p.matches("-?\\d+"))) {
            long i = Long.parseLong(p);
            long at = i < 0 ? s.length() + i : i;
            context.setPropertyResolved(true);
            return at < 0 || at >= s.length() ? null : String.valueOf(s.charAt((int) at));
        }
        return null;
    }

    private static Long parse(String s) {
        return s.isEmpty() ? null : Long.valueOf(s);
    }

    /** Python's {@code seq[start:stop:step]} for str and list. */
    static Object sliced(Object base, Long start, Long stop, Long step) {
        int n = switch (base) {
            case CharSequence s -> s.length();
            case List<?> l -> l.size();
            default -> throw new ChatTemplateException("cannot slice a " + typeName(base));
        };
        long st = step == null ? 1 : step;
        if (st == 0) {
            throw new ChatTemplateException("slice step cannot be zero");
        }
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clampSlice(start, n, 0, n);
            hi = stop == null ? n : clampSlice(stop, n, 0, n);
        } else {
            lo = start == null ? n - 1 : clampSlice(start, n, -1, n - 1);
            hi = stop == null ? -1 : clampSlice(stop, n, -1, n - 1);
        }
        List<Integer> indices = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) {
            indices.add((int) i);
        }
        if (base instanceof CharSequence s) {
            StringBuilder sb = new StringBuilder(indices.size());
            for (int i : indices) {
                sb.append(s.charAt(i));
            }
            return sb.toString();
        }
        List<?> l = (List<?>) base;
        List<Object> out = new ArrayList<>(indices.size());
        for (int i : indices) {
            out.add(l.get(i));
        }
        return java.util.Collections.unmodifiableList(out);
    }

    /** CPython's PySlice_AdjustIndices: negative counts from the end, then clamp to [lower, upper]. */
    private static long clampSlice(long i, int n, long lower, long upper) {
        long v = i < 0 ? i + n : i;
        return Math.max(lower, Math.min(upper, v));
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
