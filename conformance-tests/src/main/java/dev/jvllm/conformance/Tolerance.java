package dev.jvllm.conformance;

/**
 * How a candidate output is compared to the reference (after the NaN/Inf pattern, which must
 * match exactly in every mode).
 */
public sealed interface Tolerance {

    /** Same bytes: copies, KV writes, conv-state shifts, integer outputs. */
    record BitExact() implements Tolerance {
    }

    /**
     * Normalized mean squared error Σ(c−r)² / Σr² ≤ max: reductions, matmul, attention, scans.
     * When Σr² is 0, the candidate must be all zeros within 1e-30.
     */
    record Nmse(double max) implements Tolerance {
    }

    /** |c − r| ≤ atol + rtol·|r| for every element: elementwise ops. */
    record Close(double atol, double rtol) implements Tolerance {
    }

    BitExact BIT_EXACT = new BitExact();

    static Tolerance nmse(double max) {
        return new Nmse(max);
    }

    static Tolerance close(double atol, double rtol) {
        return new Close(atol, rtol);
    }
}
