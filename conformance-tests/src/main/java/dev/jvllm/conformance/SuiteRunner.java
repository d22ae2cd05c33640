package dev.jvllm.conformance;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import dev.jvllm.api.ops.OpKind;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Stream;

/**
 * Runs the whole conformance suite: every {@link OpKind} (or those an op filter selects), each
 * through its spec ({@link Specs#of}) and {@link Conformance}, the collectives through
 * {@code CollectiveConformance}. An op without a spec is "missing", which fails the suite.
 *
 * <pre>{@code
 * SuiteRunner.Result r = SuiteRunner.run(candidate, reference,
 *         SuiteRunner.Options.defaults().withOps("attention").withExamples(50).withSeed(7), SuiteRunner.Listener.NONE);
 * Files.writeString(Path.of("r.md"), Report.markdown(r));
 * if (!r.ok()) { ... r.failures() ... }
 * }</pre>
 */
public final class SuiteRunner {
    /** Generated examples per op unless told otherwise. */
    public static final int DEFAULT_EXAMPLES = 30;
    /** Seed unless told otherwise (the CLI draws a fresh one per run and prints it). */
    public static final long DEFAULT_SEED = 42L;
    /** The class that runs the collective ops, found by name so the suite builds without it. */
    public static final String COLLECTIVES_CLASS = "dev.jvllm.conformance.CollectiveConformance";

    private SuiteRunner() {
    }

    /**
     * What to run.
     *
     * @param ops          the selected ops, in catalog order
     * @param opFilter     the filter text that selected them (null: all), for reports
     * @param caseFilter   only cases whose name this regex finds a match in (null: all)
     * @param examples     generated cases per op (after the pinned ones)
     * @param seed         the seed of generation and data; logged in every report
     * @param perf         also time each supported case on the candidate
     * @param perfSettings warmup and timing of perf mode
     */
    public record Options(List<OpKind> ops, String opFilter, Pattern caseFilter, int examples, long seed, boolean perf,
            Perf.Settings perfSettings) {
        public Options {
            ops = List.copyOf(ops);
            if (examples < 0) {
                throw new IllegalArgumentException("examples must be >= 0, got " + examples);
            }
            if (perfSettings == null) {
                perfSettings = Perf.Settings.DEFAULT;
            }
        }

        /** Every op, {@value SuiteRunner#DEFAULT_EXAMPLES} examples, seed {@value SuiteRunner#DEFAULT_SEED}, no perf. */
        public static Options defaults() {
            return new Options(List.of(OpKind.values()), null, null, DEFAULT_EXAMPLES, DEFAULT_SEED, false,
                    Perf.Settings.DEFAULT);
        }

        /**
         * Selects ops by a comma-separated list of op ids ({@code rms_norm}), enum names
         * ({@code RMS_NORM}) or families ({@code norm}, {@code attention}, {@code mamba2},
         * {@code collective}); null or blank selects all.
         *
         * @throws IllegalArgumentException naming the unknown word and listing the valid ones
         */
        public Options withOps(String filter) {
            return new Options(selectOps(filter), filter == null || filter.isBlank() ? null : filter.trim(), caseFilter,
                    examples, seed, perf, perfSettings);
        }

        /**
         * Runs only the cases whose name the regex finds a match in (null or blank: all).
         *
         * @throws IllegalArgumentException when the regex does not compile
         */
        public Options withCases(String regex) {
            Pattern p = null;
            if (regex != null && !regex.isBlank()) {
                try {
                    p = Pattern.compile(regex);
                } catch (PatternSyntaxException e) {
                    throw new IllegalArgumentException("case filter \"" + regex + "\" is not a valid regex: "
                            + e.getDescription(), e);
                }
            }
            return new Options(ops, opFilter, p, examples, seed, perf, perfSettings);
        }

        public Options withExamples(int n) {
            return new Options(ops, opFilter, caseFilter, n, seed, perf, perfSettings);
        }

        public Options withSeed(long s) {
            return new Options(ops, opFilter, caseFilter, examples, s, perf, perfSettings);
        }

        public Options withPerf(boolean on) {
            return new Options(ops, opFilter, caseFilter, examples, seed, on, perfSettings);
        }

        public Options withPerfSettings(Perf.Settings s) {
            return new Options(ops, opFilter, caseFilter, examples, seed, perf, s);
        }

        /** Whether the case filter accepts this case name. */
        public boolean selectsCase(String name) {
            return caseFilter == null || caseFilter.matcher(name).find();
        }
    }

    /**
     * The ops an op filter selects (see {@link Options#withOps}), in catalog order.
     *
     * @throws IllegalArgumentException naming the unknown word and listing the valid ones
     */
    public static List<OpKind> selectOps(String filter) {
        if (filter == null || filter.isBlank()) {
            return List.of(OpKind.values());
        }
        Set<OpKind> chosen = new LinkedHashSet<>();
        for (String raw : filter.split(",")) {
            String w = raw.trim().toLowerCase(Locale.ROOT).replace('-', '_');
            if (w.isEmpty()) {
                continue;
            }
            boolean matched = false;
            for (OpKind k : OpKind.values()) {
                if (k.id().equals(w) || k.family().name().toLowerCase(Locale.ROOT).equals(w)) {
                    chosen.add(k);
                    matched = true;
                }
            }
            if (!matched) {
                throw new IllegalArgumentException("unknown op or family \"" + raw.trim() + "\"; ops: "
                        + Arrays.stream(OpKind.values()).map(OpKind::id).toList() + "; families: "
                        + Arrays.stream(OpKind.Family.values()).map(f -> f.name().toLowerCase(Locale.ROOT)).toList());
            }
        }
        return Arrays.stream(OpKind.values()).filter(chosen::contains).toList();
    }

    /**
     * The result of one op.
     *
     * @param spec      the spec class that ran it (or the collectives class), null when missing
     * @param missing   no spec exists: a failure of the suite
     * @param cases     every case result (pinned, generated, then the shrunk failure if any)
     * @param worst     the largest error relative to its tolerance over the compared cases, or null
     * @param worstCase the case that had it, or null
     * @param timings   perf mode: one per supported case
     */
    public record OpResult(OpKind op, String spec, boolean missing, List<Conformance.CaseResult> cases,
            Comparison.Measure worst, String worstCase, List<Perf.Timing> timings) {
        public OpResult {
            cases = List.copyOf(cases);
            timings = List.copyOf(timings);
        }

        public int passed() {
            return count(Conformance.Status.PASS);
        }

        public int failed() {
            return count(Conformance.Status.FAIL);
        }

        public int unsupported() {
            return count(Conformance.Status.UNSUPPORTED);
        }

        /** Nothing failed and the op has a spec. */
        public boolean ok() {
            return !missing && failed() == 0;
        }

        private int count(Conformance.Status s) {
            return (int) cases.stream().filter(c -> c.status() == s).count();
        }
    }

    /**
     * The result of a suite run.
     *
     * @param candidate the candidate's {@link Backend#description()}
     * @param reference the reference's {@link Backend#description()}
     * @param millis    wall time of the run
     */
    public record Result(String candidate, String reference, Options options, List<OpResult> ops, long millis) {
        public Result {
            ops = List.copyOf(ops);
        }

        public int passed() {
            return ops.stream().mapToInt(OpResult::passed).sum();
        }

        public int failed() {
            return ops.stream().mapToInt(OpResult::failed).sum();
        }

        public int unsupported() {
            return ops.stream().mapToInt(OpResult::unsupported).sum();
        }

        /** Ops without a spec. */
        public int missing() {
            return (int) ops.stream().filter(OpResult::missing).count();
        }

        /** Nothing failed and nothing is missing. */
        public boolean ok() {
            return failed() == 0 && missing() == 0;
        }

        /** Every failed case, in op order. */
        public List<Conformance.CaseResult> failures() {
            return ops.stream().flatMap(o -> o.cases().stream())
                    .filter(c -> c.status() == Conformance.Status.FAIL).toList();
        }

        /** One line: {@code 412 passed, 1 failed, 37 unsupported, 2 ops missing (seed 42)}. */
        public String summary() {
            return passed() + " passed, " + failed() + " failed, " + unsupported() + " unsupported, " + missing()
                    + " op(s) missing a spec, " + ops.size() + " op(s) (seed " + options.seed() + ", " + millis + " ms)";
        }
    }

    /** Progress callbacks (all optional). */
    public interface Listener {
        /** Does nothing. */
        Listener NONE = new Listener() {
        };

        default void opStarted(OpKind op) {
        }

        default void caseFinished(OpKind op, Conformance.CaseResult result) {
        }

        default void opFinished(OpResult result) {
        }
    }

    /**
     * The harness of the collective ops, implemented by {@value #COLLECTIVES_CLASS} (either through
     * this interface with a public no-argument constructor, or through a public method whose
     * parameters the runner can supply; see {@link #runCollective}).
     */
    public interface CollectiveSuite {
        /**
         * Checks one collective op on groups of candidate backends against the in-process CPU groups.
         *
         * @param candidateGroup makes a connected group of that many candidate ranks
         * @param referenceGroup makes a connected group of that many CPU reference ranks
         * @param caseFilter     accepts the case names to run
         */
        List<Conformance.CaseResult> check(OpKind op, IntFunction<List<Backend>> candidateGroup,
                IntFunction<List<Backend>> referenceGroup, int examples, long seed, Predicate<String> caseFilter);
    }

    /**
     * Runs the suite with the candidate's provider (found by {@link Backend#name()}) making the
     * rank groups of the collectives.
     */
    public static Result run(Backend candidate, Backend reference, Options options, Listener listener) {
        return run(candidate, reference, groupsOf(candidate.name(), BackendOptions.defaults()), options, listener);
    }

    /**
     * Runs the suite.
     *
     * @param candidateGroup makes connected groups of candidate ranks for the collectives (null: none,
     *     the collectives then fail with the reason)
     */
    public static Result run(Backend candidate, Backend reference, IntFunction<List<Backend>> candidateGroup,
            Options options, Listener listener) {
        return run(candidate, reference, candidateGroup, options, listener, Specs::of);
    }

    /** {@link #run(Backend, Backend, IntFunction, Options, Listener)} with another spec lookup (tests). */
    static Result run(Backend candidate, Backend reference, IntFunction<List<Backend>> candidateGroup,
            Options options, Listener listener, Function<OpKind, OpSpec<?>> specs) {
        Listener l = listener == null ? Listener.NONE : listener;
        long t0 = System.nanoTime();
        List<OpResult> results = new ArrayList<>();
        List<OpKind> collectives = options.ops().stream().filter(k -> k.family() == OpKind.Family.COLLECTIVE).toList();
        Map<OpKind, OpResult> collected = new LinkedHashMap<>();
        for (OpKind op : options.ops()) {
            l.opStarted(op);
            OpResult r;
            if (op.family() == OpKind.Family.COLLECTIVE) {
                if (collected.isEmpty()) {
                    collected.putAll(runCollectives(collectives, candidateGroup, options, l));
                }
                r = collected.get(op);
            } else {
                r = runOp(op, candidate, reference, options, l, specs);
            }
            results.add(r);
            l.opFinished(r);
        }
        return new Result(candidate.description(), reference.description(), options, results,
                (System.nanoTime() - t0) / 1_000_000);
    }

    /** Runs one non-collective op through its spec. */
    static OpResult runOp(OpKind op, Backend candidate, Backend reference, Options options, Listener l,
            Function<OpKind, OpSpec<?>> specs) {
        OpSpec<?> spec;
        try {
            spec = specs.apply(op);
        } catch (RuntimeException e) {
            Conformance.CaseResult r = new Conformance.CaseResult(op.id() + "[spec]", "-", Conformance.Status.FAIL,
                    e.getMessage() + (e.getCause() == null ? "" : ": " + e.getCause()));
            l.caseFinished(op, r);
            return new OpResult(op, Specs.className(op), false, List.of(r), null, null, List.of());
        }
        if (spec == null) {
            return new OpResult(op, null, true, List.of(), null, null, List.of());
        }
        return runSpec(op, spec, candidate, reference, options, l);
    }

    private static <C> OpResult runSpec(OpKind op, OpSpec<C> spec, Backend candidate, Backend reference,
            Options options, Listener l) {
        List<Conformance.Outcome<C>> outcomes = Conformance.run(spec, candidate, reference, options.examples(),
                options.seed(), options.caseFilter() == null ? null : options::selectsCase, r -> l.caseFinished(op, r));
        Comparison.Measure worst = null;
        String worstCase = null;
        for (Conformance.Outcome<C> o : outcomes) {
            if (o.measure() != null && Comparison.Measure.worse(worst, o.measure()) != worst) {
                worst = o.measure();
                worstCase = o.result().name();
            }
        }
        List<Perf.Timing> timings = new ArrayList<>();
        if (options.perf()) {
            Set<String> timed = new LinkedHashSet<>();
            for (Conformance.Outcome<C> o : outcomes) {
                if (o.params() != null && o.result().status() != Conformance.Status.UNSUPPORTED
                        && timed.add(o.result().name())) {
                    timings.add(Perf.time(spec, o.params(), candidate, o.dataSeed(), options.perfSettings()));
                }
            }
        }
        return new OpResult(op, spec.getClass().getName(), false, outcomes.stream().map(Conformance.Outcome::result)
                .toList(), worst, worstCase, timings);
    }

    /**
     * Makes connected groups of the named provider's backends. The provider is looked up (through
     * {@link Backends#byName}) each time a group is made, so ops that need no group never touch
     * discovery, and an unknown name fails the collectives with its message.
     */
    public static IntFunction<List<Backend>> groupsOf(String providerName, BackendOptions options) {
        return n -> Backends.byName(providerName).createGroup(n, options);
    }

    // ---- collectives ----

    private static Map<OpKind, OpResult> runCollectives(List<OpKind> ops, IntFunction<List<Backend>> candidateGroup,
            Options options, Listener l) {
        Map<OpKind, OpResult> out = new LinkedHashMap<>();
        Class<?> cls;
        try {
            cls = Class.forName(COLLECTIVES_CLASS);
        } catch (ClassNotFoundException e) {
            for (OpKind op : ops) {
                out.put(op, new OpResult(op, null, true, List.of(), null, null, List.of()));
            }
            return out;
        }
        IntFunction<List<Backend>> referenceGroup = groupsOf("cpu", BackendOptions.defaults());
        Map<OpKind, List<Conformance.CaseResult>> byOp = new LinkedHashMap<>();
        ops.forEach(op -> byOp.put(op, new ArrayList<>()));
        try {
            runCollective(cls, ops, candidateGroup, referenceGroup, options, byOp);
        } catch (RuntimeException | LinkageError | AssertionError | java.util.ServiceConfigurationError e) {
            Throwable cause = e instanceof InvocationFailure f ? f.getCause() : e;
            byOp.get(ops.getFirst()).add(new Conformance.CaseResult(ops.getFirst().id() + "[collectives]", "-",
                    Conformance.Status.FAIL, "the collectives harness " + cls.getSimpleName() + " threw " + cause));
        }
        for (OpKind op : ops) {
            byOp.get(op).forEach(r -> l.caseFinished(op, r));
            out.put(op, new OpResult(op, cls.getName(), false, byOp.get(op), null, null, List.of()));
        }
        return out;
    }

    /**
     * Calls {@value #COLLECTIVES_CLASS}: through {@link CollectiveSuite} when it implements it, else
     * through its best public method (static, or on a no-argument instance) that returns a
     * {@code List<CaseResult>} (or one {@code CaseResult}) and whose parameters are all among:
     * {@link OpKind} (the op), {@link BackendProvider}/{@link BackendOptions} (the candidate's),
     * {@code IntFunction}/{@code Function<Integer, List<Backend>>} (candidate group, then reference
     * group), {@code int} (examples), {@code long} (seed), {@code Predicate<String>} /
     * {@link Pattern} / {@code String} (case filter), {@code Consumer} (result sink). A method without
     * an {@link OpKind} parameter is called once; its results go to the op whose id prefixes the
     * case name.
     */
    static void runCollective(Class<?> cls, List<OpKind> ops, IntFunction<List<Backend>> candidateGroup,
            IntFunction<List<Backend>> referenceGroup, Options options, Map<OpKind, List<Conformance.CaseResult>> byOp) {
        Predicate<String> filter = options::selectsCase;
        if (candidateGroup == null) {
            throw new IllegalStateException("no provider to make groups of candidate ranks (the candidate's "
                    + "Backend.name() names no provider on the class path)");
        }
        Object instance = null;
        Constructor<?> ctor = publicNoArgConstructor(cls);
        if (CollectiveSuite.class.isAssignableFrom(cls) && ctor != null) {
            CollectiveSuite suite = (CollectiveSuite) newInstance(ctor);
            for (OpKind op : ops) {
                byOp.get(op).addAll(suite.check(op, candidateGroup, referenceGroup, options.examples(), options.seed(),
                        filter));
            }
            return;
        }
        Method m = Stream.of(cls.getMethods())
                .filter(x -> x.getDeclaringClass() == cls)
                .filter(x -> Modifier.isStatic(x.getModifiers()) || ctor != null)
                .filter(x -> List.class.isAssignableFrom(x.getReturnType())
                        || x.getReturnType() == Conformance.CaseResult.class)
                .filter(x -> Stream.of(x.getParameterTypes()).allMatch(SuiteRunner::suppliable))
                .max(Comparator.<Method>comparingInt(x -> hasParam(x, OpKind.class) ? 1 : 0)
                        .thenComparingInt(x -> x.getName().equals("check") ? 2 : x.getName().equals("run") ? 1 : 0)
                        .thenComparingInt(Method::getParameterCount))
                .orElseThrow(() -> new IllegalStateException(cls.getName() + " has no public method the runner can call;"
                        + " implement SuiteRunner.CollectiveSuite or add e.g. static List<Conformance.CaseResult> "
                        + "check(OpKind op, BackendProvider candidate, BackendOptions options, int examples, long seed)"));
        if (!Modifier.isStatic(m.getModifiers())) {
            instance = newInstance(ctor);
        }
        BackendProvider provider = null;
        for (Class<?> p : m.getParameterTypes()) {
            if (p == BackendProvider.class) {
                provider = providerOf(candidateGroup);
            }
        }
        List<OpKind> calls = hasParam(m, OpKind.class) ? ops : List.of(ops.getFirst());
        for (OpKind op : calls) {
            Object[] args = new Object[m.getParameterCount()];
            int groups = 0;
            Class<?>[] types = m.getParameterTypes();
            for (int i = 0; i < types.length; i++) {
                Class<?> t = types[i];
                if (t == OpKind.class) {
                    args[i] = op;
                } else if (t == BackendProvider.class) {
                    args[i] = provider;
                } else if (t == BackendOptions.class) {
                    args[i] = BackendOptions.defaults();
                } else if (t == IntFunction.class) {
                    args[i] = groups++ == 0 ? candidateGroup : referenceGroup;
                } else if (t == Function.class) {
                    IntFunction<List<Backend>> g = groups++ == 0 ? candidateGroup : referenceGroup;
                    args[i] = (Function<Integer, List<Backend>>) g::apply;
                } else if (t == int.class || t == Integer.class) {
                    args[i] = options.examples();
                } else if (t == long.class || t == Long.class) {
                    args[i] = options.seed();
                } else if (t == Predicate.class) {
                    args[i] = filter;
                } else if (t == Pattern.class) {
                    args[i] = options.caseFilter();
                } else if (t == String.class) {
                    args[i] = options.caseFilter() == null ? null : options.caseFilter().pattern();
                } else if (t == Consumer.class) {
                    args[i] = (Consumer<Object>) x -> { };
                }
            }
            Object ret = invoke(m, instance, args);
            List<?> list = ret instanceof List<?> ls ? ls : ret == null ? List.of() : List.of(ret);
            for (Object o : list) {
                if (!(o instanceof Conformance.CaseResult r)) {
                    throw new IllegalStateException(m + " returned a " + o.getClass().getName()
                            + ", expected Conformance.CaseResult");
                }
                OpKind target = hasParam(m, OpKind.class) ? op
                        : ops.stream().filter(k -> r.name().startsWith(k.id())).findFirst().orElse(null);
                if (target == null) {
                    continue; // a collective that was not selected
                }
                if (options.selectsCase(r.name())) {
                    byOp.get(target).add(r);
                }
            }
        }
    }

    private static final Set<Class<?>> SUPPLIABLE = Set.of(OpKind.class, BackendProvider.class, BackendOptions.class,
            IntFunction.class, Function.class, int.class, Integer.class, long.class, Long.class, Predicate.class,
            Pattern.class, String.class, Consumer.class);

    private static boolean suppliable(Class<?> t) {
        return SUPPLIABLE.contains(t);
    }

    private static boolean hasParam(Method m, Class<?> type) {
        return Arrays.asList(m.getParameterTypes()).contains(type);
    }

    private static Constructor<?> publicNoArgConstructor(Class<?> cls) {
        try {
            Constructor<?> c = cls.getConstructor();
            return Modifier.isAbstract(cls.getModifiers()) ? null : c;
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    private static Object newInstance(Constructor<?> c) {
        try {
            return c.newInstance();
        } catch (InvocationTargetException e) {
            throw new InvocationFailure(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot instantiate " + c.getDeclaringClass().getName(), e);
        }
    }

    private static Object invoke(Method m, Object target, Object[] args) {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw new InvocationFailure(e.getCause());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot call " + m, e);
        }
    }

    /** The provider behind a group factory: made from a group of one, looked up by its backend's name. */
    private static BackendProvider providerOf(IntFunction<List<Backend>> group) {
        List<Backend> one = group.apply(1);
        try {
            return Backends.byName(one.getFirst().name());
        } finally {
            one.forEach(Backend::close);
        }
    }

    /** An exception thrown by the collectives harness itself (unwrapped for the report). */
    private static final class InvocationFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InvocationFailure(Throwable cause) {
            super(cause);
        }
    }
}
