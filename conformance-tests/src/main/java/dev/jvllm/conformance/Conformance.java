package dev.jvllm.conformance;

import dev.jvllm.api.Backend;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.quicktheories.QuickTheory;
import org.quicktheories.core.Gen;

/**
 * Runs one op's cases on a candidate and a reference backend and compares them.
 *
 * <p>Per case: build the instance on both backends from the same seed; if the candidate does not
 * {@code supports()} the args, record "unsupported" (not a failure); else run both and compare.
 * Generated cases run through QuickTheories, which shrinks a failure to the smallest failing
 * parameters and reports them with the seed.
 */
public final class Conformance {
    private Conformance() {
    }

    /** The outcome of one case. */
    public record CaseResult(String name, String dtype, Status status, String message) {
    }

    /** Pass, fail or unsupported. */
    public enum Status { PASS, FAIL, UNSUPPORTED }

    /**
     * Runs one case on both backends.
     *
     * @param seed the data seed (same data on both sides)
     */
    public static <C> CaseResult runCase(OpSpec<C> spec, C c, Backend candidate, Backend reference, long seed) {
        String name = spec.name(c);
        try (Instance cand = spec.instantiate(c, new CaseBuilder(candidate, seed));
             Instance ref = spec.instantiate(c, new CaseBuilder(reference, seed))) {
            if (!candidate.supports(cand.args())) {
                return new CaseResult(name, spec.dtypeLabel(c), Status.UNSUPPORTED, "");
            }
            if (!reference.supports(ref.args())) {
                return new CaseResult(name, spec.dtypeLabel(c), Status.UNSUPPORTED,
                        "the reference does not support it");
            }
            reference.run(ref.args());
            candidate.run(cand.args());
            candidate.synchronize();
            reference.synchronize();
            String m = spec.compare(c, ref, cand);
            return new CaseResult(name, spec.dtypeLabel(c), m == null ? Status.PASS : Status.FAIL, m == null ? "" : m);
        } catch (RuntimeException | AssertionError e) {
            return new CaseResult(name, spec.dtypeLabel(c), Status.FAIL, "threw " + e);
        }
    }

    /**
     * Runs the pinned cases, then {@code examples} generated ones, reporting each to {@code sink}.
     * A generated failure is shrunk by QuickTheories; the smallest failing case is reported last.
     *
     * @return every case result (pinned first)
     */
    public static <C> List<CaseResult> check(OpSpec<C> spec, Backend candidate, Backend reference, int examples,
            long seed, Consumer<CaseResult> sink) {
        List<CaseResult> results = new ArrayList<>();
        Consumer<CaseResult> record = r -> {
            results.add(r);
            if (sink != null) {
                sink.accept(r);
            }
        };
        for (C c : spec.pinned()) {
            record.accept(runCase(spec, c, candidate, reference, seed));
        }
        if (examples <= 0) {
            return results;
        }
        Gen<C> gen = spec.cases();
        List<CaseResult> generated = new ArrayList<>();
        try {
            QuickTheory.qt().withFixedSeed(seed).withExamples(examples).withShrinkCycles(200)
                    .forAll(gen).checkAssert(c -> {
                        CaseResult r = runCase(spec, c, candidate, reference, seed ^ spec.name(c).hashCode());
                        generated.add(r);
                        if (r.status() == Status.FAIL) {
                            throw new AssertionError(r.name() + ": " + r.message());
                        }
                    });
            results.addAll(dedupe(generated));
            generated.forEach(r -> { });
        } catch (AssertionError e) {
            // QuickTheories has shrunk the failure: its message names the smallest falsifying case
            results.addAll(dedupe(generated.stream().filter(r -> r.status() != Status.FAIL).toList()));
            results.add(new CaseResult(spec.op().id() + "[shrunk]", "-", Status.FAIL,
                    "seed " + seed + ": " + e.getMessage()));
        }
        if (sink != null) {
            results.subList(spec.pinned().size(), results.size()).forEach(sink);
        }
        return results;
    }

    private static List<CaseResult> dedupe(List<CaseResult> rs) {
        var seen = new java.util.LinkedHashMap<String, CaseResult>();
        for (CaseResult r : rs) {
            seen.putIfAbsent(r.name(), r);
        }
        return new ArrayList<>(seen.values());
    }
}
