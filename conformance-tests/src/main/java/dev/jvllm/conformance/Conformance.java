package dev.jvllm.conformance;

import dev.jvllm.api.Backend;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.quicktheories.QuickTheory;
import org.quicktheories.api.AsString;
import org.quicktheories.core.Gen;
import org.quicktheories.core.Reporter;

/**
 * Runs one op's cases on a candidate and a reference backend and compares them.
 *
 * <p>Per case: build the instance on both backends from the same data seed; if the candidate does
 * not {@code supports()} the args, record "unsupported" (not a failure); else run both and compare.
 * Pinned cases run first, then generated ones through QuickTheories. When a generated case fails,
 * QuickTheories shrinks it to the smallest failing parameters; the result list then ends with one
 * FAIL entry named after that smallest case, whose message carries the seed and the case's
 * parameters (so it can be pinned in {@link OpSpec#pinned()}).
 *
 * <p>Data seeds: pinned cases use {@code seed}; a generated case uses {@link #dataSeed(long, String)}
 * of its name, so the same name always gets the same data for the same seed.
 */
public final class Conformance {
    /** Shrink steps QuickTheories may take after the first failure. */
    static final int SHRINK_CYCLES = 200;
    /** With a case filter, up to this many times {@code examples} values are drawn to find matching ones. */
    static final int FILTER_DRAW_FACTOR = 20;

    private Conformance() {
    }

    /** The outcome of one case. */
    public record CaseResult(String name, String dtype, Status status, String message) {
    }

    /** Pass, fail or unsupported. */
    public enum Status { PASS, FAIL, UNSUPPORTED }

    /**
     * One case's result with what produced it: the case parameters (the smallest failing ones for
     * the shrunk FAIL entry), the data seed, and how far the candidate was from the reference.
     *
     * @param measure the worst output's error in terms of its tolerance; null when nothing was compared
     */
    public record Outcome<C>(C params, CaseResult result, Comparison.Measure measure, long dataSeed) {
    }

    /** The data seed of a generated case: a function of the run's seed and the case's name. */
    public static long dataSeed(long seed, String caseName) {
        return seed ^ caseName.hashCode();
    }

    /**
     * Runs one case on both backends.
     *
     * @param seed the data seed (same data on both sides)
     */
    public static <C> CaseResult runCase(OpSpec<C> spec, C c, Backend candidate, Backend reference, long seed) {
        return evaluate(spec, c, candidate, reference, seed).result();
    }

    /** Runs one case on both backends and measures the difference (see {@link #runCase}). */
    public static <C> Outcome<C> evaluate(OpSpec<C> spec, C c, Backend candidate, Backend reference, long seed) {
        String name = spec.name(c);
        String dtype = spec.dtypeLabel(c);
        try (CaseBuilder cb = new CaseBuilder(candidate, seed); Instance cand = spec.instantiate(c, cb)) {
            boolean supported;
            try {
                supported = candidate.supports(cand.args());
            } catch (RuntimeException e) {
                return fail(c, name, dtype, null, seed, "supports() threw " + e + " (it must be a pure answer, never throw)");
            }
            if (!supported) {
                return new Outcome<>(c, new CaseResult(name, dtype, Status.UNSUPPORTED, ""), null, seed);
            }
            try (CaseBuilder rb = new CaseBuilder(reference, seed); Instance ref = spec.instantiate(c, rb)) {
                if (!reference.supports(ref.args())) {
                    return new Outcome<>(c, new CaseResult(name, dtype, Status.UNSUPPORTED,
                            "the reference (" + reference.description() + ") does not support it"), null, seed);
                }
                try {
                    reference.run(ref.args());
                    reference.synchronize();
                } catch (RuntimeException | AssertionError e) {
                    return fail(c, name, dtype, null, seed, "the reference (" + reference.name() + ") threw " + e
                            + " (a bug in the spec or the reference, not in the candidate)");
                }
                try {
                    candidate.run(cand.args());
                    candidate.synchronize();
                } catch (RuntimeException | AssertionError e) {
                    return fail(c, name, dtype, null, seed, "threw " + e
                            + (e instanceof UnsupportedOperationException ? " although supports() said yes" : ""));
                }
                String m = spec.compare(c, ref, cand);
                Comparison.Measure measure;
                try {
                    measure = spec.measure(c, ref, cand);
                } catch (RuntimeException e) {
                    measure = null;
                }
                return new Outcome<>(c, new CaseResult(name, dtype, m == null ? Status.PASS : Status.FAIL,
                        m == null ? "" : m), measure, seed);
            }
        } catch (RuntimeException | AssertionError e) {
            return fail(c, name, dtype, null, seed, "building or comparing the case threw " + e);
        }
    }

    private static <C> Outcome<C> fail(C c, String name, String dtype, Comparison.Measure m, long seed, String msg) {
        return new Outcome<>(c, new CaseResult(name, dtype, Status.FAIL, msg), m, seed);
    }

    /**
     * Runs the pinned cases, then {@code examples} generated ones, reporting each to {@code sink}.
     * A generated failure is shrunk by QuickTheories; the smallest failing case is reported last.
     *
     * @return every case result (pinned first, generated ones deduplicated by name, then at most one
     *     FAIL entry for the shrunk failure)
     */
    public static <C> List<CaseResult> check(OpSpec<C> spec, Backend candidate, Backend reference, int examples,
            long seed, Consumer<CaseResult> sink) {
        return run(spec, candidate, reference, examples, seed, null, sink).stream().map(Outcome::result).toList();
    }

    /**
     * Like {@link #check}, keeping each result's case parameters and error measure, and running only
     * the cases whose name {@code caseFilter} accepts (null: all). With a filter, generated values are
     * drawn until {@code examples} matching ones ran (at most {@value #FILTER_DRAW_FACTOR}× as many).
     */
    public static <C> List<Outcome<C>> run(OpSpec<C> spec, Backend candidate, Backend reference, int examples,
            long seed, Predicate<String> caseFilter, Consumer<CaseResult> sink) {
        List<Outcome<C>> outcomes = new ArrayList<>();
        Set<String> reported = new HashSet<>();
        Consumer<Outcome<C>> record = o -> {
            outcomes.add(o);
            if (sink != null) {
                sink.accept(o.result());
            }
        };
        for (C c : spec.pinned()) {
            String name = spec.name(c);
            if ((caseFilter == null || caseFilter.test(name)) && reported.add(name)) {
                record.accept(evaluate(spec, c, candidate, reference, seed));
            }
        }
        if (examples <= 0) {
            return outcomes;
        }

        Map<String, Outcome<C>> cache = new HashMap<>(); // generated cases by name: duplicates and shrink steps
        Falsification found = new Falsification();
        int[] ran = {0};
        // set at the first failure; every later call of the property is a shrink step
        AtomicReference<Outcome<C>> firstFailure = new AtomicReference<>();
        try {
            Gen<C> gen = spec.cases().describedAs(spec::name);
            QuickTheory.qt().withFixedSeed(seed)
                    .withExamples(caseFilter == null ? examples : examples * FILTER_DRAW_FACTOR)
                    .withShrinkCycles(SHRINK_CYCLES).withReporter(found)
                    .forAll(gen).checkAssert(c -> {
                        String name = spec.name(c);
                        if (caseFilter != null && !caseFilter.test(name)) {
                            return; // not selected: counts as passing, so shrinking stays inside the filter
                        }
                        boolean shrinking = firstFailure.get() != null;
                        Outcome<C> o = cache.get(name);
                        if (o == null) {
                            if (!shrinking && ran[0] >= examples) {
                                return; // enough matching examples drawn
                            }
                            o = evaluate(spec, c, candidate, reference, dataSeed(seed, name));
                            cache.put(name, o);
                            if (!shrinking) {
                                ran[0]++;
                            }
                        }
                        if (o.result().status() == Status.FAIL) {
                            firstFailure.compareAndSet(null, o);
                            throw new CaseFailure(o.result());
                        }
                        if (!shrinking && reported.add(name)) {
                            record.accept(o);
                        }
                    });
        } catch (RuntimeException | AssertionError e) {
            record.accept(new Outcome<>(null, new CaseResult(spec.op().id() + "[generator]", "-", Status.FAIL,
                    "the case generator of " + spec.getClass().getSimpleName() + " threw " + e + " (seed " + seed + ")"),
                    null, seed));
            return outcomes;
        }
        if (found.smallest != null) {
            record.accept(shrunkFailure(spec, seed, found, cache, firstFailure.get()));
        }
        return outcomes;
    }

    /** The one FAIL entry of a generated failure: the smallest case, its message, the seed and its parameters. */
    @SuppressWarnings("unchecked")
    private static <C> Outcome<C> shrunkFailure(OpSpec<C> spec, long seed, Falsification found,
            Map<String, Outcome<C>> cache, Outcome<C> first) {
        C smallest = (C) found.smallest;
        String name;
        String dtype;
        try {
            name = spec.name(smallest);
            dtype = spec.dtypeLabel(smallest);
        } catch (RuntimeException e) {
            name = String.valueOf(smallest);
            dtype = "-";
        }
        Outcome<C> o = cache.get(name);
        String why;
        if (found.cause instanceof CaseFailure f) {
            why = f.result.message();
        } else {
            why = found.cause == null ? "falsified" : "threw " + found.cause;
        }
        StringBuilder msg = new StringBuilder(why);
        msg.append(" — seed ").append(seed);
        if (first != null && !first.result().name().equals(name)) {
            msg.append(", shrunk from ").append(first.result().name());
        }
        msg.append(", after ").append(found.examples).append(" generated example(s); case parameters ")
                .append(smallest).append(" (pin them in ").append(spec.getClass().getSimpleName())
                .append(".pinned() once fixed)");
        return new Outcome<>(smallest, new CaseResult(name, dtype, Status.FAIL, msg.toString()),
                o == null ? null : o.measure(), o == null ? dataSeed(seed, name) : o.dataSeed());
    }

    /** Thrown inside the property so that QuickTheories shrinks; carries the failing result. */
    private static final class CaseFailure extends AssertionError {
        private static final long serialVersionUID = 1L;
        final transient CaseResult result;

        CaseFailure(CaseResult result) {
            super(result.name() + ": " + result.message(), null);
            this.result = result;
        }
    }

    /** Captures QuickTheories' falsification instead of letting it throw a stack-trace-laden message. */
    private static final class Falsification implements Reporter {
        Object smallest;
        Throwable cause;
        int examples;

        @Override
        public void falisification(long seed, int examplesUsed, Object smallest, Throwable cause,
                List<Object> otherFalsifyingValues, AsString<Object> toString) {
            this.smallest = smallest;
            this.cause = cause;
            this.examples = examplesUsed;
        }

        @Override
        public void falisification(long seed, int examplesUsed, Object smallest, List<Object> otherFalsifyingValues,
                AsString<Object> toString) {
            falisification(seed, examplesUsed, smallest, null, otherFalsifyingValues, toString);
        }

        @Override
        public void valuesExhausted(int examplesUsed) {
            // no assumptions are used, so the generator cannot run dry
        }
    }
}
