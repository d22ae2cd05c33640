package dev.jvllm.engine.chat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * Rewrites a Jinja2 template into the jinjava spelling of the same program, where the two engines read
 * the same text differently:
 * <ul>
 *   <li>whitespace: newlines normalized to {@code \n}; one final newline dropped (keep_trailing_newline
 *       off); trim_blocks and lstrip_blocks applied here, exactly as Jinja2's lexer does (jinjava's
 *       lstrip also eats spaces before a tag in mid-line); {@code +} markers consumed.</li>
 *   <li>{@code not}: Jinja2 binds it looser than comparisons, tests and filters
 *       ({@code not x is defined} is {@code not (x is defined)}); jinjava binds it like Java's {@code !}.
 *       Every unary {@code not} gets its operand parenthesized.</li>
 *   <li>keyword arguments: {@code f(n=xs|length - 1)} — jinjava binds {@code n=xs|length} first; each
 *       keyword argument's value is parenthesized.</li>
 *   <li>slices: {@code x[a:b:c]} (Python's negative indices and steps such as {@code [::-1]}) become
 *       {@code x[py_slice(a, b, c)]}, which {@link PyMethods} resolves.</li>
 *   <li>loop filters: {@code {% for a in xs if cond %}} — jinjava ignores the condition, and Jinja2's
 *       {@code loop.index}/{@code loop.last} count only the items that pass it — becomes
 *       {@code {% for a in py_loop_filter(xs, n) %}} with condition {@code n} evaluated per item.</li>
 *   <li>{@code loop.previtem}/{@code loop.nextitem} (jinjava has neither) read the loop's items.</li>
 *   <li>{@code {% generation %}...{% endgeneration %}} (transformers' assistant-mask marker) renders its body.</li>
 * </ul>
 * String literals, comments and {@code raw} blocks are copied untouched.
 */
final class JinjaSource {
    /** A {@code for} loop's filter: the loop variables and the condition (already rewritten). */
    record LoopFilter(List<String> vars, String condition) {
    }

    final String text;
    final List<LoopFilter> loopFilters;
    /** The filters ({@code x|name}) and tests ({@code x is name}) the template uses, for a check at load time. */
    final Set<String> filters;
    final Set<String> tests;

    private JinjaSource(String text, List<LoopFilter> loopFilters, Set<String> filters, Set<String> tests) {
        this.text = text;
        this.loopFilters = List.copyOf(loopFilters);
        this.filters = Set.copyOf(filters);
        this.tests = Set.copyOf(tests);
    }

    static JinjaSource prepare(String template) {
        return new Rewriter(normalize(template)).run();
    }

    /** Newlines as {@code \n}, and keep_trailing_newline=False: one newline at the very end is dropped. */
    static String normalize(String template) {
        String s = template.replace("\r\n", "\n").replace('\r', '\n');
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    private static final class Rewriter {
        final String src;
        final StringBuilder out;
        final List<LoopFilter> filters = new ArrayList<>();
        final Set<String> filterNames = new java.util.TreeSet<>();
        final Set<String> testNames = new java.util.TreeSet<>();
        /** Ids of the enclosing {@code for} loops (innermost last), for loop.previtem/nextitem. */
        final Deque<Integer> loops = new ArrayDeque<>();
        final boolean neighbours;
        int loopCount;

        Rewriter(String src) {
            this.src = src;
            this.out = new StringBuilder(src.length() + 64);
            this.neighbours = src.contains("previtem") || src.contains("nextitem");
        }

        JinjaSource run() {
            int i = 0;
            boolean lineStarting = true; // Jinja2's lexer: at the start, or after a tag end that ate a newline
            while (i < src.length()) {
                int open = nextTagStart(src, i);
                String text = src.substring(i, open < 0 ? src.length() : open);
                if (open < 0) {
                    out.append(text);
                    break;
                }
                char kind = src.charAt(open + 1); // '{' variable, '%' block, '#' comment
                char sign = open + 2 < src.length() ? src.charAt(open + 2) : ' ';
                if (sign != '-' && sign != '+' && kind != '{') {
                    text = lstripped(text, lineStarting);
                }
                out.append(text);
                int close = kind == '#' ? src.indexOf("#}", open + 2) : tagEnd(src, open + 2, kind == '{' ? '}' : '%');
                if (close < 0) { // unterminated: left for the engine to report
                    out.append(src, open, src.length());
                    break;
                }
                int bodyStart = open + 2 + (sign == '-' || sign == '+' ? 1 : 0);
                char endSign = close > bodyStart ? src.charAt(close - 1) : ' ';
                int bodyEnd = close - (endSign == '-' || endSign == '+' ? 1 : 0);
                String openMark = "{" + kind + (sign == '-' ? "-" : "");
                String closeMark = (endSign == '-' ? "-" : "") + (kind == '{' ? "}" : kind) + "}";
                i = close + 2;
                String body = src.substring(bodyStart, bodyEnd);
                boolean trim = kind != '{' && endSign != '-' && endSign != '+';
                if (kind == '#') {
                    out.append(openMark).append(body).append(closeMark);
                } else if (kind == '{') {
                    out.append(openMark).append(expressions(body, false)).append(closeMark);
                } else {
                    String word = firstWord(body);
                    switch (word) {
                        case "raw" -> {
                            out.append(openMark).append(body).append(closeMark); // no trim_blocks after raw
                            i = copyRaw(i);
                            lineStarting = i > 0 && src.charAt(i - 1) == '\n';
                            continue;
                        }
                        case "generation" -> out.append(openMark).append(" if true ").append(closeMark);
                        case "endgeneration" -> out.append(openMark).append(" endif ").append(closeMark);
                        case "for" -> {
                            int id = loopCount++;
                            loops.addLast(id);
                            String loop = loopFilter(body);
                            if (neighbours) {
                                loop = loopItems(loop, id);
                            }
                            out.append(openMark).append(expressions(loop, true)).append(closeMark);
                        }
                        case "endfor" -> {
                            loops.pollLast();
                            out.append(openMark).append(body).append(closeMark);
                        }
                        default -> out.append(openMark).append(expressions(body, true)).append(closeMark);
                    }
                }
                lineStarting = false;
                if (trim && i < src.length() && src.charAt(i) == '\n') { // trim_blocks
                    i++;
                    lineStarting = true;
                }
            }
            return new JinjaSource(out.toString(), filters, filterNames, testNames);
        }

        /**
         * lstrip_blocks: whitespace between the last newline of {@code text} (or its start, when a line is
         * starting) and a block or comment tag is dropped.
         */
        private static String lstripped(String text, boolean lineStarting) {
            int lineStart = text.lastIndexOf('\n') + 1;
            if (lineStart == 0 && !lineStarting) {
                return text;
            }
            for (int k = lineStart; k < text.length(); k++) {
                if (!Character.isWhitespace(text.charAt(k))) {
                    return text;
                }
            }
            return text.substring(0, lineStart);
        }

        /** Copies a raw block's content and its {@code {% endraw %}} tag (lstripped, trimmed); returns the index after. */
        private int copyRaw(int from) {
            for (int k = nextTagStart(src, from); k >= 0; k = nextTagStart(src, k + 2)) {
                if (src.charAt(k + 1) != '%') {
                    continue;
                }
                int close = tagEnd(src, k + 2, '%');
                if (close < 0) {
                    break;
                }
                String body = src.substring(k + 2, close);
                String stripped = body.replaceAll("^[-+]|[-+]$", "");
                if (firstWord(stripped).equals("endraw")) {
                    char sign = body.isEmpty() ? ' ' : body.charAt(0);
                    String text = src.substring(from, k);
                    out.append(sign == '-' || sign == '+' ? text : lstripped(text, false));
                    out.append("{%").append(sign == '-' ? "-" : "").append(" endraw ")
                            .append(body.endsWith("-") ? "-" : "").append("%}");
                    int end = close + 2;
                    if (!body.endsWith("-") && !body.endsWith("+") && end < src.length() && src.charAt(end) == '\n') {
                        end++;
                    }
                    return end;
                }
            }
            out.append(src, from, src.length());
            return src.length();
        }

        /** {@code for VARS in ITER if COND} -> {@code for VARS in py_loop_filter(ITER, n)}. */
        private String loopFilter(String body) {
            List<Tok> toks = lex(body);
            int forAt = indexOfName(toks, "for", 0);
            int in = indexOfName(toks, "in", forAt + 1);
            int cond = in < 0 ? -1 : indexOfName(toks, "if", in + 1);
            if (in < 0 || cond < 0 || body.strip().endsWith(" recursive")) {
                return body;
            }
            List<String> vars = new ArrayList<>();
            for (Tok t : toks.subList(forAt + 1, in)) {
                if (t.type == T.NAME) {
                    vars.add(t.text);
                }
            }
            String iter = join(toks.subList(in + 1, cond)).strip();
            String condition = join(toks.subList(cond + 1, toks.size())).strip();
            filters.add(new LoopFilter(vars, expressions(condition, false)));
            return " " + join(toks.subList(0, in + 1)).strip() + " py_loop_filter(" + iter + ", "
                    + (filters.size() - 1) + ") ";
        }

        /** {@code for VARS in ITER} -> {@code for VARS in py_loop_items(ITER, id)}: remembers the items. */
        private static String loopItems(String body, int id) {
            List<Tok> toks = lex(body);
            int in = indexOfName(toks, "in", indexOfName(toks, "for", 0) + 1);
            if (in < 0) {
                return body;
            }
            return " " + join(toks.subList(0, in + 1)).strip() + " py_loop_items(" + join(toks.subList(in + 1,
                    toks.size())).strip() + ", " + id + ") ";
        }

        /** The index of the first top-level NAME token {@code name} at or after {@code from}, or -1. */
        private static int indexOfName(List<Tok> toks, String name, int from) {
            int depth = 0;
            for (int k = 0; k < toks.size(); k++) {
                Tok t = toks.get(k);
                if (t.type == T.OPEN) {
                    depth++;
                } else if (t.type == T.CLOSE) {
                    depth--;
                } else if (k >= from && depth == 0 && t.type == T.NAME && t.text.equals(name)) {
                    return k;
                }
            }
            return -1;
        }

        /**
         * Rewrites unary {@code not}, keyword arguments, slices and loop neighbours in an expression.
         *
         * @param statement the body of a {@code {% %}} tag: its first word is a keyword, not an operand
         */
        private String expressions(String body, boolean statement) {
            List<Tok> toks = lex(body);
            StringBuilder sb = new StringBuilder(body.length() + 16);
            List<int[]> groups = new ArrayList<>(); // {depth, kind}: a "(" this rewrite opened; kind 0 = not, 1 = kwarg
            Deque<String> brackets = new ArrayDeque<>();
            boolean macro = statement && Set.of("macro", "call").contains(firstWord(body));
            Tok prev = null;
            for (int k = 0; k < toks.size(); k++) {
                Tok t = toks.get(k);
                if (t.type == T.SPACE) {
                    sb.append(t.text);
                    continue;
                }
                collectNames(toks, k, t);
                int depth = brackets.size();
                boolean endsNot = t.type == T.COMMA || t.type == T.COLON || t.type == T.CLOSE
                        || t.type == T.NAME && Set.of("and", "or", "if", "else").contains(t.text);
                boolean endsKwarg = t.type == T.COMMA || t.type == T.CLOSE;
                while (!groups.isEmpty() && groups.getLast()[0] == depth
                        && (groups.getLast()[1] == 0 ? endsNot : endsKwarg)) {
                    groups.removeLast();
                    closeGroup(sb);
                }
                boolean keyword = statement && prev == null;
                if (t.type == T.NAME && t.text.equals("not") && (prev == null || keyword || !isOperand(prev))
                        && !(prev != null && prev.text.equals("is"))) {
                    sb.append("not (");
                    groups.add(new int[] {depth, 0});
                    if (k + 1 < toks.size() && toks.get(k + 1).type == T.SPACE) {
                        k++;
                    }
                    prev = t;
                    continue;
                }
                if (!macro && t.type == T.NAME && "(".equals(brackets.peekLast()) && prev != null
                        && (prev.text.equals("(") || prev.type == T.COMMA) && nextIs(toks, k, "=")) {
                    int eq = nextSignificant(toks, k);
                    sb.append(t.text).append("=(");
                    groups.add(new int[] {depth, 1});
                    k = eq;
                    if (k + 1 < toks.size() && toks.get(k + 1).type == T.SPACE) {
                        k++;
                    }
                    prev = toks.get(eq);
                    continue;
                }
                if (t.type == T.OPEN && t.text.equals("[") && prev != null && isOperand(prev) && !keyword) {
                    int close = matching(toks, k);
                    List<List<Tok>> parts = close < 0 ? List.of() : splitTopLevel(toks, k + 1, close);
                    if (parts.size() > 1) {
                        sb.append("[py_slice(");
                        for (int p = 0; p < 3; p++) {
                            String part = p < parts.size() ? join(parts.get(p)).strip() : "";
                            sb.append(p > 0 ? ", " : "").append(part.isEmpty() ? "none" : expressions(part, false));
                        }
                        sb.append(")]");
                        k = close;
                        prev = toks.get(close);
                        continue;
                    }
                }
                if (neighbours && !loops.isEmpty() && t.type == T.NAME && t.text.equals("loop")
                        && k + 2 < toks.size() && toks.get(k + 1).text.equals(".")
                        && Set.of("previtem", "nextitem").contains(toks.get(k + 2).text)) {
                    sb.append("py_loop_item(loop.index0, ").append(loops.peekLast()).append(", ")
                            .append(toks.get(k + 2).text.equals("previtem") ? -1 : 1).append(")");
                    k += 2;
                    prev = new Tok(T.CLOSE, ")");
                    continue;
                }
                if (t.type == T.OPEN) {
                    brackets.addLast(t.text);
                } else if (t.type == T.CLOSE) {
                    brackets.pollLast();
                }
                sb.append(t.text);
                prev = keyword && t.type == T.NAME ? new Tok(T.OP, t.text) : t;
            }
            while (!groups.isEmpty()) {
                groups.removeLast();
                closeGroup(sb);
            }
            return sb.toString();
        }

        /** Records filter names ({@code | name}) and test names ({@code is [not] name}). */
        private void collectNames(List<Tok> toks, int k, Tok t) {
            boolean pipe = t.type == T.OP && t.text.equals("|");
            if (!pipe && !(t.type == T.NAME && t.text.equals("is"))) {
                return;
            }
            int n = nextSignificant(toks, k);
            if (!pipe && n >= 0 && toks.get(n).text.equals("not")) {
                n = nextSignificant(toks, n);
            }
            if (n >= 0 && toks.get(n).type == T.NAME) {
                (pipe ? filterNames : testNames).add(toks.get(n).text);
            }
        }
    }

    /** Appends ")" before any trailing whitespace: "not (a) and" rather than "not (a )and". */
    private static void closeGroup(StringBuilder sb) {
        int end = sb.length();
        while (end > 0 && Character.isWhitespace(sb.charAt(end - 1))) {
            end--;
        }
        sb.insert(end, ")");
    }

    private static boolean nextIs(List<Tok> toks, int k, String text) {
        int n = nextSignificant(toks, k);
        return n >= 0 && toks.get(n).text.equals(text);
    }

    private static int nextSignificant(List<Tok> toks, int k) {
        for (int n = k + 1; n < toks.size(); n++) {
            if (toks.get(n).type != T.SPACE) {
                return n;
            }
        }
        return -1;
    }

    static int nextTagStart(String s, int from) {
        for (int i = s.indexOf('{', from); i >= 0 && i + 1 < s.length(); i = s.indexOf('{', i + 1)) {
            char c = s.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
        }
        return -1;
    }

    /** Index of the closing "}}" or "%}" of a tag whose body starts at {@code from}, skipping string literals. */
    private static int tagEnd(String s, int from, char closer) {
        for (int i = from; i + 1 < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(s, i) - 1;
            } else if (c == closer && s.charAt(i + 1) == '}') {
                return i;
            }
        }
        return -1;
    }

    /** Index just past the string literal starting at {@code start}. */
    private static int stringEnd(String s, int start) {
        char q = s.charAt(start);
        for (int i = start + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == q) {
                return i + 1;
            }
        }
        return s.length();
    }

    private static String firstWord(String body) {
        String t = body.strip();
        int end = 0;
        while (end < t.length() && (Character.isLetterOrDigit(t.charAt(end)) || t.charAt(end) == '_')) {
            end++;
        }
        return t.substring(0, end);
    }

    // ---- a small lexer for expressions ---------------------------------------------------------------

    private enum T { NAME, STRING, NUMBER, OPEN, CLOSE, COMMA, COLON, OP, SPACE }

    private record Tok(T type, String text) {
    }

    private static List<Tok> lex(String s) {
        List<Tok> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            int j = i + 1;
            T type;
            if (Character.isWhitespace(c)) {
                while (j < s.length() && Character.isWhitespace(s.charAt(j))) {
                    j++;
                }
                type = T.SPACE;
            } else if (c == '\'' || c == '"') {
                j = stringEnd(s, i);
                type = T.STRING;
            } else if (Character.isLetter(c) || c == '_') {
                while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) {
                    j++;
                }
                type = T.NAME;
            } else if (Character.isDigit(c)) {
                while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '.'
                        || s.charAt(j) == '_')) {
                    j++;
                }
                type = T.NUMBER;
            } else if (c == '(' || c == '[' || c == '{') {
                type = T.OPEN;
            } else if (c == ')' || c == ']' || c == '}') {
                type = T.CLOSE;
            } else if (c == ',') {
                type = T.COMMA;
            } else if (c == ':') {
                type = T.COLON;
            } else {
                if ("=<>!*/".indexOf(c) >= 0) {
                    while (j < s.length() && "=<>!*/".indexOf(s.charAt(j)) >= 0) {
                        j++;
                    }
                }
                type = T.OP;
            }
            out.add(new Tok(type, s.substring(i, j)));
            i = j;
        }
        return out;
    }

    private static boolean isOperand(Tok t) {
        return switch (t.type) {
            case STRING, NUMBER, CLOSE -> true;
            case NAME -> !Set.of("not", "and", "or", "if", "else", "in", "is").contains(t.text);
            default -> false;
        };
    }

    private static int matching(List<Tok> toks, int open) {
        int d = 0;
        for (int k = open; k < toks.size(); k++) {
            if (toks.get(k).type == T.OPEN) {
                d++;
            } else if (toks.get(k).type == T.CLOSE && --d == 0) {
                return k;
            }
        }
        return -1;
    }

    /** The tokens between {@code from} and {@code to} split at top-level colons. */
    private static List<List<Tok>> splitTopLevel(List<Tok> toks, int from, int to) {
        List<List<Tok>> parts = new ArrayList<>();
        List<Tok> cur = new ArrayList<>();
        int d = 0;
        for (int k = from; k < to; k++) {
            Tok t = toks.get(k);
            if (t.type == T.OPEN) {
                d++;
            } else if (t.type == T.CLOSE) {
                d--;
            }
            if (d == 0 && t.type == T.COLON) {
                parts.add(cur);
                cur = new ArrayList<>();
            } else {
                cur.add(t);
            }
        }
        parts.add(cur);
        return parts;
    }

    private static String join(List<Tok> toks) {
        StringBuilder sb = new StringBuilder();
        for (Tok t : toks) {
            sb.append(t.text);
        }
        return sb.toString();
    }
}
