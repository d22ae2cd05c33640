package dev.jvllm.conformance;

import dev.jvllm.api.ops.OpKind;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * The conformance cases of one op: a generator of case parameters biased toward kernel-breaking
 * shapes, a readable name per case, and how to build identical inputs on any backend.
 *
 * <p>{@code C} is an immutable record of case parameters (sizes, dtype, flags). It is generated
 * with QuickTheories from shrinkable primitives, so a failure shrinks to the smallest failing
 * parameters. {@link #instantiate} must be a pure function of (case, seed): the same data on
 * every backend.
 *
 * @param <C> the case-parameter record
 */
public abstract class OpSpec<C> {

    /** The op under test. */
    public abstract OpKind op();

    /** Generated cases: sizes near 1, primes, vector width ±1, block size ±1, 768/769-style pairs... */
    public abstract Gen<C> cases();

    /** Fixed cases always run first: edge cases and pinned regressions. */
    public List<C> pinned() {
        return List.of();
    }

    /** A readable, filterable name: {@code paged_attention[T=7+1x3,hd=80,gqa=4,win=5,bf16]}. */
    public abstract String name(C c);

    /** The dtype column of the support matrix ("f32", "bf16", "fp8-block", ...). */
    public abstract String dtypeLabel(C c);

    /**
     * Allocates inputs (filled from {@code seed}), outputs (with canaries) and states on the
     * builder's backend, and returns the instance holding the op's args and the outputs to compare.
     */
    public abstract Instance instantiate(C c, CaseBuilder b);

    /** Floating-point operations of one call (perf mode). */
    public double flops(C c) {
        return 0;
    }

    /** Bytes read and written by one call (perf mode). */
    public double bytes(C c) {
        return 0;
    }

    /**
     * Compares the candidate's outputs to the reference's. The default checks each
     * {@link Checked} output with its {@link Tolerance}; specs override for ops whose outputs
     * need a custom rule (e.g. sampled ids near a probability boundary).
     *
     * @return null when they agree, else a message naming the output, the worst element and the error
     */
    public String compare(C c, Instance reference, Instance candidate) {
        return Comparison.compareOutputs(reference, candidate);
    }

    /**
     * How far the candidate is from the reference, for the report's "worst error" column. The
     * default measures every {@link Checked} output against its {@link Tolerance}; a spec that
     * overrides {@link #compare} with its own rule may override this to match.
     */
    public Comparison.Measure measure(C c, Instance reference, Instance candidate) {
        return Comparison.measureOutputs(reference, candidate);
    }
}
