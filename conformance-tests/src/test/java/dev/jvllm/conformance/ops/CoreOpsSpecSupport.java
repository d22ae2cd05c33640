package dev.jvllm.conformance.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.cpu.CpuBackend;
import java.util.List;

/**
 * Shared by the spec tests of the data, elementwise, norm and rotary ops: the two CPU forms, a
 * backend wrapper that replaces one op (to build deliberately broken candidates, or independent
 * host implementations that must pass), and the assertions.
 */
final class CoreOpsSpecSupport extends SpecTestSupport {
    private CoreOpsSpecSupport() {
    }

    static final int EXAMPLES = 30;
    static final long SEED = 42L;

    /** Pinned + generated cases: no FAIL, at least {@code minPass} PASS, unique names. */
    static <C> List<Conformance.CaseResult> assertPasses(OpSpec<C> spec, Backend candidate, Backend reference,
            int minPass) {
        List<Conformance.CaseResult> rs = Conformance.check(spec, candidate, reference, EXAMPLES, SEED, null);
        assertEquals(0, rs.stream().filter(r -> r.status() == Conformance.Status.FAIL).count(), failures(rs));
        long pass = rs.stream().filter(r -> r.status() == Conformance.Status.PASS).count();
        assertTrue(pass >= minPass, "only " + pass + " passing cases: " + rs);
        assertEquals(rs.size(), rs.stream().map(Conformance.CaseResult::name).distinct().count(), "names are unique");
        return rs;
    }

    /** The SIMD form against the scalar form (the reference): everything passes. */
    static <C> void simdMatchesScalar(OpSpec<C> spec) {
        try (CpuBackend si = simd(); CpuBackend sc = scalar()) {
            assertPasses(spec, si, sc, 20);
        }
    }

    /** A broken candidate must be reported as FAIL. */
    static <C> List<Conformance.CaseResult> assertFails(OpSpec<C> spec, Backend broken, Backend reference) {
        List<Conformance.CaseResult> rs = Conformance.check(spec, broken, reference, EXAMPLES, SEED, null);
        assertTrue(rs.stream().anyMatch(r -> r.status() == Conformance.Status.FAIL),
                "a broken " + spec.op().id() + " passed: " + rs);
        return rs;
    }
}
