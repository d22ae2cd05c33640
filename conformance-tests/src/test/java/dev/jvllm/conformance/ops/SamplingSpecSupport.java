package dev.jvllm.conformance.ops;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.cpu.CpuBackend;
import java.util.List;
import java.util.function.Consumer;

/** Shared pieces of the sampling spec tests: the two CPU forms, a broken-backend wrapper, assertions. */
final class SamplingSpecSupport extends SpecTestSupport {
    private SamplingSpecSupport() {
    }

    /** The sampling tests' name for {@link #replacing}. */
    static <A extends OpArgs> Backend overriding(Backend target, Class<A> type, Consumer<A> wrong) {
        return replacing(target, type, wrong);
    }

    /** The CPU SIMD form against the CPU scalar form: no FAIL, and enough PASS that it cannot pass vacuously. */
    static <C> void simdMatchesScalar(OpSpec<C> spec) {
        try (CpuBackend si = simd(); CpuBackend sc = scalar()) {
            List<Conformance.CaseResult> rs = Conformance.check(spec, si, sc, 30, 42L, null);
            assertEquals(0, rs.stream().filter(r -> r.status() == Conformance.Status.FAIL).count(), failures(rs));
            assertTrue(rs.stream().filter(r -> r.status() == Conformance.Status.PASS).count() >= 20,
                    "too few passing cases: " + rs);
            assertEquals(rs.size(), rs.stream().map(Conformance.CaseResult::name).distinct().count(), "names are unique");
        }
    }

    /** A broken candidate must be reported as FAIL (pinned cases and 10 generated ones, to keep tests fast). */
    static <C> List<Conformance.CaseResult> assertFails(OpSpec<C> spec, Backend broken, Backend reference) {
        List<Conformance.CaseResult> rs = Conformance.check(spec, broken, reference, 10, 42L, null);
        assertTrue(rs.stream().anyMatch(r -> r.status() == Conformance.Status.FAIL),
                "a broken " + spec.op().id() + " passed: " + rs);
        return rs;
    }
}
