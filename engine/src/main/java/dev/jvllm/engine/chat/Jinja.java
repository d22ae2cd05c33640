package dev.jvllm.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.TypeConvertingMapELResolver;
import com.hubspot.jinjava.el.ext.JinjavaBeanELResolver;
import com.hubspot.jinjava.el.ext.JinjavaListELResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpreterFactory;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.util.ObjectTruthValue;
import java.time.Clock;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.ArrayELResolver;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;

/**
 * The Jinja environment Hugging Face transformers renders chat templates in
 * ({@code utils/chat_template_utils.py}: ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks,
 * keep_trailing_newline off, a {@code tojson} filter that does not escape HTML, {@code raise_exception},
 * {@code strftime_now}, loop controls), built on jinjava: templates are first rewritten where the two
 * engines parse differently ({@link JinjaSource}), Python's string and dict methods are added
 * ({@link PyMethods}), filters whose jinjava behaviour differs are replaced ({@link PyFilters}), and
 * values print as Python's {@code str()} ({@link PyStr}).
 */
final class Jinja {
    /** Globals, bound as values too so that {@code strftime_now is defined} holds, as in Jinja2. */
    private static final List<String> FUNCTIONS = List.of("raise_exception", "strftime_now");

    private static final Jinjava ENGINE = create();

    /** Per-render state the static template functions reach: the clock, the loop filters, what was raised. */
    private static final ThreadLocal<RenderState> STATE = new ThreadLocal<>();

    private static final class RenderState {
        final Clock clock;
        final JinjaSource source;
        final Map<Long, List<?>> loopItems = new java.util.HashMap<>();
        String raised;

        RenderState(Clock clock, JinjaSource source) {
            this.clock = clock;
            this.source = source;
        }
    }

    private Jinja() {
    }

    /**
     * Renders {@code template} with {@code bindings}.
     *
     * @throws ChatTemplateException with the template's own message when it called raise_exception, or with
     *                               the engine's first fatal error (a syntax error, a bad filter argument, ...)
     */
    static String render(JinjaSource template, Map<String, ?> bindings, Clock clock, String origin) {
        RenderState state = new RenderState(clock, template);
        RenderState previous = STATE.get();
        STATE.set(state);
        Map<String, Object> all = new LinkedHashMap<>();
        for (String f : FUNCTIONS) {
            all.put(f, new PyStr.Function(f));
        }
        all.putAll(bindings);
        RenderResult result;
        try {
            result = ENGINE.renderForResult(template.text, all);
        } catch (ChatTemplateException e) {
            throw e;
        } catch (RuntimeException e) { // an engine failure outside its own error reporting
            throw new ChatTemplateException(origin + ": rendering the chat template failed: " + e, e);
        } finally {
            STATE.set(previous);
        }
        if (state.raised != null) {
            throw new ChatTemplateException(state.raised, null, true);
        }
        for (TemplateError e : result.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException(origin + ": rendering the chat template failed: " + describe(e),
                        e.getException());
            }
        }
        return result.getOutput();
    }

    /**
     * Fails fast on what would go wrong at every render: a syntax error, or a filter or test this engine
     * does not have (jinjava would silently print nothing for an unknown filter).
     */
    static void check(JinjaSource template, String origin) {
        Context global = ENGINE.getGlobalContext();
        for (String f : template.filters) {
            if (global.getFilter(f) == null) {
                throw new ChatTemplateException(origin + ": the chat template uses the Jinja filter '" + f
                        + "', which jvllm's template engine does not provide");
            }
        }
        for (String t : template.tests) {
            if (global.getExpTest(t) == null) {
                throw new ChatTemplateException(origin + ": the chat template uses the Jinja test '" + t
                        + "', which jvllm's template engine does not provide");
            }
        }
        JinjavaInterpreter interpreter = ENGINE.newInterpreter();
        JinjavaInterpreter.pushCurrent(interpreter);
        try {
            interpreter.parse(template.text);
        } catch (RuntimeException e) { // jinjava's parser trips on some malformed input, e.g. "{%%}"
            throw new ChatTemplateException(origin + ": the chat template does not parse: " + e, e);
        } finally {
            JinjavaInterpreter.popCurrent();
        }
        for (TemplateError e : interpreter.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL
                    || e.getReason() == TemplateError.ErrorReason.SYNTAX_ERROR) {
                throw new ChatTemplateException(origin + ": the chat template does not parse: line " + e.getLineno()
                        + ": " + e.getMessage() + (e.getFieldName() == null ? "" : " (" + e.getFieldName() + ")"));
            }
        }
    }

    private static String describe(TemplateError e) {
        Throwable cause = e.getException();
        while (cause != null && !(cause instanceof ChatTemplateException) && cause.getCause() != null
                && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        String message = cause instanceof ChatTemplateException ? cause.getMessage() : e.getMessage();
        return "line " + e.getLineno() + ": " + message;
    }

    // ---- template globals (static: jinjava calls them by reflection) ------------------------------------

    /** {@code raise_exception(message)}: aborts the render with the template's message. */
    public static String raiseException(Object message) {
        String text = PyStr.str(message);
        RenderState state = STATE.get();
        if (state != null && state.raised == null) {
            state.raised = text;
        }
        throw new ChatTemplateException(text);
    }

    /** {@code strftime_now(format)}: the render clock's local time, formatted as Python's strftime. */
    public static String strftimeNow(String format) {
        RenderState state = STATE.get();
        Clock clock = state != null ? state.clock : Clock.systemDefaultZone();
        return Strftime.format(LocalDateTime.now(clock), format);
    }

    /** {@code py_loop_filter(items, n)}: the items for which loop filter {@code n} of the template holds. */
    public static List<Object> loopFilter(Object items, long n) {
        JinjaSource.LoopFilter f = STATE.get().source.loopFilters.get((int) n);
        JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
        List<Object> kept = new ArrayList<>();
        for (Object item : iterable(items)) {
            try (var scope = interpreter.enterScope()) {
                bindLoopVars(interpreter.getContext(), f.vars(), item);
                if (ObjectTruthValue.evaluate(interpreter.resolveELExpression(f.condition(),
                        interpreter.getLineNumber()))) {
                    kept.add(item);
                }
            }
        }
        return Collections.unmodifiableList(kept);
    }

    /** {@code py_loop_items(items, id)}: the items of loop {@code id}, remembered for loop.previtem/nextitem. */
    public static List<?> loopItems(Object items, long id) {
        List<Object> list = new ArrayList<>();
        for (Object o : iterable(items)) {
            list.add(o);
        }
        STATE.get().loopItems.put(id, list);
        return Collections.unmodifiableList(list);
    }

    /** {@code py_loop_item(loop.index0, id, offset)}: loop.previtem (-1) or loop.nextitem (+1); None past the ends. */
    public static Object loopItem(long index0, long id, long offset) {
        List<?> items = STATE.get().loopItems.getOrDefault(id, List.of());
        long at = index0 + offset;
        return at < 0 || at >= items.size() ? null : items.get((int) at);
    }

    private static Iterable<?> iterable(Object items) {
        return switch (items) {
            case null -> List.of();
            case Collection<?> c -> c;
            case Map<?, ?> m -> m.keySet(); // Python iterates a dict's keys
            case Object[] a -> List.of(a);
            case CharSequence s -> s.chars().mapToObj(c -> String.valueOf((char) c)).toList();
            default -> throw new ChatTemplateException("for loop over a " + PyMethods.typeName(items)
                    + ", which is not iterable");
        };
    }

    /** {@code for a, b in ...}: a (key, value) entry or a sequence unpacks into the variables. */
    private static void bindLoopVars(Context context, List<String> vars, Object item) {
        if (vars.size() == 1) {
            context.put(vars.getFirst(), item);
            return;
        }
        List<?> values = switch (item) {
            case Map.Entry<?, ?> e -> List.of(e.getKey(), e.getValue());
            case List<?> l -> l;
            default -> throw new ChatTemplateException("cannot unpack a " + PyMethods.typeName(item) + " into "
                    + vars);
        };
        if (values.size() != vars.size()) {
            throw new ChatTemplateException("cannot unpack " + values.size() + " values into " + vars);
        }
        for (int i = 0; i < vars.size(); i++) {
            context.put(vars.get(i), values.get(i));
        }
    }

    private static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        // Method calls: Python's str/dict methods on data (PyMethods rejects the rest), and on the engine's
        // own objects only (filter:trim.filter(...), macros); property reads: Python subscripts of strings and
        // slices first, then maps, lists, arrays, beans.
        resolver.add(new PyMethods());
        resolver.add(new ArrayELResolver(true));
        resolver.add(new JinjavaListELResolver(true));
        resolver.add(new TypeConvertingMapELResolver(true));
        resolver.add(new JinjavaBeanELResolver(true) {
            @Override
            public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes,
                                 Object[] params) {
                if (!(base instanceof Filter || base != null
                        && base.getClass().getName().startsWith("com.hubspot.jinjava."))) {
                    return null;
                }
                return super.invoke(context, base, method, paramTypes, params);
            }
        });
        JinjavaConfig config = JinjavaConfig.newBuilder()
                // trim_blocks, lstrip_blocks and keep_trailing_newline=False are applied by JinjaSource, as
                // Jinja2's lexer applies them (jinjava's lstrip differs mid-line; its newline rule strips output)
                .withTrimBlocks(false)
                .withLstripBlocks(false)
                .withKeepTrailingNewline(true)
                // Jinja2 semantics (operator precedence, backslash escapes, None loop items, ...); not
                // whitespaceRequiredWithinTokens: with it, "%}{%- for" after a tag prints as text.
                .withLegacyOverrides(LegacyOverrides.Builder.from(LegacyOverrides.ALL)
                        .withWhitespaceRequiredWithinTokens(false).build())
                .withElResolver(resolver)
                .withInterperterFactory(new InterpreterFactory() {
                    @Override
                    public JinjavaInterpreter newInstance(JinjavaInterpreter orig) {
                        return new PythonOutput(orig);
                    }

                    @Override
                    public JinjavaInterpreter newInstance(Jinjava application, Context context,
                                                          JinjavaConfig renderConfig) {
                        return new PythonOutput(application, context, renderConfig);
                    }
                })
                .withMaxOutputSize(64L << 20)
                .build();
        Jinjava jinjava = new Jinjava(config);
        Context global = jinjava.getGlobalContext();
        global.registerFunction(new ELFunctionDefinition("", "raise_exception", Jinja.class, "raiseException",
                Object.class));
        global.registerFunction(new ELFunctionDefinition("", "strftime_now", Jinja.class, "strftimeNow",
                String.class));
        global.registerFunction(new ELFunctionDefinition("", "py_loop_filter", Jinja.class, "loopFilter",
                Object.class, long.class));
        global.registerFunction(new ELFunctionDefinition("", "py_loop_items", Jinja.class, "loopItems",
                Object.class, long.class));
        global.registerFunction(new ELFunctionDefinition("", "py_loop_item", Jinja.class, "loopItem",
                long.class, long.class, long.class));
        global.registerFunction(new ELFunctionDefinition("", "py_slice", PyMethods.class, "slice",
                Object.class, Object.class, Object.class));
        for (Filter f : PyFilters.all()) {
            global.registerFilter(f);
        }
        return jinjava;
    }

    /** {@code {{ value }}} prints Python's {@code str(value)}: True, 1.5, ['a', 'b'], {'k': 'v'}. */
    private static final class PythonOutput extends JinjavaInterpreter {
        PythonOutput(JinjavaInterpreter orig) {
            super(orig);
        }

        PythonOutput(Jinjava application, Context context, JinjavaConfig config) {
            super(application, context, config);
        }

        @Override
        public String getAsString(Object object) {
            return object == null ? "" : PyStr.str(object);
        }
    }
}
